package io.kafkaml.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

class ModelDefinitionTest {

    /** The paper's HCOPD model: Dropout 0.2 on 3 inputs, Dense 4 sigmoid, Dense 2 softmax, Adam. */
    static MultiLayerConfiguration hcopd() {
        return new NeuralNetConfiguration.Builder()
                .seed(1)
                .updater(new Adam(0.001))
                .list()
                .layer(new DropoutLayer.Builder(0.8).nIn(3).nOut(3).build())
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
    }

    @Test
    void summarizesTheNetworkItBuilds() {
        ModelDefinition model = ModelDefinition.of("hcopd", "the paper's model", hcopd());
        ModelSummary summary = model.summary();
        assertThat(summary.networkType()).isEqualTo("MultiLayerNetwork");
        assertThat(summary.inputSize()).isEqualTo(3);
        assertThat(summary.outputSize()).isEqualTo(2);
        assertThat(summary.parameterCount()).isEqualTo(3 * 4 + 4 + 4 * 2 + 2);
        assertThat(summary.outputKind()).isEqualTo(OutputKind.MULTI_CLASS);
        assertThat(summary.layers()).isEqualTo(3);
        assertThat(model.newNetwork()).isInstanceOf(MultiLayerNetwork.class);
        assertThat(model.isGraph()).isFalse();
    }

    @Test
    void regressionAndGraphsAreRecognized() {
        MultiLayerConfiguration regression = new NeuralNetConfiguration.Builder()
                .list()
                .layer(new DenseLayer.Builder().nIn(5).nOut(8).build())
                .layer(new OutputLayer.Builder(LossFunction.MSE)
                        .nIn(8)
                        .nOut(1)
                        .activation(Activation.IDENTITY)
                        .build())
                .build();
        assertThat(ModelDefinition.of("reg", "", regression).summary().outputKind())
                .isEqualTo(OutputKind.REGRESSION);
        ComputationGraphConfiguration graph = new NeuralNetConfiguration.Builder()
                .graphBuilder()
                .addInputs("in")
                .addLayer("hidden", new DenseLayer.Builder().nIn(6).nOut(5).build(), "in")
                .addLayer(
                        "out",
                        new OutputLayer.Builder(LossFunction.MCXENT)
                                .nIn(5)
                                .nOut(3)
                                .activation(Activation.SOFTMAX)
                                .build(),
                        "hidden")
                .setOutputs("out")
                .build();
        ModelDefinition model = ModelDefinition.fromJson("graph", "", graph.toJson());
        assertThat(model.isGraph()).isTrue();
        assertThat(model.summary().inputSize()).isEqualTo(6);
        assertThat(model.summary().outputSize()).isEqualTo(3);
        assertThat(model.summary().outputKind()).isEqualTo(OutputKind.MULTI_CLASS);
    }

    @Test
    void jsonRoundTripsAndInvalidDefinitionsAreRejectedInPlainWords() {
        ModelDefinition model = ModelDefinition.fromJson("again", "", hcopd().toJson());
        assertThat(model.summary().parameterCount()).isEqualTo(26);
        assertThatThrownBy(() -> ModelDefinition.fromJson("x", "", "layers: 3"))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("Model 'x': the configuration is not JSON");
        assertThatThrownBy(() -> ModelDefinition.fromJson("x", "", "{\"confs\": 3}"))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("Model 'x': the JSON is not a DL4J");
        // JSON of another shape: a plain reason, never DL4J's NullPointerException text (trial F5)
        assertThatThrownBy(() -> ModelDefinition.fromJson("x", "", "{\"x\": 1}"))
                .isInstanceOf(InvalidModelException.class)
                .hasMessage("Model 'x': the JSON is not a DL4J MultiLayerConfiguration: it has no layers ('confs')");
        // A configuration edited by hand: the softmax output layer left with one output.
        String broken = hcopd().toJson().replace("\"nout\" : 2", "\"nout\" : 1");
        assertThat(broken).isNotEqualTo(hcopd().toJson());
        assertThatThrownBy(() -> ModelDefinition.fromJson("broken", "", broken))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("Model 'broken' cannot be built")
                .hasMessageContaining("Softmax cannot be used with nOut=1");
        // Layer sizes that do not chain: the hidden layer gives 4 values, the output layer expects 5.
        String unchained = hcopd().toJson().replace("\"nin\" : 4", "\"nin\" : 5");
        assertThatThrownBy(() -> ModelDefinition.fromJson("unchained", "", unchained))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("Model 'unchained' cannot be built");
        assertThatThrownBy(() -> ModelDefinition.of("bad name", "", hcopd()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not a valid model name");
    }

    static MultiLayerConfiguration output(LossFunction loss, Activation activation, int outputs) {
        return new NeuralNetConfiguration.Builder()
                .seed(1)
                .list()
                .layer(new DenseLayer.Builder()
                        .nIn(3)
                        .nOut(4)
                        .activation(Activation.RELU)
                        .build())
                .layer(new OutputLayer.Builder(loss)
                        .nIn(4)
                        .nOut(outputs)
                        .activation(activation)
                        .build())
                .build();
    }

    @Test
    void theOutputKindFollowsTheLossTheActivationAndTheNumberOfOutputs() {
        ModelSummary binary = ModelDefinition.of("b", "", output(LossFunction.XENT, Activation.SIGMOID, 1))
                .summary();
        assertThat(binary.outputKind()).isEqualTo(OutputKind.BINARY);
        assertThat(binary.classIndexLabels()).isFalse();
        assertThat(binary.trainable()).isTrue();
        assertThat(ModelDefinition.of("m", "", output(LossFunction.XENT, Activation.SIGMOID, 3))
                        .summary()
                        .outputKind())
                .isEqualTo(OutputKind.MULTI_LABEL);
        ModelSummary sparse = ModelDefinition.of("s", "", output(LossFunction.SPARSE_MCXENT, Activation.SOFTMAX, 2))
                .summary();
        assertThat(sparse.outputKind()).isEqualTo(OutputKind.MULTI_CLASS);
        assertThat(sparse.classIndexLabels()).isTrue();
        assertThat(ModelDefinition.of("r", "", output(LossFunction.MSE, Activation.IDENTITY, 3))
                        .summary()
                        .outputKind())
                .isEqualTo(OutputKind.REGRESSION);
        assertThat(OutputKind.REGRESSION.isClassifier()).isFalse();
        assertThat(OutputKind.BINARY.isClassifier()).isTrue();
    }

    @Test
    void aNetworkWithoutALossIsRecordedAsNotTrainableWithTheReason() {
        MultiLayerConfiguration noLoss = new NeuralNetConfiguration.Builder()
                .list()
                .layer(new DenseLayer.Builder()
                        .nIn(3)
                        .nOut(4)
                        .activation(Activation.RELU)
                        .build())
                .layer(new DenseLayer.Builder()
                        .nIn(4)
                        .nOut(2)
                        .activation(Activation.SOFTMAX)
                        .build())
                .build();
        ModelDefinition model = ModelDefinition.of("no-loss", "", noLoss);
        assertThat(model.summary().trainable()).isFalse();
        assertThat(model.summary().lossProblem()).contains("has no loss function");
        assertThatThrownBy(model::checkTrainable)
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("Model 'no-loss' cannot be trained: its output layer");
        ModelDefinition refused = ModelDefinition.of("ok", "", hcopd()).withLossProblem("the loss 'focal' is unknown");
        assertThatThrownBy(refused::checkTrainable)
                .hasMessageContaining("Model 'ok' cannot be trained: the loss 'focal'");
        ModelDefinition.of("ok", "", hcopd()).checkTrainable();
    }

    @Test
    void aSummaryRecordedBeforeTheKindsWereToldApartIsReadAgainFromTheConfiguration() throws Exception {
        var mapper = new com.fasterxml.jackson.databind.ObjectMapper()
                .configure(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
        ModelDefinition binary = ModelDefinition.of("b", "", output(LossFunction.XENT, Activation.SIGMOID, 1));
        String current = mapper.writeValueAsString(binary);
        assertThat(mapper.readValue(current, ModelDefinition.class).summary()).isEqualTo(binary.summary());
        // As round 1 wrote it: no classIndexLabels / lossProblem, and the kind CLASSIFICATION.
        String old = current.replace("\"BINARY\"", "\"CLASSIFICATION\"")
                .replace(",\"classIndexLabels\":false", "")
                .replace(",\"lossProblem\":null", "");
        assertThat(old).contains("CLASSIFICATION").doesNotContain("classIndexLabels");
        assertThat(mapper.readValue(old, ModelDefinition.class).summary().outputKind())
                .isEqualTo(OutputKind.BINARY);
    }
}
