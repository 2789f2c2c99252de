package io.kafkaml.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.format.raw.RawDataSink;
import io.kafkaml.format.raw.RawType;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.EpochMetrics;
import io.kafkaml.registry.ModelVersion;
import io.kafkaml.registry.Promotion;
import io.kafkaml.registry.Registry;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import io.kafkaml.training.IncrementalSpec;
import io.kafkaml.training.LocalTrainingLauncher;
import io.kafkaml.training.Normalization;
import io.kafkaml.training.PromotionPolicy;
import io.kafkaml.training.TrainingDeployments;
import io.kafkaml.training.TrainingSpec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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

    static NeuralNetConfiguration.ListBuilder digitsMlp() {
        return new NeuralNetConfiguration.Builder()
                .seed(5)
                .updater(new Adam(0.005))
                .list()
                .layer(new DenseLayer.Builder()
                        .nIn(64)
                        .nOut(32)
                        .activation(Activation.RELU)
                        .build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                        .nIn(32)
                        .nOut(10)
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
                + "\"description\": \"Digits dataset\", \"input_config\": {\"data_type\": \"float32\", \"label_type\": "
                + "\"uint8\", \"data_reshape\": \"64\", \"label_reshape\": \"\"}, \"validation_rate\": 0.2, "
                + "\"test_rate\": 0, \"total_msg\": null, \"dataset_restrictions\": {}, \"incremental\": true}";
    }

    /** A RAW record as Kafka-ML's sink sends it: key = label {@code uint8}, value = {@code float32} data, numpy order. */
    static ProducerRecord<byte[], byte[]> rawRecord(String topic, float[] row) {
        ByteBuffer value = ByteBuffer.allocate(64 * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 64; i++) {
            value.putFloat(row[i]);
        }
        return new ProducerRecord<>(topic, new byte[] {(byte) row[64]}, value.array());
    }

    @Test
    void kafkaMlsOnlineControlMessageStartsAnIncrementalRunAndThreeBurstsPromoteImprovingVersions(
            EmbeddedKafkaBroker kafka) throws Exception {
        String control = "incr-control";
        String topic = "incr-digits";
        kafka.createTopic(topic, 1);
        List<float[]> rows = SemiSupervisedIT.digits();
        String result = "5.digits-mlp";
        try (Registry registry = Registry.connect(kafka.clientConfig(), "incr-it", Duration.ofSeconds(30));
                LocalTrainingLauncher launcher = new LocalTrainingLauncher(registry, kafka.clientConfig(), 1, null);
                KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(
                        Map.of("bootstrap.servers", kafka.bootstrapServers()),
                        new ByteArraySerializer(),
                        new ByteArraySerializer())) {
            registry.registerModel(
                    ModelDefinition.of("digits-mlp", "", digitsMlp().build()));
            registry.createConfiguration(new Configuration("digits", "", List.of("digits-mlp")));
            TrainingDeployments deployments = new TrainingDeployments(registry, launcher, control);
            deployments.deploy(
                    "digits",
                    TrainingSpec.builder()
                            .batchSize(16)
                            .epochs(1)
                            .seed(7)
                            .normalization(Normalization.MIN_MAX)
                            .incremental(IncrementalSpec.builder()
                                    .windowRecords(300)
                                    .maxWindows(3)
                                    .streamTimeout(Duration.ofSeconds(60))
                                    .monitoring("loss", PromotionPolicy.Direction.DOWN, 0.0)
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
                for (float[] row : rows.subList(burst * 300, burst * 300 + 300)) {
                    producer.send(rawRecord(topic, row));
                }
                producer.flush();
                int windows = burst + 1;
                Awaitility.await()
                        .atMost(Duration.ofMinutes(2))
                        .pollInterval(Duration.ofMillis(100))
                        .until(() -> registry.result(result)
                                .map(r ->
                                        r.epochCount() >= windows || r.status().isTerminal())
                                .orElse(false));
            }
            assertThat(registry.awaitTerminal("5", Duration.ofMinutes(1))
                            .orElseThrow()
                            .status())
                    .isEqualTo(DeploymentStatus.FINISHED);
            TrainingResult trained = registry.result(result).orElseThrow();
            assertThat(trained.epochCount()).isEqualTo(3);
            assertThat(trained.artifact()).isEqualTo(result + ".model");

            List<EpochMetrics> windows = registry.epochs(result);
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
                assertThat(window.records()).isEqualTo(300);
                assertThat(window.prequential()).containsKeys("accuracy", "loss");
                assertThat(window.validation()).containsKeys("accuracy", "loss");
            }
            // test-then-train: the model trained on windows 1-2 predicts window 3 better than the untrained one
            // predicted window 1
            assertThat(windows.get(2).prequential().get("accuracy"))
                    .isGreaterThan(windows.get(0).prequential().get("accuracy"));

            List<ModelVersion> versions = registry.versions(result);
            List<Promotion> promotions = registry.promotions(result);
            versions.forEach(v -> System.out.println("version " + v.version() + " "
                    + v.metrics().get("val_loss") + " offsets " + v.offsets() + ": " + v.reason()));
            assertThat(versions).hasSizeGreaterThanOrEqualTo(2);
            assertThat(promotions).hasSameSizeAs(versions);
            for (int i = 1; i < versions.size(); i++) {
                assertThat(versions.get(i).metrics().get("val_loss"))
                        .isLessThan(versions.get(i - 1).metrics().get("val_loss"));
                assertThat(versions.get(i).offsets().get(topic + "-0"))
                        .isGreaterThan(versions.get(i - 1).offsets().get(topic + "-0"));
            }
            assertThat(registry.promotedVersion(result).orElseThrow().version())
                    .isEqualTo(versions.get(versions.size() - 1).version());
            assertThat(registry.loadVersionModel(
                            result, versions.get(versions.size() - 1).version()))
                    .isNotEmpty();
            // only the final model stays: the window checkpoints are deleted once the run ended (the last one just
            // after the runner recorded FINISHED, which awaitTerminal may have seen first)
            Awaitility.await()
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> registry.artifact(result + ".w3.checkpoint").isEmpty());
            assertThat(registry.artifact(result + ".w3.checkpoint")).isEmpty();
            assertThat(registry.artifact(result + ".w2.checkpoint")).isEmpty();

            // a rollback by hand from the command line pins the result; unpin releases it
            K8sRenderSettingsTest.Result rolledBack = K8sRenderSettingsTest.run(
                    "results",
                    "promote",
                    result,
                    "--version",
                    "1",
                    "--bootstrap-servers",
                    kafka.bootstrapServers(),
                    "--registry-prefix",
                    "incr-it");
            assertThat(rolledBack.status()).as(rolledBack.err()).isZero();
            assertThat(rolledBack.out())
                    .contains("rolled back " + result + " to version 1")
                    .contains("pinned")
                    .contains("kafkaml results unpin " + result);
            registry.syncVersions();
            assertThat(registry.latestPromotion(result).orElseThrow().pinned()).isTrue();
            K8sRenderSettingsTest.Result unpinned = K8sRenderSettingsTest.run(
                    "results",
                    "unpin",
                    result,
                    "--bootstrap-servers",
                    kafka.bootstrapServers(),
                    "--registry-prefix",
                    "incr-it");
            assertThat(unpinned.status()).as(unpinned.err()).isZero();
            assertThat(unpinned.out()).contains("unpinned " + result);
            registry.syncVersions();
            assertThat(registry.latestPromotion(result).orElseThrow().pinned()).isFalse();
            assertThat(registry.promotedVersion(result).orElseThrow().version()).isEqualTo(1);
        }
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
        // kafkaml's INFO lines (one per window) in the workers' logs: the CLI's own configuration shows warnings only
        Path logging = Files.writeString(
                dir.resolve("log4j2.xml"),
                "<Configuration><Appenders><Console name=\"out\" target=\"SYSTEM_ERR\"><PatternLayout "
                        + "pattern=\"%msg%n\"/></Console></Appenders><Loggers><Logger name=\"io.kafkaml\" "
                        + "level=\"INFO\"/><Root level=\"WARN\"><AppenderRef ref=\"out\"/></Root></Loggers>"
                        + "</Configuration>");
        List<String> jvm = List.of("-Dlog4j2.configurationFile=" + logging);
        Path firstLog = dir.resolve("first.log");
        ProcessBuilder first = ChildProcessIT.kafkaml(firstLog, jvm, "worker");
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
            // the child wrote the result: this registry, opened while it started, may not have read it yet
            Awaitility.await()
                    .atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> registry.result(id + ".mlp").isPresent());
            assertThat(registry.result(id + ".mlp").orElseThrow().status()).isEqualTo(DeploymentStatus.TRAINING);

            Path secondLog = dir.resolve("second.log");
            ProcessBuilder second = ChildProcessIT.kafkaml(secondLog, jvm, "worker");
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
            // written by the second child before it exited: read once this registry has caught up
            Awaitility.await()
                    .atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> registry.result(id + ".mlp")
                            .map(r -> r.status().isTerminal())
                            .orElse(false));
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
