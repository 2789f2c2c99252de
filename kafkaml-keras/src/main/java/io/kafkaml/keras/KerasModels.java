package io.kafkaml.keras;

import io.kafkaml.model.InvalidModelException;
import io.kafkaml.model.ModelDefinition;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.modelimport.keras.KerasModelImport;
import org.deeplearning4j.nn.modelimport.keras.exceptions.InvalidKerasConfigurationException;
import org.deeplearning4j.nn.modelimport.keras.exceptions.UnsupportedKerasConfigurationException;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Imports a Keras model saved as HDF5 ({@code model.save("model.h5")}, Keras 2 / tf.keras 2.x), Sequential or
 * functional, with its weights, through DL4J's Keras model import.
 *
 * <pre>{@code
 * ImportedModel imported = KerasModels.importModel("hcopd-keras", "from the data team", Path.of("model.h5"));
 * registry.registerModel(imported.definition(), imported.network());   // the weights go into the registry
 * }</pre>
 *
 * <p>A model saved with a loss ({@code model.compile(...)}) imports with its output layer and can be trained
 * further; one saved without imports for inference only. This module carries the HDF5 natives; kafkaml-core
 * does not need it.
 */
public final class KerasModels {

    private static final Logger log = LoggerFactory.getLogger(KerasModels.class);

    private KerasModels() {
    }

    /**
     * A model definition and its network with the imported weights.
     *
     * @param definition the definition (configuration and summary)
     * @param network the network, initialized with the Keras weights
     */
    public record ImportedModel(ModelDefinition definition, Model network) {
    }

    /**
     * Imports an HDF5 Keras model.
     *
     * @throws InvalidModelException if the file is missing, not a Keras HDF5 file, or uses what DL4J cannot import
     */
    public static ImportedModel importModel(String name, String description, Path h5File) {
        ModelDefinition.checkName(name, "model");
        if (!Files.isRegularFile(h5File)) {
            throw new InvalidModelException("Keras model file " + h5File + " does not exist");
        }
        String path = h5File.toAbsolutePath().toString();
        try {
            boolean sequential = isSequential(h5File);
            Model network;
            try {
                network = load(path, sequential, true);
            } catch (UnsupportedKerasConfigurationException | InvalidKerasConfigurationException e) {
                // The training configuration (loss, optimizer) could not be imported: keep the network, for inference.
                log.warn("Keras model {}: its training configuration cannot be imported ({}); importing the network "
                        + "without its loss, for inference only", h5File, e.getMessage());
                network = load(path, sequential, false);
            }
            KerasInputShape.removeNoOpDropout(network);
            String configuration = network instanceof MultiLayerNetwork mln
                    ? mln.getLayerWiseConfigurations().toJson() : ((ComputationGraph) network).getConfiguration().toJson();
            ModelDefinition definition = KerasInputShape.declare(ModelDefinition.fromJson(name, description,
                    configuration), h5File); // the file's input shape, which DL4J's configuration JSON does not keep
            return new ImportedModel(definition, network);
        } catch (InvalidKerasConfigurationException | UnsupportedKerasConfigurationException e) {
            throw new InvalidModelException("Keras model " + h5File + " cannot be imported: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new InvalidModelException("Keras model " + h5File + " cannot be read: " + e.getMessage(), e);
        } catch (InvalidModelException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new InvalidModelException("Keras model " + h5File + " cannot be imported (is it a Keras HDF5 file?): "
                    + e.getMessage(), e);
        }
    }

    private static Model load(String path, boolean sequential, boolean withTrainingConfig)
            throws IOException, InvalidKerasConfigurationException, UnsupportedKerasConfigurationException {
        return sequential ? KerasModelImport.importKerasSequentialModelAndWeights(path, withTrainingConfig)
                : KerasModelImport.importKerasModelAndWeights(path, withTrainingConfig);
    }

    /** Whether the file's model_config is a Sequential model (read without HDF5, from the raw attribute text). */
    private static boolean isSequential(Path h5File) throws IOException {
        byte[] bytes = Files.readAllBytes(h5File);
        String text = new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1);
        int functional = text.indexOf("\"class_name\": \"Functional\"");
        int model = text.indexOf("\"class_name\": \"Model\"");
        int sequential = text.indexOf("\"class_name\": \"Sequential\"");
        return sequential >= 0 && (functional < 0 || sequential < functional) && (model < 0 || sequential < model);
    }
}
