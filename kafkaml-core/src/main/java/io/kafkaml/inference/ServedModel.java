package io.kafkaml.inference;

import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.control.ControlMessage;
import io.kafkaml.format.RecordDecoder;
import io.kafkaml.format.RecordEncoder;
import io.kafkaml.format.RecordFormats;
import io.kafkaml.model.InputLayout;
import io.kafkaml.model.InvalidModelException;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.model.OutputKind;
import io.kafkaml.registry.Deployment;
import io.kafkaml.registry.EntityNotFoundException;
import io.kafkaml.registry.ModelVersion;
import io.kafkaml.registry.Registry;
import io.kafkaml.registry.RegistryException;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.training.TrainingSpec;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.preprocessor.DataNormalization;
import org.nd4j.linalg.dataset.api.preprocessor.serializer.NormalizerSerializer;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * A trained model ready to serve: the network and fitted normalizer of a training result, the decoder of its
 * inputs (by default the format it was trained on) and the encoder of its predictions.
 *
 * <p>A JSON prediction is Kafka-ML's {@code {"values": [...]}} plus, by the model's {@link OutputKind}:
 * {@code "class"}, the index of the largest value, for a multi-class model; {@code "class"}, 1 when the value is
 * at least the decision threshold and 0 otherwise, for a binary model (one sigmoid output); {@code "classes"}, the
 * indices of the outputs at or above the threshold, for a multi-label model; nothing more for a regressor. A value
 * that is not finite (NaN, an infinity) is written as {@code null} and takes no part in the class: the record is
 * always valid JSON.
 *
 * <p>Not thread-safe: each replica loads its own.
 */
public final class ServedModel {

    private final TrainingResult result;
    private final Model network;
    private final DataNormalization normalizer;
    private final RecordDecoder decoder;
    private final RecordEncoder encoder;
    private final OutputKind kind;
    private final double threshold;
    private final int outputs;
    private final InputLayout.Binding binding;
    /** The last batch's input array, reused by the next batch of the same size. */
    private INDArray inputBuffer;

    private final int version;

    private ServedModel(
            TrainingResult result,
            Model network,
            DataNormalization normalizer,
            RecordDecoder decoder,
            RecordEncoder encoder,
            OutputKind kind,
            double threshold,
            int outputs,
            InputLayout.Binding binding,
            int version) {
        this.binding = binding;
        this.version = version;
        this.result = result;
        this.network = network;
        this.normalizer = normalizer;
        this.decoder = decoder;
        this.encoder = encoder;
        this.kind = kind;
        this.threshold = threshold;
        this.outputs = outputs;
    }

    /**
     * Loads the model of a training result from the registry.
     *
     * @throws EntityNotFoundException if the result, its model or its deployment is missing
     * @throws RegistryException if the result has no trained model, or its artifacts are damaged
     */
    public static ServedModel load(Registry registry, InferenceSpec spec) {
        return load(registry, spec, KafkaMlConfig.DEFAULT_MAX_RECORD_VALUES);
    }

    /**
     * The format of a served deployment's input records: the inference spec's, or else the one the result was trained
     * on (its deployment's control message), as {@link #load} decodes them.
     *
     * @param name the {@code input_format} name (e.g. {@code RAW}, {@code AVRO}, {@code JSON})
     * @param config its {@code input_config}
     */
    public record InputFormat(String name, Map<String, Object> config) {

        /** An encoder of feature rows into records of this format (for clients that send inputs). Not thread-safe. */
        public RecordEncoder newEncoder() {
            return RecordFormats.forName(name).newEncoder(config);
        }
    }

    /**
     * The format of the inputs {@code spec} serves, without loading the model: what a client must send.
     *
     * @throws EntityNotFoundException if the result or its training deployment is missing
     * @throws RegistryException if neither the spec nor the training deployment says the format
     */
    public static InputFormat inputFormat(Registry registry, InferenceSpec spec) {
        TrainingResult result = registry.result(spec.resultId())
                .orElseThrow(() -> new EntityNotFoundException("training result", spec.resultId()));
        return inputFormat(result, registry.deployment(result.deploymentId()).orElse(null), spec);
    }

    private static InputFormat inputFormat(TrainingResult result, Deployment trainedIn, InferenceSpec spec) {
        if (spec.inputFormat() != null) {
            return new InputFormat(spec.inputFormat(), spec.inputConfig() == null ? Map.of() : spec.inputConfig());
        }
        Deployment deployment = java.util.Optional.ofNullable(trainedIn)
                .orElseThrow(() -> new EntityNotFoundException("deployment", result.deploymentId()));
        if (deployment.controlMessage() == null) {
            throw new RegistryException("Deployment '" + deployment.id() + "' recorded no data stream, so the input "
                    + "format of result '" + result.id() + "' is unknown; give it in the inference spec");
        }
        ControlMessage message = ControlMessage.fromJson(deployment.controlMessage());
        return new InputFormat(message.inputFormat(), message.inputConfig());
    }

    /**
     * Loads the model of a training result from the registry, taking inputs of at most {@code maxRecordValues} values
     * when the model leaves their number to the stream ({@value KafkaMlConfig#MAX_RECORD_VALUES_CONFIG}).
     *
     * @throws EntityNotFoundException if the result, its model or its deployment is missing
     * @throws RegistryException if the result has no trained model, its artifacts are damaged, or the inputs do not
     *         fit the model (or the limit)
     */
    public static ServedModel load(Registry registry, InferenceSpec spec, long maxRecordValues) {
        ModelVersion version = null;
        if (spec.version() != null) {
            version = registry.version(spec.resultId(), spec.version())
                    .orElseThrow(() -> EntityNotFoundException.modelVersion(
                            spec.resultId(),
                            spec.version(),
                            registry.versions(spec.resultId()).stream()
                                    .map(ModelVersion::version)
                                    .toList()));
        } else if (spec.followPromoted()) {
            version = registry.promotedVersion(spec.resultId()).orElse(null);
        }
        return load(registry, spec, maxRecordValues, version);
    }

    /**
     * Loads version {@code version} of the spec's result (or, when {@code null}, the result's trained model); the
     * spec's own choice of version is not looked at. The artifacts' SHA-256 digests are checked.
     *
     * @throws EntityNotFoundException if the result, its model or its deployment is missing
     * @throws RegistryException if the model has no artifact, its artifacts are damaged, or the inputs do not fit
     */
    public static ServedModel load(Registry registry, InferenceSpec spec, long maxRecordValues, ModelVersion version) {
        TrainingResult result = registry.result(spec.resultId())
                .orElseThrow(() -> new EntityNotFoundException("training result", spec.resultId()));
        if (version != null && !version.resultId().equals(result.id())) {
            throw new IllegalArgumentException("Version " + version.version() + " is of result '" + version.resultId()
                    + "', not '" + result.id() + "'");
        }
        if (version == null && result.artifact() == null) {
            throw new RegistryException("Training result '" + result.id() + "' has no trained model (status "
                    + result.status() + (result.error() == null ? "" : ": " + result.error()) + ")"
                    + (spec.followPromoted() ? " and no promoted version" : ""));
        }
        String what = version == null
                ? "result '" + result.id() + "'"
                : "version " + version.version() + " of result '" + result.id() + "'";
        if (version != null) {
            registry.requireVersionModel(version); // one the version retention deleted is named as such
        }
        String modelArtifact =
                version == null ? result.artifact() : version.artifact().id();
        String normalizerArtifact = version == null
                ? result.normalizerArtifact()
                : version.normalizer() == null ? null : version.normalizer().id();
        ModelDefinition definition =
                registry.model(result.model()).orElseThrow(() -> new EntityNotFoundException("model", result.model()));
        // bounded by the registry's limits before anything large is allocated (a forged artifact is refused)
        Model network = registry.loadNetwork(modelArtifact, definition, false, "the model of " + what);
        DataNormalization normalizer = null;
        if (normalizerArtifact != null) {
            try {
                normalizer = NormalizerSerializer.getDefault()
                        .restore(new ByteArrayInputStream(registry.loadArtifact(normalizerArtifact)));
            } catch (Exception e) {
                throw new RegistryException("The normalizer of " + what + " cannot be restored: " + e.getMessage(), e);
            }
        }
        Deployment trainedIn = registry.deployment(result.deploymentId()).orElse(null);
        double threshold = spec.decisionThreshold() != null
                ? spec.decisionThreshold()
                : TrainingSpec.decisionThreshold(trainedIn == null ? null : trainedIn.settings());
        InputFormat input = inputFormat(result, trainedIn, spec);
        String format = input.name();
        RecordDecoder decoder = RecordFormats.forName(format).newDecoder(input.config());
        int outputs = (int) definition.summary().outputSize();
        InputLayout.Binding binding;
        try {
            // The layout training used: the same model and the same record shape give the same network input.
            binding = definition.summary().inputLayout().bind(decoder.featureShape(), maxRecordValues);
            binding.check(network, definition.name());
        } catch (InvalidModelException e) {
            throw new RegistryException(
                    "Inputs of format " + format + " " + Arrays.toString(decoder.featureShape())
                            + " cannot be served by model '" + definition.name() + "': " + e.getMessage(),
                    e);
        }
        RecordEncoder encoder = null;
        if (!spec.outputFormat().equalsIgnoreCase("JSON")) {
            Map<String, Object> outputConfig = new LinkedHashMap<>(spec.outputConfig());
            if (spec.outputFormat().equalsIgnoreCase("RAW")) {
                outputConfig.putIfAbsent("data_type", "float32");
                outputConfig.putIfAbsent("data_reshape", String.valueOf(outputs));
            }
            encoder = RecordFormats.forName(spec.outputFormat()).newEncoder(outputConfig);
        }
        return new ServedModel(
                result,
                network,
                normalizer,
                decoder,
                encoder,
                definition.summary().outputKind(),
                threshold,
                outputs,
                binding,
                version == null ? 0 : version.version());
    }

    /** The model version served (its number), or 0 for the result's trained model. */
    public int version() {
        return version;
    }

    /** The training result served. */
    public TrainingResult result() {
        return result;
    }

    /** The inputs' decoder. */
    public RecordDecoder decoder() {
        return decoder;
    }

    /** What the outputs predict; decides the class fields of a JSON prediction. */
    public OutputKind outputKind() {
        return kind;
    }

    /** The probability from which a binary or multi-label output is predicted as class 1. */
    public double decisionThreshold() {
        return threshold;
    }

    /** The number of outputs per input. */
    public int outputs() {
        return outputs;
    }

    /** How inputs are laid out for the network ({@link InputLayout.Binding}), as in training. */
    public InputLayout.Binding inputBinding() {
        return binding;
    }

    /**
     * Predicts {@code rows} inputs in one forward pass: applies the stored normalizer to the flat rows, then lays
     * them out as the network takes them (images NCHW/NHWC, sequences NCW/NWC: {@link InputLayout.Binding}), as
     * training did.
     *
     * @param features {@code rows × featureCount} floats, row after row, each record in numpy C order
     * @return {@code rows × outputs} floats, row after row (for a model with one output per time step, the
     *         last step's outputs)
     */
    public float[] predict(float[] features, int rows) {
        int width = decoder.featureCount();
        // a backlog comes in full polls of one size: their batches reuse one input array (the normalizer transforms
        // it in place; the network keeps no reference to it after output())
        INDArray input = inputBuffer;
        if (input == null || input.rows() != rows || input.columns() != width) {
            input = org.nd4j.linalg.factory.Nd4j.createUninitialized(
                    org.nd4j.linalg.api.buffer.DataType.FLOAT, rows, width);
            inputBuffer = input;
        }
        input.data().asNioFloat().put(features, 0, rows * width);
        if (normalizer != null) {
            normalizer.transform(input);
        }
        input = binding.features(input);
        INDArray output = network instanceof MultiLayerNetwork mln
                ? mln.output(input, false)
                : ((ComputationGraph) network).outputSingle(false, input);
        if (output.rank() == 3) {
            // one output per time step: serve the last step's ([batch, outputs])
            String format = binding.layout().sequenceOutput();
            output = "NWC".equals(format)
                    ? output.get(NDArrayIndex.all(), NDArrayIndex.point(output.size(1) - 1), NDArrayIndex.all())
                    : output.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(output.size(2) - 1));
        }
        float[] values = new float[rows * outputs];
        // a bulk copy out of native memory; a copy first only where the array is not laid out row after row from the
        // start of its buffer (a view, Fortran order)
        if (output.isView() || output.ordering() != 'c' || output.data().length() != output.length()) {
            output = output.dup('c');
        }
        output.data().asNioFloat().get(values, 0, values.length);
        return values;
    }

    /** The record value of one prediction ({@code values[offset .. offset + outputs)}). */
    public byte[] encode(float[] values, int offset) {
        if (encoder != null) {
            double[] row = new double[outputs];
            for (int i = 0; i < outputs; i++) {
                row[i] = values[offset + i];
            }
            return encoder.encode(row, null).value();
        }
        return predictionJson(values, offset, outputs, kind, threshold);
    }

    private static final com.fasterxml.jackson.core.JsonFactory JSON = new com.fasterxml.jackson.core.JsonFactory();

    /**
     * A JSON prediction, written with Jackson (see the class documentation): {@code values[offset .. offset +
     * outputs)} as {@code "values"}, then {@code "class"} or {@code "classes"} by {@code kind}. JSON has no NaN or
     * infinity: a value that is not finite is written as {@code null} (as JavaScript's {@code JSON.stringify}
     * does), the record stays valid JSON, and the class is decided by the finite values only: a multi-class
     * {@code "class"} is the index of the largest finite value ({@code null} when there is none), a binary
     * {@code "class"} is {@code null} when its value is not finite, a multi-label {@code "classes"} never lists a
     * value that is not finite.
     */
    static byte[] predictionJson(float[] values, int offset, int outputs, OutputKind kind, double threshold) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(16 + outputs * 12);
        try (com.fasterxml.jackson.core.JsonGenerator json = JSON.createGenerator(out)) {
            json.writeStartObject();
            json.writeArrayFieldStart("values");
            int best = -1;
            for (int i = 0; i < outputs; i++) {
                float value = values[offset + i];
                if (Float.isFinite(value)) {
                    json.writeNumber(value);
                    if (best < 0 || value > values[offset + best]) {
                        best = i;
                    }
                } else {
                    json.writeNull();
                }
            }
            json.writeEndArray();
            switch (kind) {
                case MULTI_CLASS -> {
                    json.writeFieldName("class");
                    if (best < 0) {
                        json.writeNull();
                    } else {
                        json.writeNumber(best);
                    }
                }
                case BINARY -> {
                    json.writeFieldName("class");
                    if (Float.isFinite(values[offset])) {
                        json.writeNumber(values[offset] >= threshold ? 1 : 0);
                    } else {
                        json.writeNull();
                    }
                }
                case MULTI_LABEL -> {
                    json.writeArrayFieldStart("classes");
                    for (int i = 0; i < outputs; i++) {
                        if (Float.isFinite(values[offset + i]) && values[offset + i] >= threshold) {
                            json.writeNumber(i);
                        }
                    }
                    json.writeEndArray();
                }
                default -> {}
            }
            json.writeEndObject();
        } catch (IOException e) {
            throw new IllegalStateException("Writing JSON to memory cannot fail", e);
        }
        return out.toByteArray();
    }
}
