package io.kafkaml.model;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.kafkaml.config.KafkaMlConfig;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.api.layers.IOutputLayer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.OutputLayerUtil;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationSigmoid;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.linalg.lossfunctions.impl.LossBinaryXENT;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.nd4j.linalg.lossfunctions.impl.LossNegativeLogLikelihood;
import org.nd4j.linalg.lossfunctions.impl.LossSparseMCXENT;

/**
 * A model: a name, a description and a DL4J network configuration ({@link MultiLayerConfiguration} or
 * {@link ComputationGraphConfiguration}), optionally with initial weights (an imported Keras model keeps its
 * weights as a registry artifact). Creating one validates it by building the network, and records what it
 * found in a {@link ModelSummary}.
 *
 * <p><b>Parameter limit.</b> Before DL4J allocates a network, its parameters (weights and biases) are counted from the
 * configuration, layer by layer (DL4J's own count; a layer with more than 2^28 inputs or outputs counts as too many),
 * and a configuration that declares more
 * than {@value KafkaMlConfig#MAX_MODEL_PARAMETERS_CONFIG} allows (default
 * {@link KafkaMlConfig#DEFAULT_MAX_MODEL_PARAMETERS}) is refused with an {@link InvalidModelException} naming its count
 * and the setting, instead of exhausting memory: configurations come from uploads and registry records anyone with
 * write access may have written. The factories without a limit use the default; pass a limit to raise it. A definition
 * keeps its limit for {@link #newNetwork()} and the {@code with…} methods; one read from the registry has the default
 * ({@link #newNetwork(long)} takes the reader's).
 *
 * <pre>{@code
 * MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().list()
 *         .layer(new DenseLayer.Builder().nIn(3).nOut(4).activation(Activation.SIGMOID).build())
 *         .layer(new OutputLayer.Builder(LossFunction.MCXENT).nIn(4).nOut(2).activation(Activation.SOFTMAX).build())
 *         .build();
 * ModelDefinition model = ModelDefinition.of("hcopd", "the paper's HCOPD model", conf);
 * model.summary().outputKind();   // MULTI_CLASS
 * }</pre>
 *
 * <p>Thread safety: immutable and thread-safe. Lifecycle: a value; {@link #newNetwork()} returns a new network each
 * time, owned by the caller.
 */
public final class ModelDefinition {

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    private final String name;
    private final String description;
    private final String configuration;
    private final String weightsArtifact;
    private final ModelSummary summary;
    /** The most parameters this definition builds a network of (not recorded: a reader applies its own). */
    private final long maxParameters;

    @JsonCreator
    private ModelDefinition(
            @JsonProperty("name") String name,
            @JsonProperty("description") String description,
            @JsonProperty("configuration") String configuration,
            @JsonProperty("weightsArtifact") String weightsArtifact,
            @JsonProperty("summary") ModelSummary summary) {
        this(name, description, configuration, weightsArtifact, summary, KafkaMlConfig.DEFAULT_MAX_MODEL_PARAMETERS);
    }

    private ModelDefinition(
            String name,
            String description,
            String configuration,
            String weightsArtifact,
            ModelSummary summary,
            long maxParameters) {
        if (maxParameters < 1) {
            throw new IllegalArgumentException("maxParameters must be at least 1, was " + maxParameters);
        }
        this.maxParameters = maxParameters;
        this.name = checkName(name, "model");
        this.description = description == null ? "" : description;
        this.configuration = Objects.requireNonNull(configuration, "configuration");
        this.weightsArtifact = weightsArtifact;
        // A summary recorded before input layouts or output kinds (CLASSIFICATION) were is worked out again, and so
        // is one without a network type this version knows (a damaged registry record; found by the fuzz benchmark).
        @SuppressWarnings("deprecation")
        boolean legacy = summary == null
                || !("MultiLayerNetwork".equals(summary.networkType())
                        || "ComputationGraph".equals(summary.networkType()))
                || summary.inputLayout() == null
                || summary.outputKind() == null
                || summary.outputKind() == OutputKind.CLASSIFICATION;
        this.summary = legacy ? summarize(name, build(name, configuration, maxParameters)) : summary;
    }

    /** A model from a multi-layer configuration. */
    public static ModelDefinition of(String name, String description, MultiLayerConfiguration configuration) {
        return new ModelDefinition(name, description, configuration.toJson(), null, null);
    }

    /** A model from a computation graph configuration. */
    public static ModelDefinition of(String name, String description, ComputationGraphConfiguration configuration) {
        return new ModelDefinition(name, description, configuration.toJson(), null, null);
    }

    /**
     * A model from DL4J configuration JSON (as {@code MultiLayerConfiguration.toJson()} or
     * {@code ComputationGraphConfiguration.toJson()} writes it).
     *
     * @throws InvalidModelException if the JSON is neither, or the network cannot be built
     */
    public static ModelDefinition fromJson(String name, String description, String configurationJson) {
        return new ModelDefinition(name, description, configurationJson, null, null);
    }

    /**
     * {@link #fromJson(String, String, String)} with a parameter limit other than the default (the value of
     * {@value KafkaMlConfig#MAX_MODEL_PARAMETERS_CONFIG}, see {@link KafkaMlConfig#maxModelParameters}).
     *
     * @throws InvalidModelException as {@link #fromJson(String, String, String)}, or if the configuration declares
     *     more than {@code maxParameters} parameters (checked before DL4J allocates anything)
     */
    public static ModelDefinition fromJson(
            String name, String description, String configurationJson, long maxParameters) {
        return new ModelDefinition(name, description, configurationJson, null, null, maxParameters);
    }

    /**
     * Counts the parameters (weights and biases) a DL4J configuration declares, without building the network: the sum
     * of DL4J's count for each layer, with layer sizes checked first so that no product overflows.
     *
     * @return the count, or {@link Long#MAX_VALUE} when it does not fit a {@code long}
     * @throws InvalidModelException if the JSON is not a DL4J configuration
     */
    public static long parameterCount(String configurationJson) {
        return countParameters(parse("(unnamed)", configurationJson), Long.MAX_VALUE)
                .total();
    }

    /**
     * Counts the parameters a parsed multi-layer configuration declares, as {@link #parameterCount(String)}.
     *
     * @return the count, or {@link Long#MAX_VALUE} when it does not fit a {@code long}
     * @throws InvalidModelException if a layer cannot be counted
     */
    public static long parameterCount(MultiLayerConfiguration configuration) {
        return countChecked(configuration);
    }

    /**
     * Counts the parameters a parsed computation graph configuration declares, as {@link #parameterCount(String)}.
     *
     * @return the count, or {@link Long#MAX_VALUE} when it does not fit a {@code long}
     * @throws InvalidModelException if a layer or vertex cannot be counted
     */
    public static long parameterCount(ComputationGraphConfiguration configuration) {
        return countChecked(configuration);
    }

    private static long countChecked(Object configuration) {
        try {
            return countParameters(configuration, Long.MAX_VALUE).total();
        } catch (InvalidModelException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new InvalidModelException("The configuration cannot be counted: " + reason(e), e);
        }
    }

    /** The same model with initial weights stored as the registry artifact {@code artifactId}. */
    public ModelDefinition withWeightsArtifact(String artifactId) {
        return new ModelDefinition(name, description, configuration, artifactId, summary, maxParameters);
    }

    /**
     * The same model with its declared input type: fills in what the configuration does not keep (DL4J's JSON
     * forgets the {@code InputType} a network was built with: the height and width of a convolutional input, the
     * time steps of a recurrent one). A Keras import declares the file's input shape. When the type fixes every
     * size, a record of zeros is run through the network to check that it fits.
     *
     * <pre>{@code
     * ModelDefinition cnn = ModelDefinition.of("digits-cnn", "", conf).withInputType(InputType.convolutional(8, 8, 1));
     * cnn.summary().inputLayout().describe();   // convolutional [8, 8, 1] (height, width, channels; network NCHW)
     * }</pre>
     *
     * @throws InvalidModelException if the type is not the kind of input the network takes, or does not fit it
     */
    public ModelDefinition withInputType(org.deeplearning4j.nn.conf.inputs.InputType inputType) {
        InputLayout declared;
        try {
            declared = InputLayout.of(inputType);
        } catch (IllegalArgumentException e) {
            throw new InvalidModelException("Model '" + name + "': " + e.getMessage(), e);
        }
        InputLayout layout = summary.inputLayout().declare(declared, name);
        probe(layout, build(name, configuration, maxParameters), name);
        return new ModelDefinition(
                name, description, configuration, weightsArtifact, summary.withInputLayout(layout), maxParameters);
    }

    /**
     * The same model, recorded as one that cannot be trained, for {@code reason} (for example the loss of an
     * imported Keras model that DL4J cannot use). It can still be served; deploying it for training is refused
     * with the reason.
     */
    public ModelDefinition withLossProblem(String reason) {
        return new ModelDefinition(
                name,
                description,
                configuration,
                weightsArtifact,
                summary.withLossProblem(Objects.requireNonNull(reason, "reason")),
                maxParameters);
    }

    /**
     * Checks that the model can be trained: that it has a usable loss.
     *
     * @throws InvalidModelException naming the model and the reason when it cannot
     */
    public void checkTrainable() {
        if (!summary.trainable()) {
            throw new InvalidModelException("Model '" + name + "' cannot be trained: " + summary.lossProblem());
        }
    }

    /**
     * Checks a registry name: 1 to 128 characters of letters, digits, '.', '_', '-', starting with a letter or
     * digit.
     *
     * @return the name
     * @throws IllegalArgumentException naming what is wrong
     */
    public static String checkName(String name, String what) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("'" + name + "' is not a valid " + what + " name: use 1 to 128 letters, "
                    + "digits, '.', '_' or '-', starting with a letter or digit");
        }
        return name;
    }

    /** The model's name, unique in a registry. */
    @JsonProperty
    public String name() {
        return name;
    }

    /** A description, possibly empty. */
    @JsonProperty
    public String description() {
        return description;
    }

    /** The DL4J configuration JSON. */
    @JsonProperty
    public String configuration() {
        return configuration;
    }

    /** The artifact holding initial weights, if the model came with them (an imported Keras model). */
    public Optional<String> weightsArtifact() {
        return Optional.ofNullable(weightsArtifact);
    }

    @JsonProperty("weightsArtifact")
    private String weightsArtifactOrNull() {
        return weightsArtifact;
    }

    /** What building the network found. */
    @JsonProperty
    public ModelSummary summary() {
        return summary;
    }

    /** Whether the configuration is a computation graph rather than a multi-layer network. */
    public boolean isGraph() {
        return summary.networkType().equals("ComputationGraph");
    }

    /**
     * A new, initialized network of this configuration (random weights from its seed), within this definition's
     * parameter limit.
     *
     * @throws InvalidModelException if the configuration declares more parameters than the limit
     */
    public Model newNetwork() {
        return build(name, configuration, maxParameters);
    }

    /**
     * A new, initialized network of this configuration, within {@code maxParameters} (a component with settings passes
     * {@link KafkaMlConfig#maxModelParameters}).
     *
     * @throws InvalidModelException if the configuration declares more parameters than {@code maxParameters}
     */
    public Model newNetwork(long maxParameters) {
        return build(name, configuration, maxParameters);
    }

    /**
     * Checks that a DL4J configuration declares at most {@code maxParameters} parameters, without building it.
     *
     * @throws InvalidModelException naming the model, the count (and its largest layer) and the setting, when it
     *     declares more; or if the JSON is not a DL4J configuration
     */
    public static void checkParameterCount(String name, String configurationJson, long maxParameters) {
        checkParameters(name, parse(name, configurationJson), maxParameters);
    }

    /**
     * The largest input or output size of a layer (and kernel area times output channels of a convolution) that is
     * counted: 2^28, so that DL4J's products of two or three such sizes fit a {@code long}. A larger layer counts as
     * too many parameters whatever the limit.
     */
    private static final long MAX_LAYER_SIZE = 1L << 28;

    /** The parameter count of a configuration and its largest layer (name and count). */
    private record Count(long total, String largest, long largestCount) {}

    private static void checkParameters(String name, Object configuration, long maxParameters) {
        Count count;
        try {
            count = countParameters(configuration, maxParameters);
        } catch (RuntimeException e) {
            throw new InvalidModelException("Model '" + name + "' cannot be built: " + reason(e), e);
        }
        if (count.total() > maxParameters) {
            throw new InvalidModelException("Model '" + name + "' declares "
                    + (count.total() == Long.MAX_VALUE ? "more than " + Long.MAX_VALUE : String.valueOf(count.total()))
                    + " parameters (largest layer '" + count.largest() + "': "
                    + (count.largestCount() == Long.MAX_VALUE ? "too many" : String.valueOf(count.largestCount()))
                    + "), over the limit of " + maxParameters + " (" + KafkaMlConfig.MAX_MODEL_PARAMETERS_CONFIG
                    + "); the network was not built. Raise " + KafkaMlConfig.MAX_MODEL_PARAMETERS_CONFIG
                    + " to use it");
        }
    }

    /**
     * Counts layer by layer with DL4J's {@code ParamInitializer.numParams}; a layer whose sizes alone exceed
     * {@code bound} (an input or output size, or a convolution's kernel area times its output channels) counts as
     * {@link Long#MAX_VALUE}, so DL4J's own products cannot overflow.
     */
    private static Count countParameters(Object configuration, long bound) {
        long total = 0;
        String largest = "";
        long largestCount = -1;
        // a list, not a map by name: layers of a MultiLayerConfiguration may share a name, and each one counts
        List<java.util.Map.Entry<String, NeuralNetConfiguration>> layers = new java.util.ArrayList<>();
        if (configuration instanceof MultiLayerConfiguration mlc) {
            List<NeuralNetConfiguration> confs = mlc.getConfs();
            for (int i = 0; i < confs.size(); i++) {
                Layer layer = confs.get(i).getLayer();
                layers.add(java.util.Map.entry(
                        layer != null && layer.getLayerName() != null ? layer.getLayerName() : "layer" + i,
                        confs.get(i)));
            }
        } else {
            ComputationGraphConfiguration cgc = (ComputationGraphConfiguration) configuration;
            for (var vertex : cgc.getVertices().entrySet()) {
                if (vertex.getValue() instanceof LayerVertex lv) {
                    layers.add(java.util.Map.entry(vertex.getKey(), lv.getLayerConf()));
                } else {
                    // a vertex that is not a layer may hold parameters too (a SameDiff vertex such as attention)
                    long count = vertexParameters(vertex.getKey(), vertex.getValue());
                    if (count > largestCount) {
                        largestCount = count;
                        largest = vertex.getKey();
                    }
                    total = count == Long.MAX_VALUE ? Long.MAX_VALUE : saturatedAdd(total, count);
                }
            }
        }
        for (var entry : layers) {
            long count = layerParameters(
                    entry.getValue() == null ? null : entry.getValue().getLayer(), bound);
            if (count > largestCount) {
                largestCount = count;
                largest = entry.getKey();
            }
            total = count == Long.MAX_VALUE ? Long.MAX_VALUE : saturatedAdd(total, count);
        }
        return new Count(total, largest, Math.max(0, largestCount));
    }

    /**
     * The parameters of one layer, counted so that no product overflows: wrappers are unwrapped (a bidirectional layer
     * counts both directions), every size DL4J multiplies is capped first ({@link #MAX_LAYER_SIZE}), SameDiff layers
     * are counted from their parameter shapes with exact arithmetic, and a layer kind this count does not know that
     * holds parameters is refused (fail closed) rather than trusted.
     */
    private static long layerParameters(Layer layer, long bound) {
        if (layer == null) {
            return 0;
        }
        long cap = Math.min(bound, MAX_LAYER_SIZE);
        try {
            if (layer instanceof org.deeplearning4j.nn.conf.layers.recurrent.Bidirectional bidirectional) {
                long fwd = layerParameters(bidirectional.getFwd(), bound);
                long bwd = layerParameters(bidirectional.getBwd(), bound);
                return fwd == Long.MAX_VALUE || bwd == Long.MAX_VALUE ? Long.MAX_VALUE : saturatedAdd(fwd, bwd);
            }
            if (layer instanceof org.deeplearning4j.nn.conf.layers.wrapper.BaseWrapperLayer wrapper) {
                return layerParameters(wrapper.getUnderlying(), bound); // TimeDistributed, LastTimeStep, MaskZero, ...
            }
            if (layer instanceof org.deeplearning4j.nn.conf.layers.misc.FrozenLayer frozen) {
                return layerParameters(frozen.getLayer(), bound);
            }
            if (layer instanceof org.deeplearning4j.nn.conf.layers.samediff.AbstractSameDiffLayer sameDiff) {
                return shapes(sameDiff.getLayerParams().getParamShapes().values(), cap);
            }
            if (layer.initializer() instanceof org.deeplearning4j.nn.params.EmptyParamInitializer) {
                return 0;
            }
            if (layer instanceof org.deeplearning4j.nn.conf.layers.PReLULayer prelu) {
                long[] shape = prelu.getInputShape();
                if (shape == null) {
                    return 0;
                }
                long[] counted = shape.clone();
                for (long axis : prelu.getSharedAxes() == null ? new long[0] : prelu.getSharedAxes()) {
                    if (axis >= 1 && axis <= counted.length) {
                        counted[(int) axis - 1] = 1;
                    }
                }
                return shapes(List.of(counted), cap);
            }
            if (!(layer instanceof FeedForwardLayer ff)) {
                throw new InvalidModelException("its layer '" + layer.getLayerName() + "' ("
                        + layer.getClass().getSimpleName() + ") is of a kind whose parameters cannot be counted "
                        + "safely, so it is refused");
            }
            if (!within(cap, ff.getNIn(), ff.getNOut())) {
                return Long.MAX_VALUE;
            }
            if (layer instanceof org.deeplearning4j.nn.conf.layers.ConvolutionLayer conv) {
                long area = 1;
                for (int k : conv.getKernelSize()) {
                    area = Math.multiplyExact(area, Math.max(1, k));
                }
                long depth = layer instanceof org.deeplearning4j.nn.conf.layers.SeparableConvolution2D separable
                        ? separable.getDepthMultiplier()
                        : layer instanceof org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D depthwise
                                ? depthwise.getDepthMultiplier()
                                : 1;
                if (!within(
                        cap,
                        depth,
                        Math.multiplyExact(area, Math.max(1, ff.getNOut())),
                        Math.multiplyExact(area, Math.max(1, depth)),
                        Math.multiplyExact(Math.max(1, depth), Math.max(1, ff.getNOut())))) {
                    return Long.MAX_VALUE;
                }
            }
            if (layer instanceof org.deeplearning4j.nn.conf.ocnn.OCNNOutputLayer ocnn
                    && !within(cap, ocnn.getHiddenSize())) {
                return Long.MAX_VALUE;
            }
            if (layer instanceof org.deeplearning4j.nn.conf.layers.variational.VariationalAutoencoder vae
                    && variationalBound(vae, cap) >= 1L << 61) {
                return Long.MAX_VALUE;
            }
            long count = layer.initializer().numParams(layer);
            return count < 0 ? Long.MAX_VALUE : count;
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    /** The parameters of a graph vertex that is not a layer: a SameDiff vertex's from its shapes; a frozen vertex's. */
    private static long vertexParameters(String name, GraphVertex vertex) {
        try {
            if (vertex instanceof org.deeplearning4j.nn.conf.graph.FrozenVertex frozen) {
                return frozen.getUnderlying() instanceof LayerVertex lv
                        ? layerParameters(
                                lv.getLayerConf() == null
                                        ? null
                                        : lv.getLayerConf().getLayer(),
                                Long.MAX_VALUE)
                        : vertexParameters(name, frozen.getUnderlying());
            }
            if (vertex instanceof org.deeplearning4j.nn.conf.layers.samediff.SameDiffVertex sameDiff) {
                org.deeplearning4j.nn.conf.layers.samediff.SDVertexParams params =
                        new org.deeplearning4j.nn.conf.layers.samediff.SDVertexParams();
                sameDiff.defineParametersAndInputs(params);
                return shapes(params.getParamShapes().values(), MAX_LAYER_SIZE);
            }
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
        long count = vertex == null ? 0 : vertex.numParams(true);
        if (count != 0) {
            throw new InvalidModelException(
                    "its vertex '" + name + "' (" + vertex.getClass().getSimpleName()
                            + ") holds parameters this count does not know how to bound, so it is refused");
        }
        return 0;
    }

    /** The sum of the element counts of parameter shapes, each size at most {@code cap}; exact or an exception. */
    private static long shapes(java.util.Collection<long[]> shapes, long cap) {
        long total = 0;
        for (long[] shape : shapes) {
            long count = 1;
            for (long size : shape) {
                if (size < 0 || size > cap) {
                    return Long.MAX_VALUE;
                }
                count = Math.multiplyExact(count, size);
            }
            total = Math.addExact(total, count);
        }
        return total;
    }

    /** Whether every size is between 0 and {@code cap}. */
    private static boolean within(long cap, long... sizes) {
        for (long size : sizes) {
            if (size < 0 || size > cap) {
                return false;
            }
        }
        return true;
    }

    /**
     * An upper bound of a variational autoencoder's parameters (each weight matrix between consecutive sizes, its bias,
     * and four times the sizes of its distributions' outputs), saturating: when it is small, DL4J's own count cannot
     * overflow.
     */
    private static long variationalBound(
            org.deeplearning4j.nn.conf.layers.variational.VariationalAutoencoder vae, long cap) {
        List<Long> sizes = new java.util.ArrayList<>();
        sizes.add(vae.getNIn());
        for (int size : vae.getEncoderLayerSizes() == null ? new int[0] : vae.getEncoderLayerSizes()) {
            sizes.add((long) size);
        }
        sizes.add(vae.getNOut());
        for (int size : vae.getDecoderLayerSizes() == null ? new int[0] : vae.getDecoderLayerSizes()) {
            sizes.add((long) size);
        }
        sizes.add(vae.getNIn());
        long bound = 0;
        for (int i = 0; i < sizes.size(); i++) {
            if (sizes.get(i) < 0 || sizes.get(i) > cap) {
                return Long.MAX_VALUE;
            }
            if (i > 0) {
                // (in + 1) x out, times four for the mean/variance heads and the distribution's parameters
                bound = saturatedAdd(bound, (sizes.get(i - 1) + 1) * sizes.get(i) * 4);
            }
        }
        return bound;
    }

    private static long saturatedAdd(long a, long b) {
        long sum = a + b;
        return ((a ^ sum) & (b ^ sum)) < 0 ? Long.MAX_VALUE : sum;
    }

    private static Model build(String name, String json, long maxParameters) {
        Object configuration = parse(name, json);
        checkParameters(name, configuration, maxParameters);
        try {
            if (configuration instanceof MultiLayerConfiguration mlc) {
                List<NeuralNetConfiguration> confs = mlc.getConfs();
                for (int i = 0; i < confs.size(); i++) {
                    Layer layer = confs.get(i).getLayer();
                    if (layer instanceof BaseOutputLayer || layer instanceof LossLayer) {
                        OutputLayerUtil.validateOutputLayer(
                                layer.getLayerName() != null ? layer.getLayerName() : "layer" + i, layer);
                    }
                }
                MultiLayerNetwork network = new MultiLayerNetwork(mlc);
                network.init();
                probe(InputLayout.detect(mlc), network, name);
                return network;
            }
            ComputationGraphConfiguration cgc = (ComputationGraphConfiguration) configuration;
            for (var vertex : cgc.getVertices().entrySet()) {
                if (vertex.getValue() instanceof LayerVertex lv) {
                    Layer layer = lv.getLayerConf().getLayer();
                    if (layer instanceof BaseOutputLayer || layer instanceof LossLayer) {
                        OutputLayerUtil.validateOutputLayer(vertex.getKey(), layer);
                    }
                }
            }
            ComputationGraph graph = new ComputationGraph(cgc);
            graph.init();
            probe(InputLayout.detect(cgc), graph, name);
            return graph;
        } catch (RuntimeException e) {
            throw new InvalidModelException("Model '" + name + "' cannot be built: " + reason(e), e);
        }
    }

    /** A forward pass of one record of zeros finds layer sizes that do not chain, when the input's sizes are known. */
    private static void probe(InputLayout layout, Model network, String name) {
        long[] record = layout.sampleRecordShape();
        if (record != null && layout.inputs() == 1 && layout.outputs() == 1) {
            layout.bind(record).check(network, name);
        }
    }

    /** Reads a configuration's JSON tree to check its shape before DL4J parses it. */
    private static final com.fasterxml.jackson.databind.ObjectMapper SHAPE =
            new com.fasterxml.jackson.databind.ObjectMapper();

    private static Object parse(String name, String json) {
        String trimmed = json.trim();
        if (!trimmed.startsWith("{")) {
            throw new InvalidModelException("Model '" + name + "': the configuration is not JSON (it starts with '"
                    + trimmed.substring(0, Math.min(20, trimmed.length())) + "')");
        }
        boolean graph = trimmed.contains("\"vertices\"") && trimmed.contains("\"networkInputs\"");
        try {
            // JSON of another shape ({"x": 1}) makes DL4J's fromJson fail with a NullPointerException's text
            String required = graph ? "vertices" : "confs";
            com.fasterxml.jackson.databind.JsonNode tree = SHAPE.readTree(json);
            com.fasterxml.jackson.databind.JsonNode part = tree == null ? null : tree.get(required);
            if (part == null || part.isEmpty()) {
                throw new InvalidModelException("Model '" + name + "': the JSON is not a DL4J "
                        + (graph
                                ? "ComputationGraphConfiguration: it has no vertices ('vertices')"
                                : "MultiLayerConfiguration: it has no layers ('confs')"));
            }
            return graph ? ComputationGraphConfiguration.fromJson(json) : MultiLayerConfiguration.fromJson(json);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new InvalidModelException(
                    "Model '" + name + "': the configuration is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (InvalidModelException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new InvalidModelException(
                    "Model '" + name + "': the JSON is not a DL4J "
                            + (graph ? "ComputationGraphConfiguration" : "MultiLayerConfiguration") + ": " + reason(e),
                    e);
        }
    }

    /** DL4J's message, without the exception class names it tends to wrap around it. */
    static String reason(Throwable e) {
        Throwable cause = e;
        String message = e.getMessage();
        while (cause.getCause() != null && cause.getCause() != cause) {
            cause = cause.getCause();
            if (cause.getMessage() != null) {
                message = cause.getMessage();
            }
        }
        return message == null
                ? cause.getClass().getSimpleName()
                : message.replaceAll("\\s+", " ").trim();
    }

    private static ModelSummary summarize(String name, Model model) {
        if (model instanceof MultiLayerNetwork network) {
            List<Layer> layers = network.getLayerWiseConfigurations().getConfs().stream()
                    .map(c -> c.getLayer())
                    .toList();
            Layer last = layers.get(layers.size() - 1);
            long outputs = 0;
            IActivation lastActivation = null;
            for (int i = layers.size() - 1; i >= 0 && outputs == 0; i--) {
                outputs = nOut(layers.get(i));
                if (outputs > 0 && layers.get(i) instanceof org.deeplearning4j.nn.conf.layers.BaseLayer base) {
                    lastActivation = base.getActivationFn();
                }
            }
            InputLayout layout = InputLayout.detect(network.getLayerWiseConfigurations());
            String problem = network.getOutputLayer() instanceof IOutputLayer
                    ? null
                    : noLoss(last.getLayerName() != null ? last.getLayerName() : "layer" + (layers.size() - 1), last);
            return new ModelSummary(
                    "MultiLayerNetwork",
                    layout.inputSize(),
                    outputs,
                    network.numParams(),
                    kind(last, lastActivation, outputs),
                    layers.size(),
                    layout,
                    classIndexLoss(last),
                    problem);
        }
        ComputationGraph graph = (ComputationGraph) model;
        ComputationGraphConfiguration conf = graph.getConfiguration();
        InputLayout layout = InputLayout.detect(conf);
        long output = 0;
        OutputKind kind = null;
        boolean classIndex = false;
        String problem = null;
        for (int i = 0; i < conf.getNetworkOutputs().size(); i++) {
            String outputName = conf.getNetworkOutputs().get(i);
            GraphVertex vertex = conf.getVertices().get(outputName);
            if (!(vertex instanceof LayerVertex lv)) {
                problem = problem != null
                        ? problem
                        : "its output '" + outputName + "' is a "
                                + vertex.getClass().getSimpleName() + ", not an output layer with a loss function";
                continue;
            }
            Layer layer = lv.getLayerConf().getLayer();
            long size = nOut(layer);
            IActivation before = null;
            for (String in = outputName; size == 0 || before == null; ) {
                // A loss layer (how DL4J imports a Keras loss) has no size or activation of its own: take its input's.
                List<String> inputs = conf.getVertexInputs().get(in);
                if (inputs == null
                        || inputs.size() != 1
                        || !(conf.getVertices().get(inputs.get(0)) instanceof LayerVertex p)) {
                    break;
                }
                in = inputs.get(0);
                Layer previous = p.getLayerConf().getLayer();
                size = size == 0 ? nOut(previous) : size;
                if (before == null && previous instanceof org.deeplearning4j.nn.conf.layers.BaseLayer base) {
                    before = base.getActivationFn();
                }
            }
            output += size;
            OutputKind outputKind = kind(layer, before, size);
            kind = kind == null || kind == outputKind ? outputKind : OutputKind.REGRESSION;
            classIndex |= classIndexLoss(layer);
            if (problem == null && !(graph.getOutputLayer(i) instanceof IOutputLayer)) {
                problem = noLoss(outputName, layer);
            }
        }
        return new ModelSummary(
                "ComputationGraph",
                layout.inputSize(),
                output,
                graph.numParams(),
                kind == null ? OutputKind.REGRESSION : kind,
                conf.getVertices().size(),
                layout,
                classIndex,
                problem);
    }

    private static String noLoss(String layerName, Layer layer) {
        return "its output layer '" + layerName + "' (" + layer.getClass().getSimpleName() + ") has no loss function, "
                + "so it can serve predictions but not be trained: end the network with an OutputLayer or LossLayer "
                + "(a Keras model: save it after model.compile(loss=...))";
    }

    private static long nOut(Layer layer) {
        return layer instanceof FeedForwardLayer ff ? ff.getNOut() : 0;
    }

    private static ILossFunction lossOf(Layer layer) {
        if (layer instanceof BaseOutputLayer output) {
            return output.getLossFn();
        }
        return layer instanceof LossLayer lossLayer ? lossLayer.getLossFn() : null;
    }

    private static boolean classIndexLoss(Layer layer) {
        return lossOf(layer) instanceof LossSparseMCXENT;
    }

    /**
     * The output kind of an output layer: a softmax with a (sparse) multi-class cross-entropy or likelihood loss is
     * multi-class; a sigmoid with a cross-entropy loss is binary with one output and multi-label with several;
     * anything else is regression. A loss layer with an identity activation (how DL4J imports a Keras model's
     * loss) takes the activation of the layer before it, {@code previousActivation}.
     */
    private static OutputKind kind(Layer layer, IActivation previousActivation, long outputs) {
        ILossFunction loss = lossOf(layer);
        IActivation activation = layer instanceof org.deeplearning4j.nn.conf.layers.BaseLayer base
                ? base.getActivationFn()
                : layer instanceof LossLayer lossLayer ? lossLayer.getActivationFn() : null;
        if (layer instanceof LossLayer
                && activation instanceof org.nd4j.linalg.activations.impl.ActivationIdentity
                && previousActivation != null) {
            activation = previousActivation;
        }
        boolean classLoss = loss instanceof LossMCXENT
                || loss instanceof LossNegativeLogLikelihood
                || loss instanceof LossBinaryXENT;
        if (!classLoss) {
            return OutputKind.REGRESSION;
        }
        if (activation instanceof ActivationSoftmax) {
            return OutputKind.MULTI_CLASS;
        }
        if (activation instanceof ActivationSigmoid) {
            return outputs == 1 ? OutputKind.BINARY : OutputKind.MULTI_LABEL;
        }
        return OutputKind.REGRESSION;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ModelDefinition other
                && name.equals(other.name)
                && description.equals(other.description)
                && configuration.equals(other.configuration)
                && Objects.equals(weightsArtifact, other.weightsArtifact);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, configuration);
    }

    @Override
    public String toString() {
        return "ModelDefinition{" + name + ", " + summary.networkType().toLowerCase(Locale.ROOT) + " "
                + summary.inputSize()
                + " -> " + summary.outputSize() + ", " + summary.parameterCount() + " parameters, "
                + summary.outputKind()
                + "}";
    }
}
