package io.kafkaml.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kafkaml.format.raw.RawDataSink;
import io.kafkaml.format.raw.RawType;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.EpochMetrics;
import io.kafkaml.registry.Registry;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import io.kafkaml.testkit.SharedData;
import io.kafkaml.training.IncrementalSpec;
import io.kafkaml.training.LocalTrainingLauncher;
import io.kafkaml.training.Normalization;
import io.kafkaml.training.TrainingDeployments;
import io.kafkaml.training.TrainingSpec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.awaitility.Awaitility;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * Incremental (online) training on an unbounded topic (issue 14, items 1 and 2): Kafka-ML's online control message
 * starts it, windows are fitted with prequential and hold-out metrics, improving windows are promoted, and a trainer
 * SIGKILLed between bursts resumes from its committed offsets.
 */
@ExtendWith(EmbeddedKafkaExtension.class)
class IncrementalTrainingIT {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Iris rows (4 features, class index last), shuffled with a fixed seed. */
    static List<float[]> iris() throws Exception {
        List<String> lines = Files.readAllLines(SharedData.data("iris", "iris.csv"));
        List<float[]> rows = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] cells = line.split(",");
            float[] row = new float[5];
            for (int i = 0; i < 5; i++) {
                row[i] = Float.parseFloat(cells[i]);
            }
            rows.add(row);
        }
        Collections.shuffle(rows, new Random(11));
        return rows;
    }

    static NeuralNetConfiguration.ListBuilder irisMlp() {
        return new NeuralNetConfiguration.Builder()
                .seed(5)
                .updater(new Adam(0.02))
                .list()
                .layer(new DenseLayer.Builder()
                        .nIn(4)
                        .nOut(12)
                        .activation(Activation.TANH)
                        .build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                        .nIn(12)
                        .nOut(3)
                        .activation(Activation.SOFTMAX)
                        .build());
    }

    /**
     * The control message exactly as Kafka-ML's {@code OnlineRawSink} writes it ({@code datasources/sink.py},
     * {@code __send_online_control_msg}): Python's {@code json.dumps} of its dict, in its key order and separators, and
     * the deployment id as the key, {@code bytes([deployment_id])}.
     */
    static String kafkaMlOnlineControlJson(String topic) {
        return "{\"topic\": \"" + topic + "\", \"unsupervised_topic\": null, \"input_format\": \"RAW\", "
                + "\"description\": \"Iris dataset\", \"input_config\": {\"data_type\": \"float32\", \"label_type\": "
                + "\"uint8\", \"data_reshape\": \"4\", \"label_reshape\": \"\"}, \"validation_rate\": 0.2, "
                + "\"test_rate\": 0, \"total_msg\": null, \"dataset_restrictions\": {}, \"incremental\": true}";
    }

    /** A RAW record as Kafka-ML's sink sends it: key = label {@code uint8}, value = {@code float32} data, numpy order. */
    static ProducerRecord<byte[], byte[]> rawRecord(String topic, float[] row) {
        ByteBuffer value = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 4; i++) {
            value.putFloat(row[i]);
        }
        return new ProducerRecord<>(topic, new byte[] {(byte) row[4]}, value.array());
    }

    @Test
    void kafkaMlsOnlineControlMessageStartsAnIncrementalRunAndThreeBurstsPromoteImprovingVersions(
            EmbeddedKafkaBroker kafka) throws Exception {
        String control = "incr-control";
        String topic = "incr-iris";
        kafka.createTopic(topic, 1);
        List<float[]> rows = iris();
        try (Registry registry = Registry.connect(kafka.clientConfig(), "incr-it", Duration.ofSeconds(30));
                LocalTrainingLauncher launcher = new LocalTrainingLauncher(registry, kafka.clientConfig(), 1, null);
                KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(
                        Map.of("bootstrap.servers", kafka.bootstrapServers()),
                        new ByteArraySerializer(),
                        new ByteArraySerializer())) {
            registry.registerModel(ModelDefinition.of("iris-mlp", "", irisMlp().build()));
            registry.createConfiguration(new Configuration("iris", "", List.of("iris-mlp")));
            TrainingDeployments deployments = new TrainingDeployments(registry, launcher, control);
            deployments.deploy(
                    "iris",
                    TrainingSpec.builder()
                            .batchSize(8)
                            .epochs(20)
                            .seed(7)
                            .normalization(Normalization.STANDARDIZE)
                            .incremental(IncrementalSpec.builder()
                                    .windowRecords(50)
                                    .maxWindows(3)
                                    .streamTimeout(Duration.ofSeconds(60))
                                    .monitoring("loss", IncrementalSpec.Change.DOWN, 0.0)
                                    .build())
                            .build(),
                    "5");
            // Kafka-ML's OnlineRawSink sends its control message before its first record
            producer.send(new ProducerRecord<>(
                            control,
                            new byte[] {5},
                            kafkaMlOnlineControlJson(topic).getBytes(StandardCharsets.UTF_8)))
                    .get();
            for (int burst = 0; burst < 3; burst++) {
                for (float[] row : rows.subList(burst * 50, burst * 50 + 50)) {
                    producer.send(rawRecord(topic, row)).get();
                }
                int windows = burst + 1;
                Awaitility.await()
                        .atMost(Duration.ofMinutes(2))
                        .pollInterval(Duration.ofMillis(100))
                        .until(() -> registry.result("5.iris-mlp")
                                .map(r ->
                                        r.epochCount() >= windows || r.status().isTerminal())
                                .orElse(false));
            }
            assertThat(registry.awaitTerminal("5", Duration.ofMinutes(1))
                            .orElseThrow()
                            .status())
                    .isEqualTo(DeploymentStatus.FINISHED);
            TrainingResult result = registry.result("5.iris-mlp").orElseThrow();
            assertThat(result.epochCount()).isEqualTo(3);
            assertThat(result.artifact()).isEqualTo("5.iris-mlp.model");

            List<EpochMetrics> windows = registry.epochs("5.iris-mlp");
            assertThat(windows).extracting(EpochMetrics::epoch).containsExactly(1, 2, 3);
            for (EpochMetrics window : windows) {
                System.out.printf(
                        "window %d: %d records, prequential accuracy %.3f loss %.3f, hold-out accuracy %.3f loss %.3f%n",
                        window.epoch(),
                        window.records(),
                        window.prequential().get("accuracy"),
                        window.prequential().get("loss"),
                        window.validation().get("accuracy"),
                        window.validation().get("loss"));
                assertThat(window.records()).isEqualTo(50);
                assertThat(window.prequential()).containsKeys("accuracy", "loss");
                assertThat(window.validation()).containsKeys("accuracy", "loss");
            }
            // the model trained on windows 1-2 predicts window 3 better than the untrained one predicted window 1
            assertThat(windows.get(2).prequential().get("accuracy"))
                    .isGreaterThan(windows.get(0).prequential().get("accuracy"));

            JsonNode first = version(registry, "5.iris-mlp", 1);
            JsonNode second = version(registry, "5.iris-mlp", 2);
            System.out.println("promoted: " + first + "\n          " + second);
            assertThat(first.get("window").asInt()).isEqualTo(2);
            assertThat(second.get("window").asInt()).isEqualTo(3);
            assertThat(second.get("metrics").get("loss").asDouble())
                    .isLessThan(first.get("metrics").get("loss").asDouble());
            assertThat(first.get("offsets").get(topic + "-0").asLong()).isEqualTo(100);
            assertThat(second.get("offsets").get(topic + "-0").asLong()).isEqualTo(150);
            assertThat(registry.loadArtifact(second.get("artifact").asText())).isNotEmpty();
            // only the final model stays: the window checkpoints are deleted once the run ended
            assertThat(registry.artifact("5.iris-mlp.w3.checkpoint")).isEmpty();
            assertThat(registry.artifact("5.iris-mlp.w2.checkpoint")).isEmpty();
        }
    }

    static JsonNode version(Registry registry, String resultId, int version) throws Exception {
        return JSON.readTree(registry.loadArtifact(resultId + ".v" + version + ".version"));
    }

    /** The windows a worker's log says it fitted: window number → records. */
    static Map<Integer, Integer> windowsFitted(String log) {
        Map<Integer, Integer> windows = new java.util.TreeMap<>();
        Matcher m = Pattern.compile("model mlp window (\\d+): (\\d+) records").matcher(log);
        while (m.find()) {
            assertThat(windows.put(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))))
                    .as("window %s fitted twice in\n%s", m.group(1), log)
                    .isNull();
        }
        return windows;
    }

    @Test
    void aTrainerSigkilledBetweenBurstsResumesFromItsCommittedOffsetsWithoutRefittingOrSkipping(
            EmbeddedKafkaBroker kafka, @TempDir Path dir) throws Exception {
        String prefix = "incr-kill";
        String id = "31";
        ChildProcessIT.waitingDeployment(
                kafka,
                prefix,
                id,
                TrainingSpec.builder()
                        .batchSize(8)
                        .epochs(5)
                        .incremental(IncrementalSpec.builder()
                                .windowRecords(40)
                                .maxWindows(3)
                                .streamTimeout(Duration.ofMinutes(2))
                                .build())
                        .build());
        Map<String, String> environment = Map.of(
                "KAFKAML_ROLE",
                "train",
                "KAFKAML_BOOTSTRAP_SERVERS",
                kafka.bootstrapServers(),
                "KAFKAML_REGISTRY_PREFIX",
                prefix,
                "KAFKAML_DEPLOYMENT_ID",
                id,
                "KAFKAML_MODEL",
                "mlp");
        Path firstLog = dir.resolve("first.log");
        ProcessBuilder first = ChildProcessIT.kafkaml(firstLog, "worker");
        first.environment().putAll(environment);
        Process firstTrainer = first.start();
        kafka.createTopic("incr-kill-data", 1);
        Random random = new Random(4);
        String group = "kafkaml-incremental." + id + ".mlp";
        try (Registry registry = Registry.connect(kafka.clientConfig(), prefix, Duration.ofSeconds(30));
                Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()));
                RawDataSink sink = RawDataSink.builder(kafka.clientConfig())
                        .topic("incr-kill-data")
                        .deploymentId(id)
                        .labelType(RawType.UINT8)
                        .validationRate(0.25)
                        .online(true)
                        .build()) {
            sendBurst(sink, random);
            Awaitility.await()
                    .atMost(Duration.ofMinutes(2))
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> {
                        assertThat(firstTrainer.isAlive())
                                .as(Files.readString(firstLog))
                                .isTrue();
                        return committed(admin, group) == 40;
                    });
            firstTrainer.destroyForcibly(); // SIGKILL, between bursts
            assertThat(firstTrainer.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(registry.result(id + ".mlp").orElseThrow().status()).isEqualTo(DeploymentStatus.TRAINING);

            Path secondLog = dir.resolve("second.log");
            ProcessBuilder second = ChildProcessIT.kafkaml(secondLog, "worker");
            second.environment().putAll(environment);
            Process secondTrainer = second.start();
            sendBurst(sink, random);
            Awaitility.await()
                    .atMost(Duration.ofMinutes(2))
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> committed(admin, group) == 80 || !secondTrainer.isAlive());
            sendBurst(sink, random);
            assertThat(secondTrainer.waitFor(2, TimeUnit.MINUTES)).isTrue();
            String firstOutput = Files.readString(firstLog);
            String secondOutput = Files.readString(secondLog);
            assertThat(secondTrainer.exitValue()).as(secondOutput).isZero();
            assertThat(secondOutput).contains("resumes its incremental run after window 1");

            Map<Integer, Integer> before = windowsFitted(firstOutput);
            Map<Integer, Integer> after = windowsFitted(secondOutput);
            System.out.println("windows fitted before the SIGKILL " + before + ", after " + after);
            assertThat(before).isEqualTo(Map.of(1, 40));
            assertThat(after).isEqualTo(Map.of(2, 40, 3, 40));
            assertThat(committed(admin, group)).isEqualTo(120);
            TrainingResult result = registry.result(id + ".mlp").orElseThrow();
            assertThat(result.status()).isEqualTo(DeploymentStatus.FINISHED);
            assertThat(result.epochCount()).isEqualTo(3);
            assertThat(registry.epochs(id + ".mlp"))
                    .extracting(EpochMetrics::records)
                    .containsExactly(40L, 40L, 40L);
        }
    }

    static void sendBurst(RawDataSink sink, Random random) {
        for (int i = 0; i < 40; i++) {
            int label = i % 2;
            sink.send(new float[] {label * 3 + (float) random.nextGaussian(), (float) random.nextGaussian()}, label);
        }
        sink.flush();
    }

    static long committed(Admin admin, String group) throws Exception {
        Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets(group)
                .partitionsToOffsetAndMetadata()
                .get();
        OffsetAndMetadata offset = offsets.get(new TopicPartition("incr-kill-data", 0));
        return offset == null ? -1 : offset.offset();
    }
}
