package io.kafkaml.samples.realdata;

import io.kafkaml.format.raw.RawDataSink;
import io.kafkaml.format.raw.RawType;
import io.kafkaml.training.Normalization;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * The four real-data samples: what each reads, how its records are sent (RAW types and {@code data_reshape}), its
 * model, and the layout plain DL4J gives the same rows in memory.
 *
 * <p>Each model is a DL4J {@link MultiLayerConfiguration} whose declared input type tells kafkaml how to lay out the
 * stream's records: feed-forward rows, convolutional NCHW images, or recurrent {@code [batch, features, time]}
 * sequences.
 */
public enum Sample {

    /**
     * Digits as 8×8 images, sent as RAW {@code uint8} with {@code data_reshape "8 8"}, through a small CNN
     * ({@code InputType.convolutional(8, 8, 1)}: NCHW {@code [batch, 1, 8, 8]}).
     */
    DIGITS_CNN(
            "digits-cnn",
            "8x8 digit images (RAW uint8, data_reshape \"8 8\") through a CNN",
            LabelKind.CLASSES,
            Normalization.NONE,
            32,
            30) {
        @Override
        public Table load(Path dataDirectory, int maxRows) {
            return head(RealData.digits(dataDirectory), maxRows);
        }

        @Override
        public MultiLayerConfiguration model(long seed) {
            return new NeuralNetConfiguration.Builder()
                    .seed(seed)
                    .updater(new Adam(1e-3))
                    .weightInit(WeightInit.RELU)
                    .list()
                    .layer(new ConvolutionLayer.Builder(3, 3)
                            .nOut(16)
                            .convolutionMode(ConvolutionMode.Same)
                            .activation(Activation.RELU)
                            .build())
                    .layer(new SubsamplingLayer.Builder(PoolingType.MAX)
                            .kernelSize(2, 2)
                            .stride(2, 2)
                            .build())
                    .layer(new DenseLayer.Builder()
                            .nOut(64)
                            .activation(Activation.RELU)
                            .build())
                    .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                            .nOut(10)
                            .activation(Activation.SOFTMAX)
                            .weightInit(WeightInit.XAVIER)
                            .build())
                    .setInputType(InputType.convolutional(8, 8, 1))
                    .build();
        }

        @Override
        void configure(RawDataSink.Builder sink) {
            sink.dataType(RawType.UINT8).dataShape(8, 8).labelType(RawType.UINT8);
        }

        @Override
        public INDArray layout(float[][] rows) {
            // pixel 8 × row + column is [channel 0, row, column]: the row-major 8×8 image is already NCHW's order
            return Nd4j.createFromArray(rows).reshape('c', rows.length, 1, 8, 8);
        }
    },

    /**
     * The same digits as sequences: 8 time steps (image rows) of 8 features (the row's pixels), RAW {@code uint8}
     * with {@code data_reshape "8 8"} (time, features as Keras has it), through an LSTM whose last step feeds a
     * softmax ({@code InputType.recurrent(8, 8)}: DL4J's {@code [batch, features, time]}).
     */
    DIGITS_LSTM(
            "digits-lstm",
            "digits as 8 steps of 8 features (RAW uint8, data_reshape \"8 8\") through an LSTM",
            LabelKind.CLASSES,
            Normalization.NONE,
            32,
            30) {
        @Override
        public Table load(Path dataDirectory, int maxRows) {
            return head(RealData.digits(dataDirectory), maxRows);
        }

        @Override
        public MultiLayerConfiguration model(long seed) {
            return new NeuralNetConfiguration.Builder()
                    .seed(seed)
                    .updater(new Adam(5e-3))
                    .weightInit(WeightInit.XAVIER)
                    .list()
                    .layer(new LastTimeStep(new LSTM.Builder()
                            .nIn(8)
                            .nOut(64)
                            .activation(Activation.TANH)
                            .build()))
                    .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                            .nIn(64)
                            .nOut(10)
                            .activation(Activation.SOFTMAX)
                            .build())
                    .setInputType(InputType.recurrent(8, 8))
                    .build();
        }

        @Override
        void configure(RawDataSink.Builder sink) {
            sink.dataType(RawType.UINT8).dataShape(8, 8).labelType(RawType.UINT8);
        }

        @Override
        public INDArray layout(float[][] rows) {
            // the record is [time][feature] (C order); DL4J's recurrent layout is [batch, feature, time]
            return Nd4j.createFromArray(rows)
                    .reshape('c', rows.length, 8, 8)
                    .permute(0, 2, 1)
                    .dup('c');
        }
    },

    /**
     * The NO3 soft sensor: nitrate (mg/L) from alkalinity, conductivity, pH and suspended solids, RAW
     * {@code float32}, through a two-layer MLP with a linear output and MSE; features standardized.
     */
    NO3(
            "no3",
            "NO3 soft sensor regression (RAW float32, 4 features) through an MLP",
            LabelKind.REGRESSION,
            Normalization.STANDARDIZE,
            64,
            20) {
        @Override
        public Table load(Path dataDirectory, int maxRows) {
            return RealData.no3(dataDirectory, maxRows);
        }

        @Override
        public MultiLayerConfiguration model(long seed) {
            return new NeuralNetConfiguration.Builder()
                    .seed(seed)
                    .updater(new Adam(1e-3))
                    .weightInit(WeightInit.XAVIER)
                    .list()
                    .layer(new DenseLayer.Builder()
                            .nIn(4)
                            .nOut(64)
                            .activation(Activation.RELU)
                            .build())
                    .layer(new DenseLayer.Builder()
                            .nIn(64)
                            .nOut(32)
                            .activation(Activation.RELU)
                            .build())
                    .layer(new OutputLayer.Builder(LossFunction.MSE)
                            .nIn(32)
                            .nOut(1)
                            .activation(Activation.IDENTITY)
                            .build())
                    .build();
        }

        @Override
        void configure(RawDataSink.Builder sink) {
            sink.dataType(RawType.FLOAT32).dataShape(4).labelType(RawType.FLOAT32);
        }

        @Override
        public INDArray layout(float[][] rows) {
            return Nd4j.createFromArray(rows);
        }
    },

    /**
     * Wisconsin breast cancer (30 features, malignant 0 / benign 1), RAW {@code float32} with a {@code uint8}
     * label, through a binary classifier with one sigmoid output and binary cross-entropy; features standardized.
     */
    BREAST_CANCER(
            "breast-cancer",
            "breast cancer (RAW float32, 30 features) through one sigmoid unit (XENT)",
            LabelKind.BINARY,
            Normalization.STANDARDIZE,
            16,
            50) {
        @Override
        public Table load(Path dataDirectory, int maxRows) {
            return head(RealData.breastCancer(dataDirectory), maxRows);
        }

        @Override
        public MultiLayerConfiguration model(long seed) {
            return new NeuralNetConfiguration.Builder()
                    .seed(seed)
                    .updater(new Adam(1e-3))
                    .weightInit(WeightInit.XAVIER)
                    .list()
                    .layer(new DenseLayer.Builder()
                            .nIn(30)
                            .nOut(16)
                            .activation(Activation.RELU)
                            .build())
                    .layer(new OutputLayer.Builder(LossFunction.XENT)
                            .nIn(16)
                            .nOut(1)
                            .activation(Activation.SIGMOID)
                            .build())
                    .build();
        }

        @Override
        void configure(RawDataSink.Builder sink) {
            sink.dataType(RawType.FLOAT32).dataShape(30).labelType(RawType.UINT8);
        }

        @Override
        public INDArray layout(float[][] rows) {
            return Nd4j.createFromArray(rows);
        }
    };

    /** What a sample's labels are, and so how they are sent, encoded for DL4J and scored. */
    public enum LabelKind {
        /** A class index, one-hot for a softmax output; scored by accuracy and f1. */
        CLASSES,
        /** 0 or 1 for one sigmoid output, class 1 when the output is at least 0.5; scored by accuracy and f1. */
        BINARY,
        /** A real value for a linear output; scored by mse, mae and r2. */
        REGRESSION
    }

    private final String id;
    private final String description;
    private final LabelKind labelKind;
    private final Normalization normalization;
    private final int batchSize;
    private final int epochs;

    Sample(String id, String description, LabelKind labelKind, Normalization normalization, int batchSize, int epochs) {
        this.id = id;
        this.description = description;
        this.labelKind = labelKind;
        this.normalization = normalization;
        this.batchSize = batchSize;
        this.epochs = epochs;
    }

    /** Reads the sample's data set from {@code dataDirectory}: all rows, or the first {@code maxRows} (0: all). */
    public abstract Table load(Path dataDirectory, int maxRows);

    /** The sample's model, its weights initialised from {@code seed}. */
    public abstract MultiLayerConfiguration model(long seed);

    /** Sets the sink's RAW data type and shape ({@code data_type}, {@code data_reshape}) and label type. */
    abstract void configure(RawDataSink.Builder sink);

    /** The rows as plain DL4J gives them to this model: {@code [n, f]}, NCHW {@code [n, 1, 8, 8]} or {@code [n, 8, 8]}. */
    public abstract INDArray layout(float[][] rows);

    /** The name used on the command line and in topic and model names. */
    public String id() {
        return id;
    }

    /** One line about the sample. */
    public String description() {
        return description;
    }

    /** What the labels are. */
    public LabelKind labelKind() {
        return labelKind;
    }

    /** How the training deployment (and plain DL4J alike) normalizes the features, fitted on the training split. */
    public Normalization normalization() {
        return normalization;
    }

    /** The training batch size. */
    public int batchSize() {
        return batchSize;
    }

    /** The epochs of a full run. */
    public int epochs() {
        return epochs;
    }

    /**
     * The sample with this {@link #id()}.
     *
     * @throws IllegalArgumentException naming the known ids
     */
    public static Sample of(String id) {
        for (Sample sample : values()) {
            if (sample.id.equals(id.toLowerCase(Locale.ROOT))) {
                return sample;
            }
        }
        throw new IllegalArgumentException("Unknown sample '" + id + "'; known: "
                + Arrays.stream(values()).map(Sample::id).collect(Collectors.joining(", ")));
    }

    private static Table head(Table table, int maxRows) {
        if (maxRows <= 0 || maxRows >= table.rows()) {
            return table;
        }
        int[] rows = new int[maxRows];
        for (int i = 0; i < maxRows; i++) {
            rows[i] = i;
        }
        return table.select(rows);
    }
}
