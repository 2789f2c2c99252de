package io.kafkaml.keras;

import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.model.InvalidModelException;
import io.kafkaml.model.ModelDefinition;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.modelimport.keras.Hdf5Archive;
import org.deeplearning4j.nn.modelimport.keras.config.KerasModelConfiguration;
import org.deeplearning4j.nn.modelimport.keras.exceptions.InvalidKerasConfigurationException;
import org.deeplearning4j.nn.modelimport.keras.exceptions.UnsupportedKerasConfigurationException;
import org.deeplearning4j.nn.modelimport.keras.utils.KerasModelBuilder;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Imports a Keras model saved as HDF5 ({@code model.save("model.h5")}) by Keras 2 — standalone Keras 2.0–2.3 and
 * tf.keras 2.x up to TensorFlow 2.15 — Sequential or functional, with its weights, through DL4J 1.0.0-M2.1's Keras
 * import.
 *
 * <pre>{@code
 * ImportedModel imported = KerasModels.importModel("hcopd-keras", "from the data team", Path.of("model.h5"));
 * imported.notes().forEach(System.out::println);   // what the import changed, if anything
 * registry.registerModel(imported.definition(), imported.network());   // the weights go into the registry
 * }</pre>
 *
 * <p><b>Training configuration</b>: the file's {@code training_config} (loss and optimizer, written by
 * {@code model.compile}) is rewritten first into what DL4J reads (the new optimizer configs of Keras 2.11–2.15,
 * {@code Custom>Adam} names, integer learning rates, loss objects, {@code from_logits=True}; see the README's
 * "Keras models"). A model whose loss or optimizer cannot be imported as Keras trains it — a learning-rate schedule,
 * {@code weight_decay}, a loss DL4J lacks, or no {@code training_config} at all — still imports with its weights,
 * for inference, and its {@link ModelDefinition#summary() summary} records why it cannot be trained; deploying it
 * for training is refused with that reason.
 *
 * <p><b>Not imported</b>, with an error that says so: Keras 3 files (the {@code .keras} zip archive, or an
 * {@code .h5} file written by Keras 3: its layer configurations are not what DL4J reads) — re-create the model with
 * Keras 2 (TensorFlow ≤ 2.15, or the {@code tf_keras} package) and save it with {@code model.save("model.h5")};
 * weights-only files ({@code model.save_weights}); TensorFlow SavedModel directories.
 *
 * <p>This module carries the HDF5 natives; kafkaml-core does not need it. Thread-safe (DL4J serializes HDF5 access).
 */
public final class KerasModels {

    private static final Logger log = LoggerFactory.getLogger(KerasModels.class);
    private static final byte[] HDF5_SIGNATURE = {(byte) 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    private static final byte[] ZIP_SIGNATURE = {'P', 'K', 3, 4};
    private static final KerasModelConfiguration KERAS = new KerasModelConfiguration();

    private KerasModels() {}

    /**
     * A model definition and its network with the imported weights.
     *
     * @param definition the definition (configuration and summary; the summary says whether it can be trained)
     * @param network the network, initialized with the Keras weights
     * @param notes what the import changed or could not keep, in words for a user (empty when nothing)
     */
    public record ImportedModel(ModelDefinition definition, Model network, List<String> notes) {

        /** Copies the notes. */
        public ImportedModel {
            notes = List.copyOf(notes);
        }

        /** An imported model without notes. */
        public ImportedModel(ModelDefinition definition, Model network) {
            this(definition, network, List.of());
        }
    }

    /**
     * Whether {@code file} looks like a Keras model file: named {@code .h5}, {@code .hdf5} or {@code .keras}, or
     * starting with the HDF5 signature. Reads at most the first 8 bytes.
     */
    public static boolean isKerasFile(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".h5") || name.endsWith(".hdf5") || name.endsWith(".keras")) {
            return true;
        }
        try {
            return startsWith(head(file), HDF5_SIGNATURE);
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Imports a Keras model file of at most {@value io.kafkaml.config.KafkaMlConfig#MAX_ARTIFACT_BYTES_CONFIG}'s
     * default, 512 MiB ({@link #importModel(String, String, Path, Map)} with no settings).
     *
     * @throws InvalidModelException as {@link #importModel(String, String, Path, Map)}
     */
    public static ImportedModel importModel(String name, String description, Path h5File) {
        return importModel(name, description, h5File, Map.of());
    }

    /**
     * Imports a Keras model file, within the size limit of {@code settings}.
     *
     * <p><b>Limits</b> ({@value io.kafkaml.config.KafkaMlConfig#MAX_ARTIFACT_BYTES_CONFIG}, the same that bounds what
     * the registry stores): the file's size is checked before anything of it is read, and the weights it holds
     * (every dataset under {@code model_weights}: elements × element size) before DL4J reads them, so that a small
     * file of compressed weights (an HDF5 "bomb") is refused instead of expanded; a {@code .keras} archive (refused
     * anyway) is refused without expanding its entries, whatever their declared sizes.
     *
     * <p>The parameters the file's configuration declares are counted before DL4J builds the network, and a model over
     * {@value io.kafkaml.config.KafkaMlConfig#MAX_MODEL_PARAMETERS_CONFIG} is refused (see {@link ModelDefinition}).
     *
     * @param settings kafkaml settings (client settings may be there too); only
     *     {@value io.kafkaml.config.KafkaMlConfig#MAX_ARTIFACT_BYTES_CONFIG} and
     *     {@value io.kafkaml.config.KafkaMlConfig#MAX_MODEL_PARAMETERS_CONFIG} are read, their defaults when absent
     * @throws InvalidModelException if the file is missing or unreadable, over the limit (naming the setting), is not
     *     HDF5 (its first bytes are shown), is a Keras 3 file or a weights-only file (said so, with what to do), or
     *     holds a network DL4J cannot build (DL4J's reason)
     * @throws org.apache.kafka.common.config.ConfigException if the setting is not a whole number of at least 1
     */
    public static ImportedModel importModel(String name, String description, Path h5File, Map<String, ?> settings) {
        ModelDefinition.checkName(name, "model");
        long maxBytes = KafkaMlConfig.maxArtifactBytes(settings);
        if (!Files.isRegularFile(h5File)) {
            throw new InvalidModelException("Keras model file " + h5File + " does not exist");
        }
        long size;
        try {
            size = Files.size(h5File);
        } catch (IOException e) {
            throw new InvalidModelException("Keras model file " + h5File + " cannot be read: " + e.getMessage(), e);
        }
        if (size > maxBytes) {
            throw new InvalidModelException(overLimit(h5File, "holds " + size + " bytes", maxBytes));
        }
        KerasFile file = read(h5File, maxBytes);
        List<String> notes = new ArrayList<>(file.notes());
        KerasConfigs.Normalized configs;
        try {
            configs = KerasConfigs.normalize(file.modelJson(), file.trainingJson());
        } catch (IllegalArgumentException e) {
            throw new InvalidModelException("Keras model " + h5File + ": " + e.getMessage(), e);
        }
        notes.addAll(configs.notes());
        String path = h5File.toAbsolutePath().toString();
        long maxParameters = KafkaMlConfig.maxModelParameters(settings);
        checkParameterCount(name, h5File, file, configs, maxParameters); // before DL4J allocates the network
        String lossProblem = configs.problem();
        Model network;
        if (configs.trainingJson() != null) {
            try {
                network = load(path, file.sequential(), configs.modelJson(), configs.trainingJson());
            } catch (Exception e) {
                // Find out whether the network imports without its loss and optimizer: if so, they were the cause.
                lossProblem = "DL4J cannot import its training configuration (loss "
                        + KerasConfigs.parse(configs.trainingJson(), "training_config")
                                .get("loss") + "): " + reason(e);
                network = loadWithoutLoss(h5File, path, file, configs, e);
            }
        } else {
            network = loadWithoutLoss(h5File, path, file, configs, null);
        }
        KerasInputShape.removeNoOpDropout(network);
        restoreDropoutRates(network, configs.modelJson());
        String configuration = network instanceof MultiLayerNetwork mln
                ? mln.getLayerWiseConfigurations().toJson()
                : ((ComputationGraph) network).getConfiguration().toJson();
        ModelDefinition definition = KerasInputShape.declare(
                ModelDefinition.fromJson(name, description, configuration, maxParameters),
                h5File); // the file's input shape, which DL4J's configuration JSON does not keep
        if (lossProblem != null) {
            definition = definition.withLossProblem(lossProblem);
            notes.add("it imports for inference only: " + lossProblem);
        }
        for (String note : notes) {
            log.warn("Keras model {} ({}): {}", h5File, file.kerasVersion(), note);
        }
        return new ImportedModel(definition, network, notes);
    }

    /**
     * Gives each Keras {@code Dropout} layer its rate. DL4J 1.0.0-M2.1 imports {@code Dropout(rate)} as a
     * {@code DropoutLayer} that retains everything (p = 1.0), so a model such as the paper's HCOPD model would train
     * without its dropout (and, with the no-op dropout removed, fail DL4J's workspace checks): the layer gets
     * {@code Dropout(1 - rate)}, DL4J's retain probability, as Keras trains it.
     */
    @SuppressWarnings("unchecked")
    private static void restoreDropoutRates(Model network, String modelJson) {
        Map<String, Double> rates = new java.util.HashMap<>();
        Object config = KerasConfigs.parse(modelJson, "model_config").get("config");
        if (config instanceof Map<?, ?> c && c.get("layers") instanceof List<?> layers) {
            for (Object layer : layers) {
                Map<String, Object> map = (Map<String, Object>) layer;
                if ("Dropout".equals(map.get("class_name"))
                        && map.get("config") instanceof Map<?, ?> lc
                        && lc.get("rate") instanceof Number rate) {
                    rates.put(String.valueOf(lc.get("name")), rate.doubleValue());
                }
            }
        }
        List<org.deeplearning4j.nn.conf.layers.Layer> layers = new ArrayList<>();
        if (network instanceof MultiLayerNetwork mln) {
            mln.getLayerWiseConfigurations().getConfs().forEach(conf -> layers.add(conf.getLayer()));
        } else if (network instanceof ComputationGraph graph) {
            graph.getConfiguration().getVertices().values().forEach(vertex -> {
                if (vertex instanceof org.deeplearning4j.nn.conf.graph.LayerVertex lv) {
                    layers.add(lv.getLayerConf().getLayer());
                }
            });
        }
        for (org.deeplearning4j.nn.conf.layers.Layer layer : layers) {
            if (layer instanceof org.deeplearning4j.nn.conf.layers.DropoutLayer) {
                Double rate = rates.get(layer.getLayerName());
                // DL4J's p is the probability of retaining an activation; a DropoutLayer needs one to train at all.
                layer.setIDropout(new org.deeplearning4j.nn.conf.dropout.Dropout(rate == null ? 1.0 : 1.0 - rate));
            }
        }
    }

    private static void checkParameterCount(
            String name, Path h5File, KerasFile file, KerasConfigs.Normalized configs, long maxParameters) {
        checkParameterCount(name, h5File, file.kerasVersion(), file.sequential(), configs.modelJson(), maxParameters);
    }

    /**
     * Counts the parameters of the DL4J configuration the Keras configuration becomes, without weights and without
     * building the network, and refuses one over {@code maxParameters}. Fails closed: a configuration DL4J cannot
     * translate is refused here with DL4J's reason (the import would not build it either), so nothing is ever
     * allocated for a configuration that was not counted.
     */
    static void checkParameterCount(
            String name, Path h5File, String kerasVersion, boolean sequential, String modelJson, long maxParameters) {
        String configuration;
        KerasModelBuilder builder;
        try {
            builder = new KerasModelBuilder(KERAS).modelJson(modelJson);
        } catch (Exception e) {
            throw cannotImport(h5File, kerasVersion, sequential, e);
        }
        try {
            configuration = sequential
                    ? builder.buildSequential().getMultiLayerConfiguration().toJson()
                    : builder.buildModel().getComputationGraphConfiguration().toJson();
        } catch (Exception e) {
            throw cannotImport(h5File, kerasVersion, sequential, e);
        } finally {
            try {
                builder.close();
            } catch (Exception e) {
                log.debug("Closing the Keras model builder failed", e);
            }
        }
        try {
            ModelDefinition.checkParameterCount(name, configuration, maxParameters);
        } catch (InvalidModelException e) {
            throw new InvalidModelException("Keras model " + h5File + ": " + e.getMessage(), e);
        }
    }

    private static InvalidModelException cannotImport(
            Path h5File, String kerasVersion, boolean sequential, Exception e) {
        return new InvalidModelException(
                "Keras model " + h5File + " (Keras " + kerasVersion + ", " + (sequential ? "Sequential" : "functional")
                        + ") cannot be imported by DL4J: " + reason(e),
                e);
    }

    private static Model loadWithoutLoss(
            Path h5File, String path, KerasFile file, KerasConfigs.Normalized configs, Exception first) {
        try {
            return load(path, file.sequential(), configs.modelJson(), null);
        } catch (Exception e) {
            InvalidModelException failure = new InvalidModelException(
                    "Keras model " + h5File + " (Keras "
                            + file.kerasVersion() + ", " + (file.sequential() ? "Sequential" : "functional")
                            + ") cannot be "
                            + "imported by DL4J: " + reason(e),
                    e);
            if (first != null) {
                failure.addSuppressed(first);
            }
            throw failure;
        }
    }

    private static Model load(String path, boolean sequential, String modelJson, String trainingJson)
            throws IOException, InvalidKerasConfigurationException, UnsupportedKerasConfigurationException {
        KerasModelBuilder builder =
                new KerasModelBuilder(KERAS).modelJson(modelJson).weightsHdf5Filename(path);
        try {
            if (trainingJson != null) {
                builder.trainingJson(trainingJson).enforceTrainingConfig(true);
            }
            return sequential
                    ? builder.buildSequential().getMultiLayerNetwork()
                    : builder.buildModel().getComputationGraph();
        } finally {
            builder.close();
        }
    }

    /** What the HDF5 file's root attributes hold. */
    private record KerasFile(
            String kerasVersion, boolean sequential, String modelJson, String trainingJson, List<String> notes) {}

    private static String overLimit(Path file, String what, long maxBytes) {
        return "Keras model file " + file + " " + what + ", over the limit of " + maxBytes + " bytes ("
                + KafkaMlConfig.MAX_ARTIFACT_BYTES_CONFIG + "): raise " + KafkaMlConfig.MAX_ARTIFACT_BYTES_CONFIG
                + " to import it";
    }

    /**
     * The bytes the datasets under {@code group} take once read (elements × element size, whatever their compressed
     * storage), walking the group's tree without reading any data; stops counting past {@code maxBytes}.
     */
    private static long expandedBytes(org.bytedeco.hdf5.Group group, long maxBytes, int depth) {
        long total = 0;
        long count = group.getNumObjs();
        for (long i = 0; i < count && total <= maxBytes; i++) {
            String child = group.getObjnameByIdx(i).getString();
            int type = group.childObjType(child);
            if (type == org.bytedeco.hdf5.global.hdf5.H5O_TYPE_DATASET) {
                org.bytedeco.hdf5.DataSet dataset = group.openDataSet(child);
                try {
                    long bytes = dataset.getInMemDataSize(); // elements × element size, whatever the storage
                    total = bytes < 0 || bytes > Long.MAX_VALUE - total ? Long.MAX_VALUE : total + bytes;
                } finally {
                    dataset._close();
                    dataset.deallocate();
                }
            } else if (type == org.bytedeco.hdf5.global.hdf5.H5O_TYPE_GROUP && depth < 32) {
                org.bytedeco.hdf5.Group sub = group.openGroup(child);
                try {
                    long inner = expandedBytes(sub, maxBytes - total, depth + 1);
                    total = inner > Long.MAX_VALUE - total ? Long.MAX_VALUE : total + inner;
                } finally {
                    sub._close();
                    sub.deallocate();
                }
            }
        }
        return total;
    }

    /** Refuses a file whose weights expand past {@code maxBytes}, before DL4J reads them. */
    private static void checkWeightsSize(Path file, long maxBytes) {
        synchronized (Hdf5Archive.LOCK_OBJECT) { // the HDF5 library is not thread-safe; DL4J locks on this object
            org.bytedeco.hdf5.H5File h5 = new org.bytedeco.hdf5.H5File(
                    file.toAbsolutePath().toString(), org.bytedeco.hdf5.global.hdf5.H5F_ACC_RDONLY());
            try {
                org.bytedeco.hdf5.Group weights = h5.openGroup(KERAS.getTrainingWeightsRoot());
                long expanded;
                try {
                    expanded = expandedBytes(weights, maxBytes, 0);
                } finally {
                    weights._close();
                    weights.deallocate();
                }
                if (expanded > maxBytes) {
                    throw new InvalidModelException(
                            overLimit(file, "holds weights of more than " + maxBytes + " bytes once read", maxBytes));
                }
            } finally {
                h5._close();
                h5.deallocate();
            }
        }
    }

    private static KerasFile read(Path file, long maxBytes) {
        byte[] head;
        try {
            head = head(file);
        } catch (IOException e) {
            throw new InvalidModelException("Keras model file " + file + " cannot be read: " + e.getMessage(), e);
        }
        if (startsWith(head, ZIP_SIGNATURE)) {
            throw new InvalidModelException(
                    "Keras model file " + file + " is a .keras archive (zip" + archiveVersion(file, maxBytes)
                            + "), the format of Keras 3 and of model.save(\"x.keras\") since Keras 2.13; DL4J 1.0.0-M2.1 imports "
                            + "only the HDF5 format of Keras 2: load the model with Keras 2 (TensorFlow <= 2.15 or tf_keras) "
                            + "and save it with model.save(\"model.h5\")");
        }
        if (!startsWith(head, HDF5_SIGNATURE)) {
            throw new InvalidModelException("Keras model file " + file + " is not an HDF5 file (it starts with bytes "
                    + HexFormat.ofDelimiter(" ").formatHex(head) + "); save the model with model.save(\"model.h5\")");
        }
        List<String> notes = new ArrayList<>();
        KerasFile read;
        try (Hdf5Archive archive = new Hdf5Archive(file.toAbsolutePath().toString())) {
            String version = archive.hasAttribute(KERAS.getFieldKerasVersion())
                    ? archive.readAttributeAsString(KERAS.getFieldKerasVersion())
                            .trim()
                    : null;
            if (!archive.hasAttribute(KERAS.getTrainingModelConfigAttribute())) {
                boolean weightsOnly = archive.hasAttribute("layer_names");
                throw new InvalidModelException("Keras model file " + file + " is an HDF5 file without a model_config "
                        + "attribute"
                        + (weightsOnly
                                ? ": it holds weights only (model.save_weights); save the whole "
                                        + "model with model.save(\"model.h5\")"
                                : " (top-level groups " + archive.getGroups()
                                        + "): it is not a model saved by Keras' model.save(\"model.h5\")"));
            }
            if (version != null && version.startsWith("3")) {
                throw new InvalidModelException(
                        "Keras model file " + file + " was written by Keras " + version
                                + "; DL4J 1.0.0-M2.1 reads the layer configurations of Keras 2 only: re-create the model with "
                                + "Keras 2 (TensorFlow <= 2.15 or the tf_keras package) and save it with model.save(\"model.h5\")");
            }
            if (version == null) {
                version = "2";
                notes.add("the file has no keras_version attribute; read as Keras 2");
            }
            Map<String, Object> model = KerasConfigs.parse(
                    archive.readAttributeAsJson(KERAS.getTrainingModelConfigAttribute()), "model_config");
            model.put(KERAS.getFieldKerasVersion(), version);
            model.put(
                    KERAS.getFieldBackend(),
                    archive.hasAttribute(KERAS.getFieldBackend())
                            ? archive.readAttributeAsString(KERAS.getFieldBackend())
                            : "tensorflow");
            String training = archive.hasAttribute(KERAS.getTrainingTrainingConfigAttribute())
                    ? archive.readAttributeAsJson(KERAS.getTrainingTrainingConfigAttribute())
                    : null;
            if (!archive.getGroups().contains(KERAS.getTrainingWeightsRoot())) {
                throw new InvalidModelException("Keras model file " + file + " has no " + KERAS.getTrainingWeightsRoot()
                        + " group: it holds a model configuration without weights");
            }
            boolean sequential = KERAS.getFieldClassNameSequential().equals(model.get(KERAS.getFieldClassName()));
            read = new KerasFile(version, sequential, KerasConfigs.write(model), training, notes);
        } catch (UnsupportedKerasConfigurationException | IllegalArgumentException e) {
            throw new InvalidModelException("Keras model file " + file + " cannot be read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            if (e instanceof InvalidModelException) {
                throw e;
            }
            throw new InvalidModelException(
                    "Keras model file " + file + " is HDF5 but cannot be read by the HDF5 " + "library: " + reason(e),
                    e);
        }
        try {
            checkWeightsSize(file, maxBytes);
        } catch (InvalidModelException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new InvalidModelException(
                    "Keras model file " + file + " is HDF5 but its weights cannot be read by the HDF5 library: "
                            + reason(e),
                    e);
        }
        return read;
    }

    /** The most of a .keras archive's metadata.json read (its few fields take well under 1 KiB). */
    static final int MAX_ARCHIVE_METADATA_BYTES = 64 * 1024;

    /**
     * ", keras_version X" from a .keras archive's metadata.json, or "" when it cannot be read; reads at most
     * {@value #MAX_ARCHIVE_METADATA_BYTES} bytes of it, never another entry (a zip bomb expands nothing here), and
     * says so when the entries declare more than {@code maxBytes} uncompressed.
     */
    private static String archiveVersion(Path file, long maxBytes) {
        try (ZipFile zip = new ZipFile(file.toFile())) {
            long declared = 0;
            for (var entries = zip.entries(); entries.hasMoreElements(); ) {
                long size = entries.nextElement().getSize();
                declared = size < 0 || size > Long.MAX_VALUE - declared ? Long.MAX_VALUE : declared + size;
            }
            String expands = declared > maxBytes
                    ? ", whose entries expand to more than " + maxBytes + " bytes ("
                            + KafkaMlConfig.MAX_ARTIFACT_BYTES_CONFIG + ")"
                    : "";
            ZipEntry metadata = zip.getEntry("metadata.json");
            if (metadata == null) {
                return expands;
            }
            try (InputStream in = zip.getInputStream(metadata)) {
                byte[] head = in.readNBytes(MAX_ARCHIVE_METADATA_BYTES + 1);
                if (head.length > MAX_ARCHIVE_METADATA_BYTES) {
                    return expands;
                }
                Object version = KerasConfigs.parse(new String(head, StandardCharsets.UTF_8), "metadata.json")
                        .get("keras_version");
                return (version == null ? "" : ", written by Keras " + version) + expands;
            }
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    private static byte[] head(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return in.readNBytes(8);
        }
    }

    private static boolean startsWith(byte[] bytes, byte[] prefix) {
        if (bytes.length < prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (bytes[i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    /** The innermost message of a DL4J failure, on one line. */
    private static String reason(Throwable e) {
        String message = null;
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t.getMessage() != null && !t.getMessage().isBlank()) {
                message = t.getMessage();
            }
            if (t.getCause() == null && message == null) {
                message = t.getClass().getSimpleName();
            }
        }
        return message == null
                ? e.getClass().getSimpleName()
                : message.replaceAll("\\s+", " ").trim();
    }
}
