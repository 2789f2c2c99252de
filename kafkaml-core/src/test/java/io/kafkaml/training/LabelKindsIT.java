package io.kafkaml.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.activations.Activation;

/**
 * The label-kind cases of {@code shared/cases}: {@code binary-sigmoid} (one sigmoid unit, XENT) and
 * {@code keras-sparse-loss/sparse-mcxent.json} (softmax with SPARSE_MCXENT), both trained on the HCOPD table
 * streamed as JSON objects with {@code Diagnosis} as the 0/1 label and a test rate of 0.2, then served.
 */
@ExtendWith(EmbeddedKafkaExtension.class)
class LabelKindsIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static final int TEST_ROWS = 48; // round(239 × 0.2)
    static Registry registry;
    static LocalTrainingLauncher launcher;
    static TrainingDeployments deployments;

    static Path cases() {
        return SharedData.cases(".");
    }

    static Path hcopd() {
        return SharedData.data("hcopd", "HCOPD_Dataset.csv");
    }

    /** HCOPD rows: Diagnosis (label), then Gender, Age, Smoking (features). */
    static List<double[]> rows() throws IOException {
        List<double[]> rows = new ArrayList<>();
        for (String line : Files.readAllLines(hcopd(), StandardCharsets.UTF_8)) {
            String[] cells = line.strip().split(",");
            if (line.isBlank() || !Character.isDigit(cells[0].charAt(0))) {
                continue;
            }
            rows.add(new double[] {
                Double.parseDouble(cells[0]),
                Double.parseDouble(cells[1]),
                Double.parseDouble(cells[2]),
                Double.parseDouble(cells[3])
            });
        }
        return rows;
    }

    @BeforeAll
    static void start(EmbeddedKafkaBroker kafka) {
        registry = Registry.connect(kafka.clientConfig(), "kinds", Duration.ofSeconds(30));
        launcher = new LocalTrainingLauncher(registry, kafka.clientConfig(), 2, null);
        deployments = new TrainingDeployments(registry, launcher);
    }

    @AfterAll
    static void stop() {
        launcher.close();
        registry.close();
    }

    static TrainingResult train(EmbeddedKafkaBroker kafka, String topic, String model, TrainingSpec spec)
            throws IOException {
        registry.createConfiguration(new Configuration(model + "-only", "", List.of(model)));
        TrainingHandle handle = deployments.deploy(model + "-only", spec);
        kafka.createTopic(topic, 1);
        List<double[]> rows = rows();
        assertThat(rows).hasSize(239);
        try (RecordDataSink sink = RecordDataSink.builder(kafka.clientConfig())
                .format("JSON")
                .inputConfig(Map.of("data_fields", "Gender,Age,Smoking", "label_field", "Diagnosis"))
                .topic(topic)
                .deploymentId(handle.deploymentId())
                .testRate(0.2)
                .build()) {
            for (double[] row : rows) {
                sink.send(new double[] {row[1], row[2], row[3]}, row[0]);
            }
        }
        assertThat(handle.await(Duration.ofMinutes(3))).contains(DeploymentStatus.FINISHED);
        return registry.result(TrainingResult.idOf(handle.deploymentId(), model))
                .orElseThrow();
    }

    static TrainingSpec spec(int epochs) {
        return TrainingSpec.builder()
                .batchSize(10)
                .epochs(epochs)
                .shuffle(true)
                .seed(42)
                .normalization(Normalization.STANDARDIZE)
                .controlTimeout(Duration.ofSeconds(60))
                .build();
    }

    static long sum(long[][] matrix) {
        long total = 0;
        for (long[] row : matrix) {
            for (long count : row) {
                total += count;
            }
        }
        return total;
    }

    /** HCOPD inputs (Gender, Age, Smoking) for serving: the first 40 rows of the table. */
    static float[] inputs(int n) throws IOException {
        List<double[]> rows = rows();
        float[] features = new float[n * 3];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < 3; j++) {
                features[i * 3 + j] = (float) rows.get(i)[j + 1];
            }
        }
        return features;
    }

    static JsonNode json(byte[] value) throws IOException {
        return JSON.readTree(value);
    }

    @Test
    void aOneSigmoidBinaryClassifierCountsClassOneFromTheThresholdWithATwoByTwoMatrix(EmbeddedKafkaBroker kafka)
            throws IOException {
        ModelDefinition model = registry.registerModel(ModelDefinition.fromJson(
                "binary-sigmoid",
                "shared case",
                Files.readString(cases().resolve("binary-sigmoid/binary-sigmoid.json"))));
        assertThat(model.summary().outputKind()).isEqualTo(OutputKind.BINARY);

        TrainingResult result = train(kafka, "hcopd-binary", "binary-sigmoid", spec(30));
        assertThat(result.testMetrics()).containsKeys("accuracy", "precision", "recall", "f1", "loss");
        assertThat(result.confusionMatrix()).hasDimensions(2, 2);
        assertThat(sum(result.confusionMatrix())).isEqualTo(TEST_ROWS);
        assertThat(result.testMetrics().get("accuracy"))
                .as("better than the majority class")
                .isGreaterThan(0.67);

        ServedModel served = ServedModel.load(
                registry, InferenceSpec.builder(result.id(), "in", "out").build());
        assertThat(served.decisionThreshold()).isEqualTo(0.5);
        int n = 40;
        float[] values = served.predict(inputs(n), n);
        int ones = 0;
        for (int i = 0; i < n; i++) {
            JsonNode prediction = json(served.encode(values, i));
            assertThat(prediction.get("values")).hasSize(1);
            int expected = values[i] >= 0.5f ? 1 : 0;
            assertThat(prediction.get("class").asInt())
                    .as("row %d, value %s", i, values[i])
                    .isEqualTo(expected);
            ones += expected;
        }
        assertThat(ones)
                .as("the trained model predicts COPD for some of the first rows")
                .isPositive();

        // The threshold is configurable: exactly at a value counts as class 1, just above it as class 0.
        float value = values[0];
        InferenceSpec at = InferenceSpec.builder(result.id(), "in", "out")
                .decisionThreshold(value)
                .build();
        assertThat(json(ServedModel.load(registry, at).encode(values, 0))
                        .get("class")
                        .asInt())
                .isEqualTo(1);
        InferenceSpec above = InferenceSpec.builder(result.id(), "in", "out")
                .decisionThreshold(Math.nextUp((double) value))
                .build();
        assertThat(json(ServedModel.load(registry, above).encode(values, 0))
                        .get("class")
                        .asInt())
                .isEqualTo(0);
    }

    @Test
    void aSparseMulticlassLossTrainsOnClassIndicesAndServesTheArgmax(EmbeddedKafkaBroker kafka) throws IOException {
        ModelDefinition model = registry.registerModel(ModelDefinition.fromJson(
                "sparse-mcxent",
                "shared case",
                Files.readString(cases().resolve("keras-sparse-loss/sparse-mcxent.json"))));
        assertThat(model.summary().outputKind()).isEqualTo(OutputKind.MULTI_CLASS);
        assertThat(model.summary().classIndexLabels()).isTrue();

        TrainingResult result = train(kafka, "hcopd-sparse", "sparse-mcxent", spec(20));
        assertThat(result.error()).isNull();
        assertThat(result.testMetrics()).containsKeys("accuracy", "precision", "recall", "f1", "loss");
        assertThat(result.confusionMatrix()).hasDimensions(2, 2);
        assertThat(sum(result.confusionMatrix())).isEqualTo(TEST_ROWS);

        ServedModel served = ServedModel.load(
                registry, InferenceSpec.builder(result.id(), "in", "out").build());
        int n = 20;
        float[] values = served.predict(inputs(n), n);
        for (int i = 0; i < n; i++) {
            JsonNode prediction = json(served.encode(values, i * 2));
            assertThat(prediction.get("values")).hasSize(2);
            assertThat(prediction.get("class").asInt()).isEqualTo(values[i * 2 + 1] > values[i * 2] ? 1 : 0);
        }
    }

    @Test
    void aModelWithoutALossIsRefusedAtDeployWithTheReason() {
        var conf = new NeuralNetConfiguration.Builder()
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
        registry.registerModel(ModelDefinition.of("no-loss", "", conf));
        registry.createConfiguration(new Configuration("no-loss-only", "", List.of("no-loss")));
        int before = registry.deployments().size();
        assertThatThrownBy(() -> deployments.deploy("no-loss-only", spec(1)))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("Model 'no-loss' cannot be trained: its output layer");
        assertThat(registry.deployments()).hasSize(before);
    }

    /** Registers {@code conf} with an untrained network stored as a finished result of a JSON-fed deployment. */
    static ServedModel servedUntrained(String name, org.deeplearning4j.nn.conf.MultiLayerConfiguration conf)
            throws IOException {
        registry.registerModel(ModelDefinition.of(name, "", conf));
        registry.createConfiguration(new Configuration(name + "-c", "", List.of(name)));
        io.kafkaml.control.ControlMessage trainedOn = io.kafkaml.control.ControlMessage.builder()
                .slices(List.of(io.kafkaml.stream.StreamSlice.of("t", 0, 0, 1)))
                .inputFormat("JSON")
                .inputConfig(Map.of("data_reshape", "3"))
                .totalMessages(1)
                .deploymentId(name + "-d")
                .build();
        registry.createDeployment(new io.kafkaml.registry.Deployment(
                name + "-d",
                name + "-c",
                DeploymentStatus.FINISHED,
                null,
                Map.of(),
                java.time.Instant.now(),
                java.time.Instant.now(),
                trainedOn.toJson()));
        var network = new org.deeplearning4j.nn.multilayer.MultiLayerNetwork(conf);
        network.init();
        var bytes = new java.io.ByteArrayOutputStream();
        org.deeplearning4j.util.ModelSerializer.writeModel(network, bytes, false);
        String artifact =
                registry.storeArtifact(name + ".model", bytes.toByteArray()).id();
        registry.putResult(new TrainingResult(
                name + "-d." + name,
                name + "-d",
                name,
                DeploymentStatus.FINISHED,
                List.of(),
                Map.of(),
                null,
                0,
                artifact,
                null,
                null,
                java.time.Instant.now()));
        return ServedModel.load(
                registry,
                InferenceSpec.builder(name + "-d." + name, "in", "out").build());
    }

    @Test
    void multiLabelAndRegressionPredictionsSayWhatTheirKindMeans() throws IOException {
        var multiLabel = new NeuralNetConfiguration.Builder()
                .seed(7)
                .list()
                .layer(new DenseLayer.Builder()
                        .nIn(3)
                        .nOut(6)
                        .activation(Activation.TANH)
                        .build())
                .layer(new org.deeplearning4j.nn.conf.layers.OutputLayer.Builder(
                                org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction.XENT)
                        .nIn(6)
                        .nOut(4)
                        .activation(Activation.SIGMOID)
                        .build())
                .build();
        ServedModel labels = servedUntrained("multi-label", multiLabel);
        assertThat(labels.outputKind()).isEqualTo(OutputKind.MULTI_LABEL);
        int n = 30;
        float[] values = labels.predict(inputs(n), n);
        for (int i = 0; i < n; i++) {
            JsonNode prediction = json(labels.encode(values, i * 4));
            List<Integer> expected = new ArrayList<>();
            for (int j = 0; j < 4; j++) {
                if (values[i * 4 + j] >= 0.5f) {
                    expected.add(j);
                }
            }
            List<Integer> classes = new ArrayList<>();
            prediction.get("classes").forEach(c -> classes.add(c.asInt()));
            assertThat(classes).isEqualTo(expected);
            assertThat(prediction.has("class")).isFalse();
        }

        var regression = new NeuralNetConfiguration.Builder()
                .seed(7)
                .list()
                .layer(new DenseLayer.Builder()
                        .nIn(3)
                        .nOut(6)
                        .activation(Activation.TANH)
                        .build())
                .layer(new org.deeplearning4j.nn.conf.layers.OutputLayer.Builder(
                                org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction.MSE)
                        .nIn(6)
                        .nOut(2)
                        .activation(Activation.IDENTITY)
                        .build())
                .build();
        ServedModel values2 = servedUntrained("two-outputs", regression);
        assertThat(values2.outputKind()).isEqualTo(OutputKind.REGRESSION);
        JsonNode prediction = json(values2.encode(values2.predict(inputs(1), 1), 0));
        assertThat(prediction.get("values")).hasSize(2);
        assertThat(prediction.has("class")).isFalse();
        assertThat(prediction.has("classes")).isFalse();
    }
}
