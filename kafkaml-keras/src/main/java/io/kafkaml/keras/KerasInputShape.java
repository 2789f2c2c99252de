package io.kafkaml.keras;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kafkaml.model.InputLayout;
import io.kafkaml.model.InvalidModelException;
import io.kafkaml.model.ModelDefinition;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.dropout.Dropout;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.modelimport.keras.Hdf5Archive;
import org.deeplearning4j.nn.modelimport.keras.exceptions.UnsupportedKerasConfigurationException;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;

/**
 * Declares a Keras model's input shape on its imported definition: DL4J's import builds the network from the
 * file's input shape but its configuration JSON does not keep it (the height and width of an image, the time
 * steps of a sequence). The shape is read from the file's {@code model_config}: the {@code batch_input_shape}
 * (Keras 2) or {@code batch_shape} (Keras 3) of its single {@code InputLayer}, or of its first layer. Keras shapes
 * are channels-last unless the network's first layer says otherwise ({@code data_format: channels_first}).
 */
final class KerasInputShape {

    private static final ObjectMapper JSON = new ObjectMapper();

    private KerasInputShape() {}

    /**
     * The definition with the file's input shape declared, or as it is when the file gives no shape, has several
     * inputs (refused later, with the reason, when the model is trained or served), or the input is feed-forward
     * (whose size the configuration keeps).
     *
     * @throws InvalidModelException if the file's input shape is not what the imported network takes
     */
    static ModelDefinition declare(ModelDefinition definition, Path h5File) {
        InputLayout detected = definition.summary().inputLayout();
        if (detected.inputs() != 1
                || detected.kind() == InputLayout.Kind.FEED_FORWARD
                || detected.kind() == InputLayout.Kind.CONVOLUTIONAL_FLAT) {
            return definition;
        }
        List<Long> shape = inputShape(h5File);
        if (shape == null) {
            return definition;
        }
        InputType type = switch (detected.kind()) {
            case CONVOLUTIONAL ->
                shape.size() != 3
                        ? null
                        : CNN2DFormat.NCHW.name().equals(detected.dataFormat())
                                ? InputType.convolutional(
                                        dim(shape.get(1)), dim(shape.get(2)), dim(shape.get(0)), CNN2DFormat.NCHW)
                                : InputType.convolutional(
                                        dim(shape.get(0)), dim(shape.get(1)), dim(shape.get(2)), CNN2DFormat.NHWC);
            case RECURRENT ->
                shape.size() != 2
                        ? null
                        : InputType.recurrent(
                                dim(shape.get(1)),
                                dim(shape.get(0)),
                                RNNFormat.NCW.name().equals(detected.dataFormat()) ? RNNFormat.NCW : RNNFormat.NWC);
            case UNKNOWN ->
                shape.size() == 1
                        ? InputType.feedForward(dim(shape.get(0)))
                        : shape.size() == 2
                                ? InputType.recurrent(dim(shape.get(1)), dim(shape.get(0)), RNNFormat.NWC)
                                : shape.size() == 3
                                        ? InputType.convolutional(
                                                dim(shape.get(0)),
                                                dim(shape.get(1)),
                                                dim(shape.get(2)),
                                                CNN2DFormat.NHWC)
                                        : null;
            default -> null;
        };
        if (type == null) {
            throw new InvalidModelException("Keras model " + h5File + ": its input shape " + shape + " is not what the "
                    + "imported network takes (" + detected.describe() + ")");
        }
        return definition.withInputType(type);
    }

    /**
     * Removes the dropout DL4J's Keras import puts on every layer with a retain probability of 1 (it drops nothing).
     * Besides costing a mask per layer and batch, it breaks training of channels-last convolutions in DL4J
     * 1.0.0-M2.1: {@code ConvolutionLayer.backpropGradient} applies the NHWC-shaped mask to an NCHW gradient
     * ("Op [multiply] execution failed ... Output array did not match expected shape").
     */
    static void removeNoOpDropout(Model network) {
        List<Layer> layers = new ArrayList<>();
        if (network instanceof MultiLayerNetwork mln) {
            mln.getLayerWiseConfigurations().getConfs().forEach(conf -> layers.add(conf.getLayer()));
        } else if (network instanceof ComputationGraph graph) {
            graph.getConfiguration().getVertices().values().forEach(vertex -> {
                if (vertex instanceof LayerVertex lv) {
                    layers.add(lv.getLayerConf().getLayer());
                }
            });
        }
        for (Layer layer : layers) {
            if (layer.getIDropout() instanceof Dropout dropout
                    && dropout.getP() == 1.0
                    && dropout.getPSchedule() == null) {
                layer.setIDropout(null);
            }
        }
    }

    /** {@code null} (any size) stays unknown. */
    private static long dim(Long value) {
        return value == null ? InputLayout.ANY : value;
    }

    /** The input shape without the batch dimension, or {@code null} if the file does not give one. */
    static List<Long> inputShape(Path h5File) {
        String config;
        try (Hdf5Archive archive = new Hdf5Archive(h5File.toAbsolutePath().toString())) {
            if (!archive.hasAttribute("model_config")) {
                return null;
            }
            config = archive.readAttributeAsJson("model_config");
        } catch (UnsupportedKerasConfigurationException e) {
            throw new InvalidModelException(
                    "Keras model " + h5File + ": its model_config cannot be read: " + e.getMessage(), e);
        }
        JsonNode root;
        try {
            root = JSON.readTree(config);
        } catch (IOException e) {
            throw new InvalidModelException(
                    "Keras model " + h5File + ": its model_config is not JSON: " + e.getMessage(), e);
        }
        JsonNode layers = root.path("config").path("layers");
        JsonNode shape = null;
        int inputLayers = 0;
        for (JsonNode layer : layers) {
            if ("InputLayer".equals(layer.path("class_name").asText())) {
                inputLayers++;
                shape = batchShape(layer.path("config"));
            }
        }
        if (inputLayers > 1) {
            return null;
        }
        if (shape == null && layers.size() > 0) {
            shape = batchShape(layers.get(0).path("config"));
        }
        if (shape == null || !shape.isArray() || shape.size() < 2) {
            return null;
        }
        List<Long> dims = new ArrayList<>();
        for (int i = 1; i < shape.size(); i++) {
            dims.add(shape.get(i).isNull() ? null : shape.get(i).asLong());
        }
        return dims;
    }

    private static JsonNode batchShape(JsonNode config) {
        JsonNode shape = config.get("batch_input_shape");
        return shape != null ? shape : config.get("batch_shape");
    }
}
