package io.kafkaml.keras;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The training_config rewriting, on the JSON each Keras version family writes. */
class KerasConfigsTest {

    static final String SEQUENTIAL = """
            {"class_name": "Sequential", "config": {"name": "s", "layers": [
              {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 3], "name": "input_1"}},
              {"class_name": "Dense", "config": {"name": "dense", "units": 4, "activation": "sigmoid"}},
              {"class_name": "Dense", "config": {"name": "dense_1", "units": 2, "activation": "%s"}}]},
             "keras_version": "2.13.1", "backend": "tensorflow"}""";

    static String training(String loss, String optimizer) {
        return "{\"loss\": " + loss + ", \"metrics\": [[\"accuracy\"]], \"loss_weights\": null, "
                + "\"optimizer_config\": " + optimizer + "}";
    }

    static final String TF213_ADAM = """
            {"module": "keras.optimizers", "class_name": "Adam", "config": {"name": "Adam", "weight_decay": null,
             "clipnorm": null, "global_clipnorm": null, "clipvalue": null, "use_ema": false, "ema_momentum": 0.99,
             "ema_overwrite_frequency": null, "jit_compile": true, "is_legacy_optimizer": false,
             "learning_rate": 0.0010000000474974513, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07,
             "amsgrad": false}, "registered_name": null}""";

    @SuppressWarnings("unchecked")
    static Map<String, Object> optimizer(KerasConfigs.Normalized normalized) {
        Map<String, Object> training = KerasConfigs.parse(normalized.trainingJson(), "t");
        return (Map<String, Object>) training.get("optimizer_config");
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> parameters(KerasConfigs.Normalized normalized) {
        return (Map<String, Object>) optimizer(normalized).get("config");
    }

    @Test
    void theNewOptimizerConfigOfKeras211To215GetsTheDecayDl4jReads() {
        var normalized = KerasConfigs.normalize(
                SEQUENTIAL.formatted("softmax"), training("\"categorical_crossentropy\"", TF213_ADAM));
        assertThat(normalized.problem()).isNull();
        assertThat(optimizer(normalized)).containsEntry("class_name", "Adam");
        assertThat(parameters(normalized))
                .containsEntry("decay", 0.0)
                .containsEntry("lr", 0.0010000000474974513)
                .containsEntry("beta_1", 0.9);
        assertThat(KerasConfigs.parse(normalized.trainingJson(), "t"))
                .containsEntry("loss", "categorical_crossentropy");
    }

    @Test
    void customClassNamesIntegerRatesAndLrAreUnderstood() {
        var custom = KerasConfigs.normalize(
                SEQUENTIAL.formatted("softmax"),
                training(
                        "\"mse\"",
                        "{\"class_name\": \"Custom>Adam\", \"config\": {\"learning_rate\": 1, \"beta_1\": 0.9}}"));
        assertThat(custom.problem()).isNull();
        assertThat(optimizer(custom)).containsEntry("class_name", "Adam");
        assertThat(parameters(custom))
                .containsEntry("lr", 1.0)
                .containsEntry("beta_2", 0.999)
                .containsEntry("epsilon", 1e-7);
        var legacy = KerasConfigs.normalize(
                SEQUENTIAL.formatted("softmax"),
                training(
                        "\"mse\"",
                        "{\"class_name\": \"keras.optimizers.legacy.SGD\", \"config\": {\"lr\": 0.1, \"momentum\": 0, "
                                + "\"decay\": 1e-6, \"nesterov\": false}}"));
        assertThat(optimizer(legacy)).containsEntry("class_name", "SGD");
        assertThat(parameters(legacy))
                .containsEntry("lr", 0.1)
                .containsEntry("momentum", 0.0)
                .containsEntry("decay", 1e-6)
                .doesNotContainKey("epsilon");
        var adagrad = KerasConfigs.normalize(
                SEQUENTIAL.formatted("softmax"),
                training("\"mse\"", "{\"class_name\": \"Adagrad\", \"config\": {\"learning_rate\": 0.01}}"));
        assertThat(optimizer(adagrad)).containsEntry("class_name", "Adgrad"); // DL4J 1.0.0-M2.1's spelling
    }

    @Test
    void lossObjectsAndFunctionsBecomeTheNamesDl4jMaps() {
        var object = KerasConfigs.normalize(SEQUENTIAL.formatted("softmax"), training("""
                {"module": "keras.losses", "class_name": "SparseCategoricalCrossentropy", "config": {"reduction":
                 "auto", "name": "sparse_categorical_crossentropy", "from_logits": false, "ignore_class": null},
                 "registered_name": null}""", TF213_ADAM));
        assertThat(object.problem()).isNull();
        assertThat(KerasConfigs.parse(object.trainingJson(), "t"))
                .containsEntry("loss", "sparse_categorical_crossentropy");
        var function = KerasConfigs.normalize(SEQUENTIAL.formatted("softmax"), training("""
                {"module": "keras.losses", "class_name": "function", "config": "binary_crossentropy",
                 "registered_name": "binary_crossentropy"}""", TF213_ADAM));
        assertThat(KerasConfigs.parse(function.trainingJson(), "t")).containsEntry("loss", "binary_crossentropy");
        assertThat(KerasConfigs.snakeCase("KLDivergence")).isEqualTo("kullback_leibler_divergence");
        assertThat(KerasConfigs.snakeCase("MeanSquaredError")).isEqualTo("mean_squared_error");
    }

    @Test
    @SuppressWarnings("unchecked")
    void fromLogitsMovesTheSoftmaxIntoALinearOutputLayerOrIsRefused() {
        String logits = """
                {"class_name": "CategoricalCrossentropy", "config": {"from_logits": true, "label_smoothing": 0.0}}""";
        var handled = KerasConfigs.normalize(SEQUENTIAL.formatted("linear"), training(logits, TF213_ADAM));
        assertThat(handled.problem()).isNull();
        Map<String, Object> model = KerasConfigs.parse(handled.modelJson(), "m");
        List<Object> layers = (List<Object>) ((Map<String, Object>) model.get("config")).get("layers");
        Map<String, Object> output = (Map<String, Object>) ((Map<String, Object>) layers.get(2)).get("config");
        assertThat(output).containsEntry("activation", "softmax");
        assertThat(handled.notes())
                .singleElement()
                .asString()
                .contains("from_logits=True")
                .contains("probabilities");

        var refused = KerasConfigs.normalize(SEQUENTIAL.formatted("relu"), training(logits, TF213_ADAM));
        assertThat(refused.trainingJson()).isNull();
        assertThat(refused.problem())
                .contains("from_logits=True but the output layer 'dense_1' has the activation relu");
    }

    @Test
    void whatDl4jCannotTrainTheSameWayIsAProblemNotAnApproximation() {
        var adamw = KerasConfigs.normalize(
                SEQUENTIAL.formatted("softmax"),
                training(
                        "\"categorical_crossentropy\"",
                        TF213_ADAM.replace("\"class_name\": \"Adam\"", "\"class_name\": \"AdamW\"")));
        assertThat(adamw.problem()).contains("the optimizer 'AdamW' has no DL4J counterpart");
        var decay = KerasConfigs.normalize(
                SEQUENTIAL.formatted("softmax"),
                training(
                        "\"categorical_crossentropy\"",
                        TF213_ADAM
                                .replace("\"weight_decay\": null", "\"weight_decay\": 0.004")
                                .replace("\"use_ema\": false", "\"use_ema\": true")));
        assertThat(decay.problem()).contains("weight_decay = 0.004").contains("use_ema = true");
        var schedule = KerasConfigs.normalize(
                SEQUENTIAL.formatted("softmax"),
                training(
                        "\"mse\"",
                        "{\"class_name\": \"Adam\", \"config\": {\"learning_rate\": {\"class_name\": \"ExponentialDecay\", "
                                + "\"config\": {\"initial_learning_rate\": 0.1}}}}"));
        assertThat(schedule.problem()).contains("the learning rate is a schedule (ExponentialDecay)");
        var none = KerasConfigs.normalize(SEQUENTIAL.formatted("softmax"), null);
        assertThat(none.problem()).contains("no training_config");
        assertThat(none.trainingJson()).isNull();
    }
}
