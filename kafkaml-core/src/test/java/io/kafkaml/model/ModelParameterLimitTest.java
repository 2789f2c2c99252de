package io.kafkaml.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.registry.InvalidRegistryRecordException;
import io.kafkaml.registry.internals.RegistryRecords;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * {@value KafkaMlConfig#MAX_MODEL_PARAMETERS_CONFIG}: a configuration that declares more parameters than the limit is
 * refused from its configuration alone, before DL4J allocates anything (a 10^10-parameter layer would need 40 GB, far
 * more than this test's heap: building it would fail with an {@code OutOfMemoryError}, not this error).
 */
class ModelParameterLimitTest {

    private static String mlp(long hidden, long inputs) {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(1)
                .list()
                .layer(new DenseLayer.Builder()
                        .nIn(inputs)
                        .nOut(hidden)
                        .activation(Activation.RELU)
                        .build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                        .nIn(hidden)
                        .nOut(2)
                        .activation(Activation.SOFTMAX)
                        .build())
                .build();
        return conf.toJson();
    }

    @Test
    void theCountIsDl4jsAndTheLimitIsInclusive() {
        String small = mlp(4, 3); // (3 x 4 + 4) + (4 x 2 + 2)
        assertThat(ModelDefinition.parameterCount(small)).isEqualTo(26);
        ModelDefinition model = ModelDefinition.fromJson("small", "", small, 26);
        assertThat(model.summary().parameterCount()).isEqualTo(26);
        assertThatThrownBy(() -> ModelDefinition.fromJson("small", "", small, 25))
                .isInstanceOf(InvalidModelException.class)
                .hasMessage("Model 'small' declares 26 parameters (largest layer 'layer0': 16), over the limit of 25 ("
                        + KafkaMlConfig.MAX_MODEL_PARAMETERS_CONFIG + "); the network was not built. Raise "
                        + KafkaMlConfig.MAX_MODEL_PARAMETERS_CONFIG + " to use it");
        assertThatThrownBy(() -> model.newNetwork(25)).isInstanceOf(InvalidModelException.class);
        assertThat(model.newNetwork().numParams()).isEqualTo(26);
    }

    @Test
    void layersSharingANameEachCount() {
        var list = new NeuralNetConfiguration.Builder().seed(1).list();
        for (int i = 0; i < 50; i++) { // 50 dense 100x100 layers, all named "d": 50 x 10,100 parameters
            list.layer(new DenseLayer.Builder()
                    .name("d")
                    .nIn(100)
                    .nOut(100)
                    .activation(Activation.RELU)
                    .build());
        }
        String json = list.layer(new OutputLayer.Builder(LossFunction.MSE)
                        .name("d")
                        .nIn(100)
                        .nOut(1)
                        .activation(Activation.IDENTITY)
                        .build())
                .build()
                .toJson();
        assertThat(ModelDefinition.parameterCount(json)).isEqualTo(50L * 10_100 + 101);
        assertThatThrownBy(() -> ModelDefinition.fromJson("named", "", json, 100_000))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("declares 505101 parameters");
    }

    @Test
    void aHugeLayerIsRefusedUnderTheDefaultLimitWithoutBeingBuilt() {
        String huge = mlp(100_000, 100_000);
        assertThat(ModelDefinition.parameterCount(huge)).isEqualTo(100_000L * 100_000 + 100_000 + 100_000 * 2 + 2);
        assertThatThrownBy(() -> ModelDefinition.fromJson("huge", "", huge))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("declares 10000300002 parameters (largest layer 'layer0': 10000100000)")
                .hasMessageContaining("over the limit of " + KafkaMlConfig.DEFAULT_MAX_MODEL_PARAMETERS);
    }

    @Test
    void sizesWhoseProductOverflowsALongAreRefusedNotWrappedAround() {
        String overflowing = mlp(1L << 40, 1L << 40);
        assertThat(ModelDefinition.parameterCount(overflowing)).isEqualTo(Long.MAX_VALUE);
        assertThatThrownBy(() -> ModelDefinition.fromJson("overflow", "", overflowing, Long.MAX_VALUE - 1))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("declares more than " + Long.MAX_VALUE + " parameters");
        // a convolution's kernel area counts too
        String conv = new NeuralNetConfiguration.Builder()
                .list()
                .layer(new ConvolutionLayer.Builder(1 << 20, 1 << 20)
                        .nIn(1)
                        .nOut(8)
                        .build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                        .nIn(8)
                        .nOut(2)
                        .activation(Activation.SOFTMAX)
                        .build())
                .build()
                .toJson();
        assertThatThrownBy(() -> ModelDefinition.fromJson("conv", "", conv))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining(KafkaMlConfig.MAX_MODEL_PARAMETERS_CONFIG);
    }

    @Test
    void aRegistryRecordDeclaringAHugeLayerIsAnInvalidRecordNotAnAllocation() throws Exception {
        // a record written by hand (or damaged) without the summary kafkaml records, so that reading it builds the
        // network: the count refuses it first, and the reader gets the registry's error naming where it is
        ObjectNode record = RegistryRecords.mapper().createObjectNode();
        record.put("name", "huge");
        record.put("description", "");
        record.put("configuration", mlp(1_000_000, 100_000));
        byte[] value = RegistryRecords.mapper().writeValueAsBytes(record);
        assertThatThrownBy(() -> RegistryRecords.decode("kafkaml.models", 0, 9, "huge", value, ModelDefinition.class))
                .isInstanceOf(InvalidRegistryRecordException.class)
                .hasMessageStartingWith("Registry record 'huge' at kafkaml.models-0@9 is not a valid ModelDefinition: ")
                .hasMessageContaining(KafkaMlConfig.MAX_MODEL_PARAMETERS_CONFIG);
    }

    private static String withHidden(org.deeplearning4j.nn.conf.layers.Layer hidden, long outputsIn) {
        return new NeuralNetConfiguration.Builder()
                .list()
                .layer(hidden)
                .layer(new org.deeplearning4j.nn.conf.layers.RnnOutputLayer.Builder(LossFunction.MSE)
                        .nIn(outputsIn)
                        .nOut(1)
                        .activation(Activation.IDENTITY)
                        .build())
                .build()
                .toJson();
    }

    @Test
    void wrapperLayersAreUnwrappedAndCountedWithoutOverflow() {
        // Bidirectional(LSTM nIn = 2^62, nOut = 1): DL4J's own product, 2 x 4 x (2^62 + 2), wraps to 16 parameters
        String bidirectional = withHidden(
                new org.deeplearning4j.nn.conf.layers.recurrent.Bidirectional(
                        new org.deeplearning4j.nn.conf.layers.LSTM.Builder()
                                .nIn(1L << 62)
                                .nOut(1)
                                .build()),
                2);
        assertThat(ModelDefinition.parameterCount(bidirectional)).isEqualTo(Long.MAX_VALUE);
        assertThatThrownBy(() -> ModelDefinition.checkParameterCount("bi", bidirectional, Long.MAX_VALUE - 1))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("declares more than " + Long.MAX_VALUE);
        // a small one counts both directions, as DL4J does
        String small = withHidden(
                new org.deeplearning4j.nn.conf.layers.recurrent.Bidirectional(
                        new org.deeplearning4j.nn.conf.layers.LSTM.Builder()
                                .nIn(3)
                                .nOut(2)
                                .build()),
                4);
        assertThat(ModelDefinition.parameterCount(small))
                .isEqualTo(2 * (4 * 2 * (3 + 2) + 4 * 2) + (4 + 1)); // two LSTMs (with biases) and the output layer
        String frozen = withHidden(
                new org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop(
                        new org.deeplearning4j.nn.conf.layers.LSTM.Builder()
                                .nIn(1L << 40)
                                .nOut(1L << 40)
                                .build()),
                1L << 40);
        assertThat(ModelDefinition.parameterCount(frozen)).isEqualTo(Long.MAX_VALUE);
        String timeDistributed = withHidden(
                new org.deeplearning4j.nn.conf.layers.recurrent.TimeDistributed(
                        new DenseLayer.Builder().nIn(1L << 33).nOut(1L << 33).build()),
                1L << 33);
        assertThat(ModelDefinition.parameterCount(timeDistributed)).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void theDepthMultiplierOfSeparableAndDepthwiseConvolutionsIsCapped() {
        for (org.deeplearning4j.nn.conf.layers.Layer conv : new org.deeplearning4j.nn.conf.layers.Layer[] {
            new org.deeplearning4j.nn.conf.layers.SeparableConvolution2D.Builder(3, 3)
                    .nIn(1 << 20)
                    .nOut(1 << 20)
                    .depthMultiplier(1 << 30)
                    .build(),
            new org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D.Builder(3, 3)
                    .nIn(1 << 20)
                    .depthMultiplier(1 << 30)
                    .build()
        }) {
            MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                    .list()
                    .layer(conv)
                    .layer(new org.deeplearning4j.nn.conf.layers.CnnLossLayer.Builder(LossFunction.MSE).build())
                    .build();
            assertThat(ModelDefinition.parameterCount(conf))
                    .as(conv.getClass().getSimpleName())
                    .isEqualTo(Long.MAX_VALUE);
        }
    }
}
