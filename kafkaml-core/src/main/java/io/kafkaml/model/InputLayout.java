package io.kafkaml.model;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.kafkaml.config.KafkaMlConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.graph.PreprocessorVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseRecurrentLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.Convolution1DLayer;
import org.deeplearning4j.nn.conf.layers.Convolution3D;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.LocalResponseNormalization;
import org.deeplearning4j.nn.conf.layers.RnnLossLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.Bidirectional;
import org.deeplearning4j.nn.conf.layers.wrapper.BaseWrapperLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToRnnPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.RnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The input a model takes, in DL4J's terms ({@link InputType}): feed-forward rows, convolutional images
 * (height × width × channels, in the network's data format {@code NCHW} or {@code NHWC}), convolutional images
 * given flat ({@code InputType.convolutionalFlat}), or recurrent sequences (features per time step × time steps,
 * in {@code NCW} or {@code NWC}). Registration records it in the {@link ModelSummary}; training and serving lay
 * every batch out with the same {@link Binding}, so a model sees the same layout in both.
 *
 * <p><b>Where it comes from.</b> DL4J's configuration JSON does not keep the {@code InputType} a network was built
 * with, so the layout is read from the configuration itself: the first input pre-processor
 * ({@code FeedForwardToCnnPreProcessor} ⇒ convolutional-flat with its height, width and channels), else the first
 * layer that is not shape-preserving (a convolution ⇒ convolutional with its channels and data format; a recurrent
 * layer, possibly wrapped in {@code LastTimeStep}/{@code Bidirectional} ⇒ recurrent with its features and data
 * format; a dense layer ⇒ feed-forward with its {@code nIn}); Dropout, activation and normalization layers in front
 * are skipped. What the configuration does not fix (the height and width of a convolutional input, the number
 * of time steps) is {@link #ANY}: it is declared with {@link ModelDefinition#withInputType(InputType)} (a Keras
 * import declares the file's input shape) or taken from the stream.
 *
 * <p><b>Records.</b> A stream record's shape (its {@code data_reshape}) is read as Kafka-ML and Keras write it:
 * images channels-last {@code [height, width, channels]} (or {@code [height, width]} for one channel), sequences
 * {@code [time steps, features]}, numpy C order. {@link #bind(long[])} matches it against the model and lays each
 * batch out as the network takes it: {@code [batch, channels, height, width]} for NCHW,
 * {@code [batch, height, width, channels]} for NHWC, {@code [batch, features, time]} for NCW (DL4J's default for
 * recurrent layers), {@code [batch, time, features]} for NWC (Keras imports), flat rows otherwise. A record given
 * channels-first ({@code [channels, height, width]}, {@code [features, time]}) is accepted when it cannot be read
 * channels-last. A shape that both readings fit is refused, naming both, when declaring the model's height and width
 * would tell them apart (e.g. {@code [3, 32, 3]} for 3 channels of any size); when no declaration can
 * ({@code [n, n, n]} images, {@code [n, n]} sequences of n features) it is read channels-last, Kafka-ML's order, and
 * logged. A flat record ({@code [n]}) of an image is read as numpy's C order of {@code [height, width, channels]}
 * too, for convolutional-flat models as well (whose rows DL4J takes in CHW order).
 *
 * <p><b>Limit.</b> When the model leaves the number of values per record to the stream (any height and width, any
 * number of time steps), a record shape of more than {@value KafkaMlConfig#MAX_RECORD_VALUES_CONFIG} values
 * ({@link KafkaMlConfig#DEFAULT_MAX_RECORD_VALUES} by default) is refused by {@link #bind(long[], long)} before
 * anything is allocated.
 *
 * <p>Immutable and thread-safe.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public final class InputLayout {

    private static final Logger log = LoggerFactory.getLogger(InputLayout.class);

    /** A size the model does not fix (the height of a convolutional input, the number of time steps). */
    public static final long ANY = -1;

    /** What kind of input a model takes. */
    public enum Kind {
        /** Rows of {@code size} features: {@code [batch, size]}. */
        FEED_FORWARD,
        /** Images: {@code [batch, channels, height, width]} (NCHW) or {@code [batch, height, width, channels]} (NHWC). */
        CONVOLUTIONAL,
        /** Images given as flat rows of height × width × channels (DL4J's {@code InputType.convolutionalFlat}). */
        CONVOLUTIONAL_FLAT,
        /** Sequences: {@code [batch, features, time]} (NCW) or {@code [batch, time, features]} (NWC). */
        RECURRENT,
        /** Not found in the configuration: records are fed as flat rows, checked by a forward pass. */
        UNKNOWN
    }

    private final Kind kind;
    private final long size;
    private final long height;
    private final long width;
    private final long timeSteps;
    private final String dataFormat;
    private final int inputs;
    private final int outputs;
    private final String sequenceOutput;

    @JsonCreator
    private InputLayout(
            @JsonProperty("kind") Kind kind,
            @JsonProperty("size") long size,
            @JsonProperty("height") Long height,
            @JsonProperty("width") Long width,
            @JsonProperty("timeSteps") Long timeSteps,
            @JsonProperty("dataFormat") String dataFormat,
            @JsonProperty("inputs") Integer inputs,
            @JsonProperty("outputs") Integer outputs,
            @JsonProperty("sequenceOutput") String sequenceOutput) {
        this.kind = Objects.requireNonNull(kind, "kind");
        this.size = size;
        this.height = height == null ? ANY : height;
        this.width = width == null ? ANY : width;
        this.timeSteps = timeSteps == null ? ANY : timeSteps;
        this.dataFormat = dataFormat;
        this.inputs = inputs == null ? 1 : inputs;
        this.outputs = outputs == null ? 1 : outputs;
        this.sequenceOutput = sequenceOutput;
    }

    private InputLayout(Kind kind, long size, long height, long width, long timeSteps, String dataFormat) {
        this(kind, size, height, width, timeSteps, dataFormat, 1, 1, null);
    }

    /** Feed-forward rows of {@code size} features. */
    public static InputLayout feedForward(long size) {
        return new InputLayout(Kind.FEED_FORWARD, size, ANY, ANY, ANY, null);
    }

    /** Images of {@code height × width × channels} (each may be {@link #ANY} but the channels) in {@code format}. */
    public static InputLayout convolutional(long height, long width, long channels, CNN2DFormat format) {
        return new InputLayout(Kind.CONVOLUTIONAL, channels, height, width, ANY, format.name());
    }

    /** Images of {@code height × width × channels} given as flat rows ({@code InputType.convolutionalFlat}). */
    public static InputLayout convolutionalFlat(long height, long width, long channels) {
        return new InputLayout(Kind.CONVOLUTIONAL_FLAT, channels, height, width, ANY, CNN2DFormat.NCHW.name());
    }

    /** Sequences of {@code timeSteps} (or {@link #ANY}) steps of {@code features} values, in {@code format}. */
    public static InputLayout recurrent(long features, long timeSteps, RNNFormat format) {
        return new InputLayout(Kind.RECURRENT, features, ANY, ANY, timeSteps, format.name());
    }

    /**
     * The layout of a DL4J input type.
     *
     * @throws IllegalArgumentException for input types kafkaml cannot feed from a stream (3-D convolutional)
     */
    public static InputLayout of(InputType type) {
        if (type instanceof InputType.InputTypeFeedForward ff) {
            return feedForward(ff.getSize());
        }
        if (type instanceof InputType.InputTypeConvolutionalFlat flat) {
            return convolutionalFlat(flat.getHeight(), flat.getWidth(), flat.getDepth());
        }
        if (type instanceof InputType.InputTypeConvolutional cnn) {
            return convolutional(cnn.getHeight(), cnn.getWidth(), cnn.getChannels(), cnn.getFormat());
        }
        if (type instanceof InputType.InputTypeRecurrent rnn) {
            return recurrent(
                    rnn.getSize(), rnn.getTimeSeriesLength() > 0 ? rnn.getTimeSeriesLength() : ANY, rnn.getFormat());
        }
        throw new IllegalArgumentException("Input type " + type + " is not supported: kafkaml feeds feed-forward, "
                + "convolutional (2-D) and recurrent inputs");
    }

    /** The kind of input. */
    @JsonProperty
    public Kind kind() {
        return kind;
    }

    /** Features (feed-forward), channels (convolutional) or features per time step (recurrent); 0 if unknown. */
    @JsonProperty
    public long size() {
        return size;
    }

    /** The height of a convolutional input, or {@link #ANY}. */
    public long height() {
        return height;
    }

    /** The width of a convolutional input, or {@link #ANY}. */
    public long width() {
        return width;
    }

    /** The time steps of a recurrent input, or {@link #ANY}. */
    public long timeSteps() {
        return timeSteps;
    }

    /** {@code NCHW}/{@code NHWC} (convolutional), {@code NCW}/{@code NWC} (recurrent), or {@code null}. */
    @JsonProperty
    public String dataFormat() {
        return dataFormat;
    }

    /** The number of network inputs (1 but for a computation graph with several). */
    @JsonProperty
    public int inputs() {
        return inputs;
    }

    /** The number of network outputs (1 but for a computation graph with several). */
    @JsonProperty
    public int outputs() {
        return outputs;
    }

    /**
     * {@code NCW} or {@code NWC} when the model outputs one value per time step (an {@code RnnOutputLayer} or
     * {@code RnnLossLayer}): its labels are then sequences too; {@code null} for one output per record.
     */
    @JsonProperty
    public String sequenceOutput() {
        return sequenceOutput;
    }

    @JsonProperty("height")
    private Long heightOrNull() {
        return height == ANY ? null : height;
    }

    @JsonProperty("width")
    private Long widthOrNull() {
        return width == ANY ? null : width;
    }

    @JsonProperty("timeSteps")
    private Long timeStepsOrNull() {
        return timeSteps == ANY ? null : timeSteps;
    }

    /**
     * The floats one record's features flatten to when the model fixes them all (feed-forward size; height ×
     * width × channels; time steps × features); otherwise the part it fixes: the channels of a convolutional
     * input of any height and width, the features per time step of a recurrent input of any length; 0 if unknown.
     */
    public long inputSize() {
        return switch (kind) {
            case FEED_FORWARD, UNKNOWN -> size;
            case CONVOLUTIONAL, CONVOLUTIONAL_FLAT -> height > 0 && width > 0 ? height * width * size : size;
            case RECURRENT -> timeSteps > 0 ? timeSteps * size : size;
        };
    }

    /**
     * The input described in words with the record shape it takes, e.g. {@code convolutional [3, 3, 1]
     * (height, width, channels; network NHWC)} or {@code recurrent [any, 2] (time steps, features; network NCW)}.
     */
    public String describe() {
        return switch (kind) {
            case FEED_FORWARD -> "feed-forward [" + size + "]";
            case CONVOLUTIONAL, CONVOLUTIONAL_FLAT ->
                (kind == Kind.CONVOLUTIONAL ? "convolutional [" : "convolutional-flat [")
                        + dim(height) + ", " + dim(width) + ", " + dim(size) + "] (height, width, channels; network "
                        + (kind == Kind.CONVOLUTIONAL
                                ? dataFormat
                                : "flat " + dim(height * width * size) + " in CHW order")
                        + ")";
            case RECURRENT ->
                "recurrent [" + dim(timeSteps) + ", " + dim(size) + "] (time steps, features; network " + dataFormat
                        + ")";
            case UNKNOWN -> inputs > 1 ? inputs + " inputs" : "unknown (the first layer does not say)";
        };
    }

    /**
     * A record shape this layout takes whatever the stream (one time step for a recurrent input of any length), to
     * probe the network with; {@code null} when the layout leaves sizes to the stream.
     */
    long[] sampleRecordShape() {
        return switch (kind) {
            case FEED_FORWARD -> size > 0 ? new long[] {size} : null;
            case CONVOLUTIONAL, CONVOLUTIONAL_FLAT ->
                height > 0 && width > 0 && size > 0 ? new long[] {height, width, size} : null;
            case RECURRENT -> size > 0 ? new long[] {timeSteps > 0 ? timeSteps : 1, size} : null;
            case UNKNOWN -> null;
        };
    }

    private static String dim(long value) {
        return value > 0 ? String.valueOf(value) : "any";
    }

    /** The same layout with the sizes of {@code declared} filled in; the kinds and fixed sizes must agree. */
    InputLayout declare(InputLayout declared, String model) {
        if (kind == Kind.UNKNOWN) {
            return new InputLayout(
                    declared.kind,
                    declared.size,
                    declared.height,
                    declared.width,
                    declared.timeSteps,
                    declared.dataFormat,
                    inputs,
                    outputs,
                    sequenceOutput);
        }
        boolean sameKind = kind == declared.kind;
        boolean sameSize = size <= 0 || size == declared.size;
        boolean sameDims = (height <= 0 || height == declared.height)
                && (width <= 0 || width == declared.width)
                && (timeSteps <= 0 || timeSteps == declared.timeSteps);
        if (!sameKind || !sameSize || !sameDims) {
            throw new InvalidModelException("Model '" + model + "' takes " + describe()
                    + ", but its declared input type " + "is " + declared.describe());
        }
        if (dataFormat != null && declared.dataFormat != null && !dataFormat.equals(declared.dataFormat)) {
            throw new InvalidModelException("Model '" + model + "' takes " + describe() + ": its layers are "
                    + dataFormat
                    + ", but its declared input type is " + declared.dataFormat + " (" + declared.describe() + "); "
                    + "declare the input type in the network's data format, " + dataFormat);
        }
        return new InputLayout(
                kind,
                declared.size,
                declared.height,
                declared.width,
                declared.timeSteps,
                dataFormat != null ? dataFormat : declared.dataFormat,
                inputs,
                outputs,
                sequenceOutput);
    }

    // ---- reading the layout from a configuration ----

    /** The layout of a multi-layer network's configuration. */
    static InputLayout detect(MultiLayerConfiguration conf) {
        var confs = conf.getConfs();
        String sequence = sequenceFormat(confs.get(confs.size() - 1).getLayer());
        InputLayout found = null;
        for (int i = 0; i < confs.size() && found == null; i++) {
            Layer layer = confs.get(i).getLayer();
            InputPreProcessor pre = conf.getInputPreProcess(i);
            found = pre != null ? fromPreProcessor(pre, layer) : fromLayer(layer);
            if (found == null && !shapePreserving(layer)) {
                break;
            }
        }
        InputLayout layout = found != null ? found : unknown(1, 1);
        return layout.withOutputs(1, sequence);
    }

    /** The layout of a computation graph's configuration (its single input; see {@link #inputs()}). */
    static InputLayout detect(ComputationGraphConfiguration conf) {
        int inputCount = conf.getNetworkInputs().size();
        int outputCount = conf.getNetworkOutputs().size();
        String sequence = null;
        if (outputCount == 1 && conf.getVertices().get(conf.getNetworkOutputs().get(0)) instanceof LayerVertex lv) {
            sequence = sequenceFormat(lv.getLayerConf().getLayer());
        }
        if (inputCount != 1) {
            return unknown(inputCount, outputCount).withOutputs(outputCount, sequence);
        }
        String current = conf.getNetworkInputs().get(0);
        InputLayout found = null;
        for (int step = 0; step <= conf.getVertices().size() && found == null; step++) {
            List<String> consumers = new ArrayList<>();
            for (Map.Entry<String, List<String>> entry : conf.getVertexInputs().entrySet()) {
                if (entry.getValue().contains(current)) {
                    consumers.add(entry.getKey());
                }
            }
            consumers.sort(null);
            String next = null;
            for (String name : consumers) {
                GraphVertex vertex = conf.getVertices().get(name);
                if (vertex instanceof LayerVertex lv) {
                    Layer layer = lv.getLayerConf().getLayer();
                    InputLayout here = lv.getPreProcessor() != null
                            ? fromPreProcessor(lv.getPreProcessor(), layer)
                            : fromLayer(layer);
                    if (here != null) {
                        found = here;
                        break;
                    }
                    if (shapePreserving(layer) && consumers.size() == 1) {
                        next = name;
                    }
                } else if (vertex instanceof PreprocessorVertex pv) {
                    found = fromPreProcessor(pv.getPreProcessor(), null);
                    break;
                }
            }
            if (found == null && next == null) {
                break;
            }
            current = next;
        }
        return (found != null ? found : unknown(1, outputCount)).withOutputs(outputCount, sequence);
    }

    private InputLayout withOutputs(int outputCount, String sequence) {
        return new InputLayout(kind, size, height, width, timeSteps, dataFormat, inputs, outputCount, sequence);
    }

    private static InputLayout unknown(int inputCount, int outputCount) {
        return new InputLayout(Kind.UNKNOWN, 0, ANY, ANY, ANY, null, inputCount, outputCount, null);
    }

    private static String sequenceFormat(Layer layer) {
        if (layer instanceof RnnOutputLayer rnn) {
            return rnn.getRnnDataFormat() == null
                    ? RNNFormat.NCW.name()
                    : rnn.getRnnDataFormat().name();
        }
        if (layer instanceof RnnLossLayer rnn) {
            return rnn.getRnnDataFormat() == null
                    ? RNNFormat.NCW.name()
                    : rnn.getRnnDataFormat().name();
        }
        return null;
    }

    /** Layers whose output has the shape of their input: the input is found behind them. */
    private static boolean shapePreserving(Layer layer) {
        return layer instanceof DropoutLayer
                || layer instanceof ActivationLayer
                || layer instanceof BatchNormalization
                || layer instanceof LocalResponseNormalization;
    }

    private static InputLayout fromPreProcessor(InputPreProcessor pre, Layer layer) {
        if (pre instanceof FeedForwardToCnnPreProcessor ff) {
            return convolutionalFlat(ff.getInputHeight(), ff.getInputWidth(), ff.getNumChannels());
        }
        if (pre instanceof CnnToFeedForwardPreProcessor cnn) {
            return convolutional(
                    cnn.getInputHeight(),
                    cnn.getInputWidth(),
                    cnn.getNumChannels(),
                    cnn.getFormat() == null ? CNN2DFormat.NCHW : cnn.getFormat());
        }
        if (pre instanceof RnnToFeedForwardPreProcessor rnn) {
            long features = layer instanceof FeedForwardLayer ff && ff.getNIn() > 0 ? ff.getNIn() : 0;
            return recurrent(features, ANY, rnn.getRnnDataFormat() == null ? RNNFormat.NCW : rnn.getRnnDataFormat());
        }
        if (pre instanceof FeedForwardToRnnPreProcessor && layer instanceof FeedForwardLayer ff && ff.getNIn() > 0) {
            return feedForward(ff.getNIn());
        }
        return unknown(1, 1);
    }

    /** The input a first layer takes, or {@code null} when it is shape-preserving and says nothing. */
    private static InputLayout fromLayer(Layer layer) {
        if (layer instanceof FrozenLayer frozen) {
            return fromLayer(frozen.getLayer());
        }
        if (layer instanceof BaseWrapperLayer wrapper) {
            return fromLayer(wrapper.getUnderlying());
        }
        if (layer instanceof Bidirectional bidirectional) {
            InputLayout inner = fromLayer(bidirectional.getFwd());
            return inner != null && inner.kind == Kind.RECURRENT && bidirectional.getRNNDataFormat() != null
                    ? recurrent(inner.size, ANY, bidirectional.getRNNDataFormat())
                    : inner;
        }
        if (layer instanceof Convolution1DLayer conv) {
            return recurrent(
                    conv.getNIn(), ANY, conv.getRnnDataFormat() == null ? RNNFormat.NCW : conv.getRnnDataFormat());
        }
        if (layer instanceof Convolution3D) {
            return unknown(1, 1);
        }
        if (layer instanceof ConvolutionLayer conv) {
            return convolutional(
                    ANY,
                    ANY,
                    conv.getNIn(),
                    conv.getCnn2dDataFormat() == null ? CNN2DFormat.NCHW : conv.getCnn2dDataFormat());
        }
        if (layer instanceof BaseRecurrentLayer rnn) {
            return recurrent(
                    rnn.getNIn(), ANY, rnn.getRnnDataFormat() == null ? RNNFormat.NCW : rnn.getRnnDataFormat());
        }
        if (layer instanceof RnnOutputLayer rnn) {
            return recurrent(
                    rnn.getNIn(), ANY, rnn.getRnnDataFormat() == null ? RNNFormat.NCW : rnn.getRnnDataFormat());
        }
        if (layer instanceof EmbeddingSequenceLayer sequence) {
            return sequence.getInputLength() > 0 ? feedForward(sequence.getInputLength()) : unknown(1, 1);
        }
        if (layer instanceof EmbeddingLayer) {
            return feedForward(1); // one class index per record
        }
        if (shapePreserving(layer)) {
            return null;
        }
        if (layer instanceof FeedForwardLayer ff && ff.getNIn() > 0) {
            return feedForward(ff.getNIn());
        }
        return unknown(1, 1);
    }

    // ---- binding to a stream ----

    /**
     * Matches a stream's record shape against this layout.
     *
     * @param recordShape one record's feature shape as the stream declares it (its {@code data_reshape};
     *        {@code [n]} for n flat values)
     * @return how to lay out batches of such records for the network
     * @throws InputShapeException if the records cannot be this model's input, naming both shapes
     * @throws InvalidModelException if the model has several inputs or outputs (a computation graph kafkaml cannot
     *         feed from one stream)
     */
    public Binding bind(long[] recordShape) {
        return bind(recordShape, KafkaMlConfig.DEFAULT_MAX_RECORD_VALUES);
    }

    /**
     * Matches a stream's record shape against this layout, refusing records of more than {@code maxRecordValues}
     * values when the model leaves their number to the stream ({@value KafkaMlConfig#MAX_RECORD_VALUES_CONFIG}).
     * The limit is checked before anything is allocated; a record whose every size the model fixes is not limited.
     *
     * @param recordShape one record's feature shape as the stream declares it (its {@code data_reshape};
     *        {@code [n]} for n flat values)
     * @param maxRecordValues the most values a record may hold when the model does not fix them, at least 1
     * @return how to lay out batches of such records for the network
     * @throws InputShapeException if the records cannot be this model's input, naming both shapes, or hold more
     *         values than the limit, naming it
     * @throws InvalidModelException if the model has several inputs or outputs
     */
    public Binding bind(long[] recordShape, long maxRecordValues) {
        long[] shape = recordShape.length == 0 ? new long[] {1} : recordShape.clone();
        if (inputs != 1 || outputs != 1) {
            throw new InvalidModelException("The model has " + inputs + " input" + (inputs == 1 ? "" : "s") + " and "
                    + outputs + " output" + (outputs == 1 ? "" : "s")
                    + "; kafkaml feeds each stream record to a single "
                    + "input and trains a single output. A model with several inputs needs its records split into one "
                    + "array per input (a MultiDataSet), which kafkaml does not do yet: merge the inputs into one "
                    + "(e.g. concatenate them in the stream and split them with a SubsetVertex inside the graph)");
        }
        long elements = 1;
        for (long d : shape) {
            if (d <= 0) {
                throw mismatch(shape, "every size of a record must be at least 1");
            }
            elements = elements > Long.MAX_VALUE / d ? Long.MAX_VALUE : elements * d;
        }
        if (elements > maxRecordValues && elements != fixedRecordValues()) {
            String stream = Arrays.toString(shape);
            throw new InputShapeException(
                    "The stream's records have shape " + stream + ", "
                            + (elements == Long.MAX_VALUE ? "more than " + Long.MAX_VALUE : String.valueOf(elements))
                            + " values, over the limit of " + maxRecordValues + " values per record ("
                            + KafkaMlConfig.MAX_RECORD_VALUES_CONFIG + ") for a model that takes " + describe()
                            + ": raise " + KafkaMlConfig.MAX_RECORD_VALUES_CONFIG
                            + " or declare the model's input sizes "
                            + "(ModelDefinition.withInputType)",
                    describe(),
                    stream);
        }
        switch (kind) {
            case UNKNOWN:
                return new Binding(this, shape, new long[] {elements}, null, ANY);
            case FEED_FORWARD:
                if (elements == size) {
                    return new Binding(this, shape, new long[] {size}, null, ANY);
                }
                throw mismatch(
                        shape, "the model takes " + size + " features per record and the record has " + elements);
            case CONVOLUTIONAL_FLAT: {
                long c = size;
                long total = height * width * c;
                boolean channelsLast = shape.length == 3 && shape[0] == height && shape[1] == width && shape[2] == c;
                boolean channelsFirst = shape.length == 3 && shape[0] == c && shape[1] == height && shape[2] == width;
                if (channelsFirst && !channelsLast) {
                    // [channels, height, width]: already the CHW order DL4J's FeedForwardToCnnPreProcessor takes
                    return new Binding(this, shape, new long[] {total}, null, ANY);
                }
                if (elements == total && (channelsLast || shape.length != 3)) {
                    // [height, width, channels], [height, width] or flat: numpy C order of an HWC image
                    return new Binding(
                            this,
                            new long[] {height, width, c},
                            new long[] {total},
                            c == 1 ? null : new int[] {2, 0, 1},
                            ANY);
                }
                throw mismatch(shape, "the model takes " + total + " values per record and the record has " + elements);
            }
            case CONVOLUTIONAL:
                return bindConvolutional(shape, elements);
            case RECURRENT:
                return bindRecurrent(shape, elements);
            default:
                throw new IllegalStateException(kind.name());
        }
    }

    /** The values of a record when the model fixes every size of its input; -1 when it leaves some to the stream. */
    private long fixedRecordValues() {
        return switch (kind) {
            case FEED_FORWARD -> size > 0 ? size : -1;
            case CONVOLUTIONAL, CONVOLUTIONAL_FLAT -> height > 0 && width > 0 && size > 0 ? height * width * size : -1;
            case RECURRENT -> timeSteps > 0 && size > 0 ? timeSteps * size : -1;
            case UNKNOWN -> -1;
        };
    }

    private Binding bindConvolutional(long[] shape, long elements) {
        long c = size;
        boolean nhwc = CNN2DFormat.NHWC.name().equals(dataFormat);
        long[] hwc = null;
        boolean channelsFirst = false;
        boolean last = shape.length == 3 && fits(shape[2], c) && fits(shape[0], height) && fits(shape[1], width);
        boolean first = shape.length == 3 && fits(shape[0], c) && fits(shape[1], height) && fits(shape[2], width);
        if (last && first) {
            boolean cube = shape[0] == shape[1] && shape[1] == shape[2];
            if (!cube) {
                // Declaring the height and width tells the two readings apart, so the stream alone must not decide.
                throw mismatch(
                        shape,
                        "the shape reads both as [height, width, channels] (" + shape[0] + " × " + shape[1]
                                + ", " + shape[2] + " channels) and as [channels, height, width] (" + shape[1] + " × "
                                + shape[2] + ", " + shape[0] + " channels); declare the model's height and width "
                                + "(ModelDefinition.withInputType) to say which");
            }
            // [n, n, n]: no declaration can tell; Kafka-ML's (numpy, Keras) order is channels-last.
            log.info(
                    "Records of shape {} are read as [height, width, channels], Kafka-ML's order; "
                            + "[channels, height, width] would fit {} too",
                    Arrays.toString(shape),
                    describe());
        }
        if (last) {
            hwc = shape;
        } else if (first) {
            hwc = new long[] {shape[1], shape[2], shape[0]};
            channelsFirst = true;
        } else if (shape.length == 2 && c == 1 && fits(shape[0], height) && fits(shape[1], width)) {
            hwc = new long[] {shape[0], shape[1], 1};
        } else if (shape.length == 1 && height > 0 && width > 0 && elements == height * width * c) {
            // flat: numpy C order of an [height, width, channels] image, as Kafka-ML sends it
            hwc = new long[] {height, width, c};
        }
        if (hwc == null) {
            String why = shape.length == 1
                    ? "a flat record needs the model's height and width: declare them "
                            + "(ModelDefinition.withInputType) or send the records with data_reshape \"height width channels\""
                    : "records are read as [height, width, channels] (or [channels, height, width])";
            throw mismatch(shape, why);
        }
        long[] record = channelsFirst ? new long[] {hwc[2], hwc[0], hwc[1]} : hwc;
        long[] network = nhwc ? hwc : new long[] {hwc[2], hwc[0], hwc[1]};
        int[] permutation = null;
        if (hwc[2] != 1 && channelsFirst == nhwc) {
            permutation = channelsFirst ? new int[] {1, 2, 0} : new int[] {2, 0, 1};
        }
        return new Binding(this, record, network, permutation, ANY);
    }

    private Binding bindRecurrent(long[] shape, long elements) {
        long f = size;
        boolean nwc = RNNFormat.NWC.name().equals(dataFormat);
        long steps;
        boolean featuresFirst = false;
        if (shape.length == 2 && fits(shape[1], f) && fits(shape[0], timeSteps)) {
            if (f > 1 && fits(shape[0], f) && fits(shape[1], timeSteps)) {
                // [n, n] with n features: no declaration can tell; Kafka-ML's (Keras) order is [time steps, features].
                log.info(
                        "Records of shape {} are read as [time steps, features], Kafka-ML's order; "
                                + "[features, time steps] would fit {} too",
                        Arrays.toString(shape),
                        describe());
            }
            steps = shape[0];
        } else if (shape.length == 2 && fits(shape[0], f) && fits(shape[1], timeSteps)) {
            steps = shape[1];
            featuresFirst = true;
        } else if (shape.length == 1 && timeSteps > 0 && f > 0 && elements == timeSteps * f) {
            steps = timeSteps;
        } else if (shape.length == 1 && f == 1 && fits(elements, timeSteps)) {
            steps = elements; // a univariate series
        } else if (shape.length == 1 && f > 0 && elements == f && fits(1, timeSteps)) {
            steps = 1;
        } else {
            throw mismatch(shape, "records are read as [time steps, features] (or [features, time steps])");
        }
        long features = elements / steps;
        long[] record = featuresFirst ? new long[] {features, steps} : new long[] {steps, features};
        long[] network = nwc ? new long[] {steps, features} : new long[] {features, steps};
        int[] permutation = features != 1 && steps != 1 && featuresFirst == nwc ? new int[] {1, 0} : null;
        return new Binding(this, record, network, permutation, steps);
    }

    private static boolean fits(long actual, long expected) {
        return expected <= 0 || actual == expected;
    }

    private InputShapeException mismatch(long[] shape, String why) {
        String stream = Arrays.toString(shape);
        return new InputShapeException(
                "The model takes " + describe() + " but the stream's records have shape " + stream + ": " + why,
                describe(),
                stream);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof InputLayout other
                && kind == other.kind
                && size == other.size
                && height == other.height
                && width == other.width
                && timeSteps == other.timeSteps
                && Objects.equals(dataFormat, other.dataFormat)
                && inputs == other.inputs
                && outputs == other.outputs
                && Objects.equals(sequenceOutput, other.sequenceOutput);
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, size, height, width, timeSteps, dataFormat, inputs, outputs, sequenceOutput);
    }

    @Override
    public String toString() {
        return describe() + (sequenceOutput != null ? ", one output per time step (" + sequenceOutput + ")" : "");
    }

    /**
     * A layout matched to a stream's record shape: lays out batches of flat records (numpy C order, as decoded)
     * the way the network takes them. The one place where kafkaml turns records into network input, used by
     * training ({@code TrainingRunner}, {@code StreamDataSets}) and serving ({@code ServedModel}).
     *
     * <p>Immutable and thread-safe.
     */
    public static final class Binding {
        private final InputLayout layout;
        private final long[] recordShape;
        private final long[] networkShape;
        private final int[] permutation;
        private final long timeSteps;
        private final int featureCount;

        private Binding(
                InputLayout layout, long[] recordShape, long[] networkShape, int[] permutation, long timeSteps) {
            this.layout = layout;
            this.recordShape = recordShape;
            this.networkShape = networkShape;
            this.permutation = permutation;
            this.timeSteps = timeSteps;
            long count = 1;
            for (long d : networkShape) {
                count *= d;
            }
            this.featureCount = Math.toIntExact(count);
        }

        /** The layout bound. */
        public InputLayout layout() {
            return layout;
        }

        /** The floats per record. */
        public int featureCount() {
            return featureCount;
        }

        /** The time steps of a recurrent input ({@link InputLayout#ANY} for other kinds). */
        public long timeSteps() {
            return timeSteps;
        }

        /** The shape of a batch of {@code rows} records as the network takes it. */
        public long[] batchShape(int rows) {
            long[] shape = new long[networkShape.length + 1];
            shape[0] = rows;
            System.arraycopy(networkShape, 0, shape, 1, networkShape.length);
            return shape;
        }

        /**
         * Lays out a batch.
         *
         * @param rows {@code [batch, featureCount]} decoded records, one per row (numpy C order within a record)
         * @return the network's input, {@link #batchShape(int)}; {@code rows} itself when it is already that
         */
        public INDArray features(INDArray rows) {
            int n = (int) rows.size(0);
            if (networkShape.length == 1) {
                if (permutation == null) {
                    return rows;
                }
                return permuted(rows, n).reshape('c', n, featureCount);
            }
            if (permutation == null) {
                return rows.reshape('c', batchShape(n));
            }
            return permuted(rows, n);
        }

        private INDArray permuted(INDArray rows, int n) {
            long[] shape = new long[recordShape.length + 1];
            shape[0] = n;
            System.arraycopy(recordShape, 0, shape, 1, recordShape.length);
            int[] axes = new int[permutation.length + 1];
            for (int i = 0; i < permutation.length; i++) {
                axes[i + 1] = permutation[i] + 1;
            }
            return rows.reshape('c', shape).permute(axes).dup('c');
        }

        /**
         * Lays out {@code rows} records held flat in {@code values} (row after row), copying them in bulk.
         */
        public INDArray features(float[] values, int rows) {
            INDArray flat = Nd4j.createUninitialized(DataType.FLOAT, rows, featureCount);
            flat.data().asNioFloat().put(values, 0, rows * featureCount);
            return features(flat);
        }

        /**
         * Lays out a batch of labels for a model with one output per time step
         * ({@link InputLayout#sequenceOutput()}): records' labels {@code [time steps, outputs]} (C order) become
         * {@code [batch, outputs, time]} (NCW) or {@code [batch, time, outputs]} (NWC); other models' labels are
         * returned as they are ({@code [batch, outputs]}).
         *
         * @throws InputShapeException if the labels do not hold one row per time step
         */
        public INDArray labels(INDArray rows) {
            if (layout.sequenceOutput == null || rows == null) {
                return rows;
            }
            int n = (int) rows.size(0);
            long perRecord = rows.size(1);
            if (timeSteps <= 0 || perRecord % timeSteps != 0) {
                throw new InputShapeException(
                        "The model outputs one value per time step, so each record needs a label " + "per step: "
                                + timeSteps + " steps, but the labels have " + perRecord + " values per record",
                        layout.describe(),
                        "labels [" + perRecord + "]");
            }
            long outputsPerStep = perRecord / timeSteps;
            INDArray nwc = rows.reshape('c', n, timeSteps, outputsPerStep);
            return RNNFormat.NWC.name().equals(layout.sequenceOutput)
                    ? nwc
                    : nwc.permute(0, 2, 1).dup('c');
        }

        /**
         * Runs one record of zeros through {@code network}, to find before training or serving what DL4J would
         * refuse (sizes of later layers that do not fit this height and width, for instance).
         *
         * @throws InputShapeException naming the model's and the stream's shapes and DL4J's reason
         */
        public void check(Model network, String modelName) {
            INDArray zeros = Nd4j.zeros(DataType.FLOAT, batchShape(1));
            try {
                if (network instanceof MultiLayerNetwork mln) {
                    mln.output(zeros, false);
                } else {
                    ((ComputationGraph) network).outputSingle(false, zeros);
                }
            } catch (RuntimeException e) {
                String stream = Arrays.toString(recordShape);
                throw new InputShapeException(
                        "Model '" + modelName + "' takes " + layout.describe() + " but cannot take "
                                + "the stream's records of shape " + stream + " (fed as "
                                + Arrays.toString(batchShape(1))
                                + "): " + ModelDefinition.reason(e),
                        layout.describe(),
                        stream,
                        e);
            }
        }

        /** The record shape and the network shape, e.g. {@code [3, 3, 1] -> [batch, 3, 3, 1]}. */
        @Override
        public String toString() {
            return Arrays.toString(recordShape) + " -> [batch, "
                    + Arrays.toString(networkShape).substring(1).toLowerCase(Locale.ROOT);
        }
    }
}
