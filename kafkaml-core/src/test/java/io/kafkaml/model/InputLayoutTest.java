package io.kafkaml.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.kafkaml.config.KafkaMlConfig;
import java.util.Arrays;
import java.util.Map;
import org.apache.kafka.common.config.ConfigException;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

class InputLayoutTest {

    /** A CNN built for 4×4 images of 2 channels; the JSON keeps the channels but not the height and width. */
    static MultiLayerConfiguration cnn(CNN2DFormat format) {
        return new NeuralNetConfiguration.Builder()
                .seed(1)
                .list()
                .layer(new ConvolutionLayer.Builder(2, 2)
                        .nOut(3)
                        .dataFormat(format)
                        .activation(Activation.RELU)
                        .build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                        .nOut(2)
                        .activation(Activation.SOFTMAX)
                        .build())
                .setInputType(InputType.convolutional(4, 4, 2, format))
                .build();
    }

    static MultiLayerConfiguration lstm(RNNFormat format, boolean perStep) {
        var builder = new NeuralNetConfiguration.Builder().seed(1).list();
        if (perStep) {
            builder.layer(new LSTM.Builder().nOut(4).dataFormat(format).build())
                    .layer(new RnnOutputLayer.Builder(LossFunction.MSE)
                            .nOut(1)
                            .dataFormat(format)
                            .activation(Activation.IDENTITY)
                            .build());
        } else {
            builder.layer(new LastTimeStep(
                            new LSTM.Builder().nOut(4).dataFormat(format).build()))
                    .layer(new OutputLayer.Builder(LossFunction.MSE)
                            .nOut(1)
                            .activation(Activation.IDENTITY)
                            .build());
        }
        return builder.setInputType(InputType.recurrent(3, 5, format)).build();
    }

    @Test
    void aModelStartingWithDropoutRegistersWithItsRealInputSize() {
        // As Keras imports the paper's HCOPD model: the Dropout layer has no nIn.
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                .list()
                .layer(new DropoutLayer.Builder(0.8).build())
                .layer(new DenseLayer.Builder()
                        .nIn(3)
                        .nOut(4)
                        .activation(Activation.SIGMOID)
                        .build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                        .nIn(4)
                        .nOut(2)
                        .activation(Activation.SOFTMAX)
                        .build())
                .build();
        ModelSummary summary = ModelDefinition.of("hcopd", "", conf).summary();
        assertThat(summary.inputSize()).isEqualTo(3);
        assertThat(summary.inputLayout()).isEqualTo(InputLayout.feedForward(3));
    }

    @Test
    void convolutionalModelsAreLaidOutInTheirDataFormat() {
        for (CNN2DFormat format : CNN2DFormat.values()) {
            ModelDefinition model = ModelDefinition.of("cnn", "", cnn(format));
            InputLayout layout = model.summary().inputLayout();
            assertThat(layout.kind()).isEqualTo(InputLayout.Kind.CONVOLUTIONAL);
            assertThat(layout.size()).isEqualTo(2);
            assertThat(layout.dataFormat()).isEqualTo(format.name());
            assertThat(layout.height()).isEqualTo(InputLayout.ANY);

            // A record [height, width, channels] in C order, as Kafka-ML and numpy send an image.
            float[] record = new float[4 * 4 * 2];
            for (int i = 0; i < record.length; i++) {
                record[i] = i;
            }
            InputLayout.Binding binding = layout.bind(new long[] {4, 4, 2});
            INDArray input = binding.features(record, 1);
            INDArray hwc = Nd4j.createFromArray(record).reshape(1, 4, 4, 2);
            if (format == CNN2DFormat.NCHW) {
                assertThat(input.shape()).containsExactly(1, 2, 4, 4);
                assertThat(input.getFloat(0, 1, 2, 3)).isEqualTo(hwc.getFloat(0, 2, 3, 1));
            } else {
                assertThat(input.shape()).containsExactly(1, 4, 4, 2);
                assertThat(input.getFloat(0, 2, 3, 1)).isEqualTo(hwc.getFloat(0, 2, 3, 1));
            }
            binding.check(model.newNetwork(), "cnn");
            // Declaring the input type records the height and width.
            ModelDefinition declared = model.withInputType(InputType.convolutional(4, 4, 2, format));
            assertThat(declared.summary().inputSize()).isEqualTo(32);
            assertThat(declared.summary().inputLayout().describe())
                    .isEqualTo("convolutional [4, 4, 2] (height, width, channels; network " + format + ")");
        }
    }

    @Test
    void aMismatchIsRefusedNamingBothShapes() {
        InputLayout layout =
                ModelDefinition.of("cnn", "", cnn(CNN2DFormat.NCHW)).summary().inputLayout();
        assertThatThrownBy(() -> layout.bind(new long[] {5, 2}))
                .isInstanceOf(InputShapeException.class)
                .hasMessageContaining("convolutional [any, any, 2]")
                .hasMessageContaining("[5, 2]");
        // Channels agree but the image is too small for the network's later layers: found by a forward pass.
        ModelDefinition model = ModelDefinition.of("cnn", "", cnn(CNN2DFormat.NCHW));
        assertThatThrownBy(() -> layout.bind(new long[] {3, 3, 2}).check(model.newNetwork(), "cnn"))
                .isInstanceOf(InputShapeException.class)
                .hasMessageContaining("Model 'cnn' takes convolutional")
                .hasMessageContaining("[3, 3, 2]");
        assertThatThrownBy(() -> model.withInputType(InputType.recurrent(2, 5)))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("declared input type is recurrent");
    }

    /** A CNN of 3 channels, any height and width. */
    static MultiLayerConfiguration rgb(CNN2DFormat format) {
        return new NeuralNetConfiguration.Builder()
                .seed(1)
                .list()
                .layer(new ConvolutionLayer.Builder(2, 2)
                        .nOut(2)
                        .dataFormat(format)
                        .activation(Activation.RELU)
                        .build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                        .nOut(2)
                        .activation(Activation.SOFTMAX)
                        .build())
                .setInputType(InputType.convolutional(4, 5, 3, format))
                .build();
    }

    static float[] counting(int n) {
        float[] values = new float[n];
        for (int i = 0; i < values.length; i++) {
            values[i] = i;
        }
        return values;
    }

    @Test
    void flatAndChannelsFirstImagesOfSeveralChannelsAreLaidOutLikeAHandMadePermute() {
        float[] record = counting(4 * 5 * 3); // one image, H=4, W=5, C=3
        INDArray hwc = Nd4j.createFromArray(record).reshape('c', 1, 4, 5, 3); // Kafka-ML/numpy order of [h, w, c]
        INDArray chw = Nd4j.createFromArray(record).reshape('c', 1, 3, 4, 5); // the same values sent [c, h, w]
        for (CNN2DFormat format : CNN2DFormat.values()) {
            ModelDefinition model =
                    ModelDefinition.of("rgb", "", rgb(format)).withInputType(InputType.convolutional(4, 5, 3, format));
            InputLayout layout = model.summary().inputLayout();
            boolean nchw = format == CNN2DFormat.NCHW;
            INDArray fromHwc = nchw ? hwc.permute(0, 3, 1, 2) : hwc;
            INDArray fromChw = nchw ? chw : chw.permute(0, 2, 3, 1);
            for (long[] shape : new long[][] {{4, 5, 3}, {60}}) {
                InputLayout.Binding binding = layout.bind(shape);
                assertThat(binding.features(record, 1))
                        .as("%s record %s", format, Arrays.toString(shape))
                        .isEqualTo(fromHwc.dup('c'));
                binding.check(model.newNetwork(), "rgb");
            }
            InputLayout.Binding channelsFirst = layout.bind(new long[] {3, 4, 5});
            assertThat(channelsFirst.features(record, 1))
                    .as("%s record [3, 4, 5]", format)
                    .isEqualTo(fromChw.dup('c'));
        }
        // A flat-input CNN (FeedForwardToCnnPreProcessor) takes rows in CHW order.
        MultiLayerConfiguration flatConf = new NeuralNetConfiguration.Builder()
                .list()
                .layer(new ConvolutionLayer.Builder(2, 2).nOut(2).build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                        .nOut(2)
                        .activation(Activation.SOFTMAX)
                        .build())
                .setInputType(InputType.convolutionalFlat(4, 5, 3))
                .build();
        ModelDefinition flat = ModelDefinition.of("flat-rgb", "", flatConf);
        assertThat(flat.summary().inputLayout().kind()).isEqualTo(InputLayout.Kind.CONVOLUTIONAL_FLAT);
        INDArray rowFromHwc = hwc.permute(0, 3, 1, 2).dup('c').reshape('c', 1, 60);
        for (long[] shape : new long[][] {{4, 5, 3}, {60}}) {
            InputLayout.Binding binding = flat.summary().inputLayout().bind(shape);
            assertThat(binding.features(record, 1))
                    .as("flat CNN, record %s", Arrays.toString(shape))
                    .isEqualTo(rowFromHwc);
            binding.check(flat.newNetwork(), "flat-rgb");
        }
        assertThat(flat.summary().inputLayout().bind(new long[] {3, 4, 5}).features(record, 1))
                .as("flat CNN, record [3, 4, 5]")
                .isEqualTo(Nd4j.createFromArray(record).reshape('c', 1, 60));
    }

    @Test
    void aShapeThatReadsBothChannelsLastAndChannelsFirstIsRefusedWhenDeclaringSizesWouldTell() {
        ModelDefinition model = ModelDefinition.of("cnn", "", cnn(CNN2DFormat.NCHW)); // 2 channels, any size
        assertThatThrownBy(() -> model.summary().inputLayout().bind(new long[] {2, 5, 2}))
                .isInstanceOf(InputShapeException.class)
                .hasMessageContaining("[2, 5, 2]")
                .hasMessageContaining("[height, width, channels] (2 × 5, 2 channels)")
                .hasMessageContaining("[channels, height, width] (5 × 2, 2 channels)")
                .hasMessageContaining("withInputType");
        // Declared, the sizes say which.
        INDArray declared = model.summary()
                .inputLayout()
                .declare(InputLayout.convolutional(2, 5, 2, CNN2DFormat.NCHW), "cnn")
                .bind(new long[] {2, 5, 2})
                .features(counting(20), 1);
        assertThat(declared)
                .isEqualTo(Nd4j.createFromArray(counting(20))
                        .reshape('c', 1, 2, 5, 2)
                        .permute(0, 3, 1, 2)
                        .dup('c'));
        // [n, n, n] and square sequences: no declaration can tell; Kafka-ML's channels-last order is taken.
        INDArray cube = model.summary().inputLayout().bind(new long[] {2, 2, 2}).features(counting(8), 1);
        assertThat(cube)
                .isEqualTo(Nd4j.createFromArray(counting(8))
                        .reshape('c', 1, 2, 2, 2)
                        .permute(0, 3, 1, 2)
                        .dup('c'));
        InputLayout lstm = ModelDefinition.of("lstm", "", lstm(RNNFormat.NCW, false))
                .summary()
                .inputLayout();
        assertThat(lstm.bind(new long[] {3, 3}).features(counting(9), 1))
                .as("3 steps of 3 features")
                .isEqualTo(Nd4j.createFromArray(counting(9))
                        .reshape('c', 1, 3, 3)
                        .permute(0, 2, 1)
                        .dup('c'));
    }

    @Test
    void aRecordOverTheValueLimitIsRefusedBeforeAnythingIsAllocatedNamingTheLimit() {
        ModelDefinition model = ModelDefinition.of("cnn", "", cnn(CNN2DFormat.NCHW)); // any height and width
        InputLayout layout = model.summary().inputLayout();
        assertThatThrownBy(() -> layout.bind(new long[] {11585, 11585, 2}))
                .isInstanceOf(InputShapeException.class)
                .hasMessageContaining("[11585, 11585, 2]")
                .hasMessageContaining("268424450 values")
                .hasMessageContaining("limit of " + KafkaMlConfig.DEFAULT_MAX_RECORD_VALUES)
                .hasMessageContaining(KafkaMlConfig.MAX_RECORD_VALUES_CONFIG);
        assertThatThrownBy(() -> layout.bind(new long[] {1L << 40, 1L << 40, 2}))
                .isInstanceOf(InputShapeException.class)
                .hasMessageContaining(KafkaMlConfig.MAX_RECORD_VALUES_CONFIG);
        assertThat(layout.bind(new long[] {5, 5, 2}, 50).featureCount()).isEqualTo(50);
        assertThatThrownBy(() -> layout.bind(new long[] {5, 6, 2}, 50))
                .isInstanceOf(InputShapeException.class)
                .hasMessageContaining("limit of 50 values per record");
        InputLayout lstm = ModelDefinition.of("lstm", "", lstm(RNNFormat.NCW, false))
                .summary()
                .inputLayout();
        assertThatThrownBy(() -> lstm.bind(new long[] {20, 3}, 50))
                .isInstanceOf(InputShapeException.class)
                .hasMessageContaining("recurrent [any, 3]")
                .hasMessageContaining("60 values");
        // Sizes the model fixes itself are not limited.
        InputLayout fixed = layout.declare(InputLayout.convolutional(5, 6, 2, CNN2DFormat.NCHW), "cnn");
        assertThat(fixed.bind(new long[] {5, 6, 2}, 50).featureCount()).isEqualTo(60);
        // The setting, as read from the client settings of LocalTrainingLauncher/LocalInference.
        assertThat(KafkaMlConfig.maxRecordValues(Map.of())).isEqualTo(KafkaMlConfig.DEFAULT_MAX_RECORD_VALUES);
        assertThat(KafkaMlConfig.maxRecordValues(Map.of(KafkaMlConfig.MAX_RECORD_VALUES_CONFIG, "50")))
                .isEqualTo(50);
        assertThatThrownBy(() -> KafkaMlConfig.maxRecordValues(Map.of(KafkaMlConfig.MAX_RECORD_VALUES_CONFIG, "0")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(KafkaMlConfig.MAX_RECORD_VALUES_CONFIG);
    }

    @Test
    void aDeclaredDataFormatOtherThanTheNetworksIsRefusedNamingBoth() {
        ModelDefinition nchw = ModelDefinition.of("cnn", "", cnn(CNN2DFormat.NCHW));
        assertThatThrownBy(() -> nchw.withInputType(InputType.convolutional(4, 4, 2, CNN2DFormat.NHWC)))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("its layers are NCHW")
                .hasMessageContaining("declared input type is NHWC");
        ModelDefinition nwc = ModelDefinition.of("lstm", "", lstm(RNNFormat.NWC, false));
        assertThatThrownBy(() -> nwc.withInputType(InputType.recurrent(3, 5)))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("its layers are NWC")
                .hasMessageContaining("declared input type is NCW");
        assertThat(nwc.withInputType(InputType.recurrent(3, 5, RNNFormat.NWC))
                        .summary()
                        .inputLayout()
                        .timeSteps())
                .isEqualTo(5);
    }

    @Test
    void aFlatConvolutionalModelTakesFlatRecordsAndImages() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                .list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(2).build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                        .nOut(10)
                        .activation(Activation.SOFTMAX)
                        .build())
                .setInputType(InputType.convolutionalFlat(28, 28, 1))
                .build();
        ModelSummary summary = ModelDefinition.of("digits", "", conf).summary();
        assertThat(summary.inputSize()).isEqualTo(784);
        assertThat(summary.inputLayout().kind()).isEqualTo(InputLayout.Kind.CONVOLUTIONAL_FLAT);
        assertThat(summary.inputLayout().bind(new long[] {28, 28}).batchShape(5))
                .containsExactly(5, 784);
        assertThat(summary.inputLayout().bind(new long[] {784}).batchShape(5)).containsExactly(5, 784);
    }

    @Test
    void recurrentRecordsAreTimeStepsByFeaturesAndBecomeTheNetworksFormat() {
        float[] record = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}; // 5 steps of 3 features
        for (RNNFormat format : RNNFormat.values()) {
            ModelDefinition model = ModelDefinition.of("lstm", "", lstm(format, false));
            InputLayout layout = model.summary().inputLayout();
            assertThat(layout.kind()).isEqualTo(InputLayout.Kind.RECURRENT);
            assertThat(model.summary().inputSize())
                    .as("features per step; any number of steps")
                    .isEqualTo(3);
            InputLayout.Binding binding = layout.bind(new long[] {5, 3});
            INDArray input = binding.features(record, 1);
            if (format == RNNFormat.NCW) {
                assertThat(input.shape()).containsExactly(1, 3, 5);
                assertThat(input.getFloat(0, 2, 1)).isEqualTo(6f); // step 1, feature 2
            } else {
                assertThat(input.shape()).containsExactly(1, 5, 3);
                assertThat(input.getFloat(0, 1, 2)).isEqualTo(6f);
            }
            binding.check(model.newNetwork(), "lstm");
            assertThat(binding.labels(Nd4j.ones(1, 1)).shape()).containsExactly(1, 1);
        }
        // A univariate series of 5 values is 5 steps of one feature.
        MultiLayerConfiguration univariate = new NeuralNetConfiguration.Builder()
                .list()
                .layer(new LastTimeStep(new LSTM.Builder().nIn(1).nOut(2).build()))
                .layer(new OutputLayer.Builder(LossFunction.MSE)
                        .nIn(2)
                        .nOut(1)
                        .activation(Activation.IDENTITY)
                        .build())
                .build();
        assertThat(ModelDefinition.of("u", "", univariate)
                        .summary()
                        .inputLayout()
                        .bind(new long[] {5})
                        .batchShape(2))
                .containsExactly(2, 1, 5);
    }

    @Test
    void perStepOutputsTakePerStepLabels() {
        InputLayout layout = ModelDefinition.of("seq", "", lstm(RNNFormat.NCW, true))
                .summary()
                .inputLayout();
        assertThat(layout.sequenceOutput()).isEqualTo("NCW");
        InputLayout.Binding binding = layout.bind(new long[] {5, 3});
        INDArray labels = binding.labels(Nd4j.createFromArray(new float[][] {{1, 2, 3, 4, 5}}));
        assertThat(labels.shape()).containsExactly(1, 1, 5);
        assertThat(labels.getFloat(0, 0, 3)).isEqualTo(4f);
        assertThatThrownBy(() -> binding.labels(Nd4j.ones(1, 3)))
                .isInstanceOf(InputShapeException.class)
                .hasMessageContaining("a label per step");
    }

    @Test
    void aGraphWithSeveralInputsIsRefusedWithWhatItNeeds() {
        ComputationGraphConfiguration two = new NeuralNetConfiguration.Builder()
                .graphBuilder()
                .addInputs("a", "b")
                .addVertex("merge", new org.deeplearning4j.nn.conf.graph.MergeVertex(), "a", "b")
                .addLayer(
                        "out",
                        new OutputLayer.Builder(LossFunction.MSE)
                                .nIn(4)
                                .nOut(1)
                                .activation(Activation.IDENTITY)
                                .build(),
                        "merge")
                .setOutputs("out")
                .build();
        InputLayout layout = ModelDefinition.of("two", "", two).summary().inputLayout();
        assertThat(layout.inputs()).isEqualTo(2);
        assertThatThrownBy(() -> layout.bind(new long[] {4}))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("2 inputs")
                .hasMessageContaining("MultiDataSet");
        // A single-input graph behind a Dropout vertex: found through it.
        ComputationGraphConfiguration one = new NeuralNetConfiguration.Builder()
                .graphBuilder()
                .addInputs("in")
                .addLayer("drop", new DropoutLayer.Builder(0.5).build(), "in")
                .addLayer(
                        "conv",
                        new ConvolutionLayer.Builder(2, 2).nIn(1).nOut(1).build(),
                        "drop")
                .addLayer(
                        "out",
                        new OutputLayer.Builder(LossFunction.MCXENT)
                                .nOut(2)
                                .activation(Activation.SOFTMAX)
                                .build(),
                        "conv")
                .setOutputs("out")
                .setInputTypes(InputType.convolutional(3, 3, 1))
                .build();
        assertThat(ModelDefinition.of("g", "", one).summary().inputLayout().kind())
                .isEqualTo(InputLayout.Kind.CONVOLUTIONAL);
    }

    @Test
    void theLayoutRoundTripsThroughJson() throws Exception {
        ObjectMapper json = new ObjectMapper();
        for (InputLayout layout : new InputLayout[] {
            InputLayout.feedForward(3),
            InputLayout.convolutional(3, 3, 1, CNN2DFormat.NHWC),
            InputLayout.recurrent(2, InputLayout.ANY, RNNFormat.NCW),
            ModelDefinition.of("seq", "", lstm(RNNFormat.NWC, true)).summary().inputLayout()
        }) {
            assertThat(json.readValue(json.writeValueAsString(layout), InputLayout.class))
                    .isEqualTo(layout);
        }
        ModelDefinition model = ModelDefinition.of("cnn", "", cnn(CNN2DFormat.NHWC))
                .withInputType(InputType.convolutional(4, 4, 2, CNN2DFormat.NHWC));
        ModelSummary again = json.readValue(json.writeValueAsString(model.summary()), ModelSummary.class);
        assertThat(again).isEqualTo(model.summary());
    }
}
