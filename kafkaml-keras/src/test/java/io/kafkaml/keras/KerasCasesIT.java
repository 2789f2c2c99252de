package io.kafkaml.keras;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kafkaml.inference.InferenceSpec;
import io.kafkaml.inference.ServedModel;
import io.kafkaml.model.InvalidModelException;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.model.OutputKind;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.Registry;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.sink.RecordDataSink;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import io.kafkaml.testkit.SharedData;
import io.kafkaml.training.LocalTrainingLauncher;
import io.kafkaml.training.Normalization;
import io.kafkaml.training.TrainingDeployments;
import io.kafkaml.training.TrainingHandle;
import io.kafkaml.training.TrainingSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.nd4j.linalg.lossfunctions.impl.LossSparseMCXENT;

/**
 * The Keras cases of {@code shared/cases}: {@code keras-tf213-file} (a Keras 2.13 file with the new optimizer
 * config) and {@code keras-sparse-loss/hcopd-sparse.h5} (the paper's HCOPD model compiled with
 * {@code sparse_categorical_crossentropy}), imported, trained on the HCOPD table streamed as JSON with
 * {@code Diagnosis} as the label (test rate 0.2), and served.
 */
@ExtendWith(EmbeddedKafkaExtension.class)
class KerasCasesIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static Registry registry;
    static LocalTrainingLauncher launcher;
    static TrainingDeployments deployments;

    static Path cases() {
        return SharedData.cases(".");
    }

    /** HCOPD rows: Diagnosis (label), then Gender, Age, Smoking (features). */
    static List<double[]> rows() throws IOException {
        Path csv = SharedData.data("hcopd", "HCOPD_Dataset.csv");
        List<double[]> rows = new ArrayList<>();
        for (String line : Files.readAllLines(csv, StandardCharsets.UTF_8)) {
            String[] cells = line.strip().split(",");
            if (!line.isBlank() && Character.isDigit(cells[0].charAt(0))) {
                rows.add(new double[] {
                    Double.parseDouble(cells[0]),
                    Double.parseDouble(cells[1]),
                    Double.parseDouble(cells[2]),
                    Double.parseDouble(cells[3])
                });
            }
        }
        return rows;
    }

    @BeforeAll
    static void start(EmbeddedKafkaBroker kafka) {
        registry = Registry.connect(kafka.clientConfig(), "keras-cases", Duration.ofSeconds(30));
        launcher = new LocalTrainingLauncher(registry, kafka.clientConfig(), 2, null);
        deployments = new TrainingDeployments(registry, launcher);
    }

    @AfterAll
    static void stop() {
        launcher.close();
        registry.close();
    }

    static TrainingResult train(EmbeddedKafkaBroker kafka, String model) throws IOException {
        registry.createConfiguration(new Configuration(model + "-only", "", List.of(model)));
        TrainingHandle handle = deployments.deploy(
                model + "-only",
                TrainingSpec.builder()
                        .batchSize(10)
                        .epochs(10)
                        .shuffle(true)
                        .seed(42)
                        .normalization(Normalization.STANDARDIZE)
                        .controlTimeout(Duration.ofSeconds(60))
                        .build());
        kafka.createTopic("hcopd-" + model, 1);
        try (RecordDataSink sink = RecordDataSink.builder(kafka.clientConfig())
                .format("JSON")
                .inputConfig(Map.of("data_fields", "Gender,Age,Smoking", "label_field", "Diagnosis"))
                .topic("hcopd-" + model)
                .deploymentId(handle.deploymentId())
                .testRate(0.2)
                .build()) {
            for (double[] row : rows()) {
                sink.send(new double[] {row[1], row[2], row[3]}, row[0]);
            }
        }
        assertThat(handle.await(Duration.ofMinutes(3))).contains(DeploymentStatus.FINISHED);
        TrainingResult result = registry.result(TrainingResult.idOf(handle.deploymentId(), model))
                .orElseThrow();
        assertThat(result.status()).isEqualTo(DeploymentStatus.FINISHED);
        assertThat(result.testMetrics()).containsKeys("accuracy", "precision", "recall", "f1", "loss");
        assertThat(result.confusionMatrix()).hasDimensions(2, 2);
        long tested = 0;
        for (long[] row : result.confusionMatrix()) {
            for (long count : row) {
                tested += count;
            }
        }
        assertThat(tested).isEqualTo(48); // round(239 × 0.2)
        return result;
    }

    @Test
    void aKeras213FileImportsWithItsLossAndAdamAndTrains(EmbeddedKafkaBroker kafka) throws IOException {
        KerasModels.ImportedModel imported = KerasModels.importModel(
                "hcopd-tf213", "shared case", cases().resolve("keras-tf213-file/hcopd-tf213.h5"));
        MultiLayerNetwork network = (MultiLayerNetwork) imported.network();
        var confs = network.getLayerWiseConfigurations().getConfs();
        assertThat(((LossLayer) confs.get(confs.size() - 1).getLayer()).getLossFn())
                .isInstanceOf(LossMCXENT.class);
        Adam adam = (Adam) ((BaseLayer) confs.get(0).getLayer()).getIUpdater();
        assertThat(adam.getLearningRate()).isCloseTo(0.001, within(1e-6));
        assertThat(adam.getLearningRateSchedule()).as("decay 0").isNull();
        ModelDefinition model = registry.registerModel(imported.definition(), imported.network());
        assertThat(model.summary().outputKind()).isEqualTo(OutputKind.MULTI_CLASS);
        assertThat(model.summary().trainable()).isTrue();

        train(kafka, "hcopd-tf213");
    }

    @Test
    void theHcopdModelWithASparseLossTrainsOnClassIndicesAndServesTheArgmax(EmbeddedKafkaBroker kafka)
            throws IOException {
        KerasModels.ImportedModel imported = KerasModels.importModel(
                "hcopd-sparse", "shared case", cases().resolve("keras-sparse-loss/hcopd-sparse.h5"));
        MultiLayerNetwork network = (MultiLayerNetwork) imported.network();
        var confs = network.getLayerWiseConfigurations().getConfs();
        assertThat(((LossLayer) confs.get(confs.size() - 1).getLayer()).getLossFn())
                .isInstanceOf(LossSparseMCXENT.class);
        // Keras Dropout(rate=0.2) trains with DL4J's retain probability 0.8 (DL4J's import alone gives 1.0).
        assertThat(confs.get(0).getLayer().getIDropout())
                .isEqualTo(new org.deeplearning4j.nn.conf.dropout.Dropout(0.8));
        ModelDefinition model = registry.registerModel(imported.definition(), imported.network());
        assertThat(model.summary().outputKind()).isEqualTo(OutputKind.MULTI_CLASS);
        assertThat(model.summary().classIndexLabels()).isTrue();

        TrainingResult result = train(kafka, "hcopd-sparse");
        ServedModel served = ServedModel.load(
                registry, InferenceSpec.builder(result.id(), "in", "out").build());
        List<double[]> rows = rows();
        float[] features = new float[20 * 3];
        for (int i = 0; i < 20; i++) {
            for (int j = 0; j < 3; j++) {
                features[i * 3 + j] = (float) rows.get(i)[j + 1];
            }
        }
        float[] values = served.predict(features, 20);
        for (int i = 0; i < 20; i++) {
            JsonNode prediction = JSON.readTree(served.encode(values, i * 2));
            assertThat(prediction.get("values")).hasSize(2);
            assertThat(prediction.get("class").asInt()).isEqualTo(values[i * 2 + 1] > values[i * 2] ? 1 : 0);
        }
    }

    @Test
    void aKerasModelWhoseOptimizerDl4jLacksIsRefusedAtDeployWithTheReason() {
        KerasModels.ImportedModel imported =
                KerasModels.importModel("hcopd-adamw", "", Path.of("src/test/resources/keras215-sequential-adamw.h5"));
        registry.registerModel(imported.definition(), imported.network());
        assertThat(registry.model("hcopd-adamw").orElseThrow().summary().lossProblem())
                .contains("AdamW");
        registry.createConfiguration(new Configuration("adamw-only", "", List.of("hcopd-adamw")));
        assertThatThrownBy(() ->
                        deployments.deploy("adamw-only", TrainingSpec.builder().build()))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("Model 'hcopd-adamw' cannot be trained")
                .hasMessageContaining("the optimizer 'AdamW' has no DL4J counterpart");
    }
}
