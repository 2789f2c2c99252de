package io.kafkaml.samples.hcopd;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.control.ControlChannel;
import io.kafkaml.control.ControlMessage;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.ControlLogger;
import io.kafkaml.registry.Datasource;
import io.kafkaml.registry.Deployment;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.EpochMetrics;
import io.kafkaml.registry.Registry;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.stream.StreamSlice;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import io.kafkaml.training.LocalTrainingLauncher;
import io.kafkaml.training.Normalization;
import io.kafkaml.training.TrainingDeployments;
import io.kafkaml.training.TrainingHandle;
import io.kafkaml.training.TrainingListener;
import io.kafkaml.training.TrainingSpec;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.awaitility.Awaitility;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/** The paper's validation, end to end: HCOPD sent with AvroDataSink, three models trained from the stream. */
@ExtendWith(EmbeddedKafkaExtension.class)
class HcopdTrainingIT {

    static final List<Hcopd.Row> ROWS = Hcopd.read(Hcopd.defaultCsv());
    static Registry registry;
    static LocalTrainingLauncher launcher;
    static TrainingDeployments deployments;
    static ControlLogger logger;
    static final Map<String, AtomicInteger> EPOCHS_SEEN = new ConcurrentHashMap<>();

    @BeforeAll
    static void start(EmbeddedKafkaBroker kafka) {
        registry = Registry.connect(kafka.clientConfig());
        logger = ControlLogger.start(kafka.clientConfig(), registry);
        launcher = new LocalTrainingLauncher(registry, kafka.clientConfig(), 2, new TrainingListener() {
            @Override
            public void onEpoch(String deploymentId, String model, EpochMetrics metrics, int totalEpochs) {
                EPOCHS_SEEN
                        .computeIfAbsent(deploymentId + "." + model, k -> new AtomicInteger())
                        .incrementAndGet();
            }
        });
        deployments = new TrainingDeployments(registry, launcher);
        Hcopd.models("hcopd", 42).forEach(registry::registerModel);
        registry.createConfiguration(new Configuration(
                "hcopd-all", "the paper's model and two variants", List.of("hcopd-paper", "hcopd-wide", "hcopd-deep")));
    }

    @AfterAll
    static void stop() {
        launcher.close();
        logger.close();
        registry.close();
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

    /** The same spec for a deployment made after its stream was sent: it reuses the earlier stream. */
    static TrainingSpec reusing(int epochs) {
        return TrainingSpec.builder()
                .batchSize(10)
                .epochs(epochs)
                .shuffle(true)
                .seed(42)
                .normalization(Normalization.STANDARDIZE)
                .controlTimeout(Duration.ofSeconds(60))
                .reuseStream(true)
                .build();
    }

    @Test
    void theConfigurationTrainsFromTheAvroStreamAndBeatsTheMajorityClass(EmbeddedKafkaBroker kafka) throws Exception {
        assertThat(ROWS).hasSize(239);
        kafka.createTopic("hcopd", 3);
        TrainingHandle handle = deployments.deploy("hcopd-all", spec(60));
        assertThat(registry.deployment(handle.deploymentId()).orElseThrow().status())
                .isIn(DeploymentStatus.WAITING_FOR_DATA, DeploymentStatus.TRAINING);
        Hcopd.send(kafka.clientConfig(), "hcopd", handle.deploymentId(), ROWS, 0.1, 0.1);
        assertThat(handle.await(Duration.ofMinutes(5))).contains(DeploymentStatus.FINISHED);

        List<TrainingResult> results = registry.results(handle.deploymentId());
        assertThat(results).hasSize(3).allSatisfy(result -> {
            assertThat(result.status()).isEqualTo(DeploymentStatus.FINISHED);
            assertThat(result.epochCount()).isEqualTo(60);
            assertThat(result.lastEpoch().validation()).containsKeys("accuracy", "f1", "loss");
            List<EpochMetrics> history = registry.epochs(result.id());
            assertThat(history)
                    .extracting(EpochMetrics::epoch)
                    .containsExactlyElementsOf(java.util.stream.IntStream.rangeClosed(1, 60)
                            .boxed()
                            .toList());
            assertThat(history.get(59)).isEqualTo(result.lastEpoch());
            assertThat(result.testMetrics()).containsKeys("accuracy", "precision", "recall", "f1", "loss");
            assertThat(result.confusionMatrix()).hasDimensions(2, 2);
            long tested = result.confusionMatrix()[0][0]
                    + result.confusionMatrix()[0][1]
                    + result.confusionMatrix()[1][0]
                    + result.confusionMatrix()[1][1];
            assertThat(tested).isEqualTo(24); // round(239 × 0.1)
            assertThat(result.artifact()).isNotNull();
            assertThat(result.normalizerArtifact()).isNotNull();
            assertThat(EPOCHS_SEEN.get(result.id())).hasValue(60);
        });
        results.forEach(r -> System.out.printf(
                "HCOPD %s test accuracy %.4f f1 %.4f, last validation accuracy %.4f, %d ms%n",
                r.model(),
                r.testMetrics().get("accuracy"),
                r.testMetrics().get("f1"),
                r.lastEpoch().validation().get("accuracy"),
                r.trainingMillis()));
        double best = results.stream()
                .mapToDouble(r -> r.testMetrics().get("accuracy"))
                .max()
                .orElseThrow();
        assertThat(best)
                .as("best test accuracy vs the majority class (160/239 = 0.67)")
                .isGreaterThan(0.67);

        TrainingResult paper =
                registry.result(handle.deploymentId() + ".hcopd-paper").orElseThrow();
        MultiLayerNetwork trained = ModelSerializer.restoreMultiLayerNetwork(
                new ByteArrayInputStream(registry.loadArtifact(paper.artifact())), false);
        assertThat(trained.numParams()).isEqualTo(26);
        assertThat(registry.deployment(handle.deploymentId()).orElseThrow().status())
                .isEqualTo(DeploymentStatus.FINISHED);
    }

    @Test
    void aRecordedStreamIsReusedByASecondDeploymentWithoutSendingTheDataAgain(EmbeddedKafkaBroker kafka) {
        kafka.createTopic("hcopd-reuse", 1);
        Hcopd.send(kafka.clientConfig(), "hcopd-reuse", "reuse-1", ROWS, 0.1, 0.1); // sent before any deployment
        // A stream sent before its deployment is trained on only when the deployment says it reuses a stream.
        TrainingHandle first = deployments.deploy("hcopd-all", reusing(5), "reuse-1");
        assertThat(first.await(Duration.ofMinutes(3))).contains(DeploymentStatus.FINISHED);
        long end = kafka.logEndOffset(new TopicPartition("hcopd-reuse", 0));

        Awaitility.await().atMost(30, TimeUnit.SECONDS).until(() -> datasourceFor("reuse-1") != null);
        Datasource recorded = datasourceFor("reuse-1");
        TrainingHandle second = deployments.deploy("hcopd-all", spec(5), "reuse-2");
        ControlMessage resent = registry.resend(recorded.id(), "reuse-2");
        assertThat(resent.slices()).isEqualTo(recorded.message().slices());
        assertThat(second.await(Duration.ofMinutes(3))).contains(DeploymentStatus.FINISHED);
        assertThat(registry.results("reuse-2"))
                .hasSize(3)
                .allSatisfy(r -> assertThat(r.status()).isEqualTo(DeploymentStatus.FINISHED));
        assertThat(kafka.logEndOffset(new TopicPartition("hcopd-reuse", 0)))
                .as("no data sent again")
                .isEqualTo(end);
    }

    static Datasource datasourceFor(String deploymentId) {
        return registry.datasources().stream()
                .filter(d -> d.deploymentId().equals(deploymentId))
                .findFirst()
                .orElse(null);
    }

    @Test
    void anExpiredStreamEndsFailedWithAClearReason(EmbeddedKafkaBroker kafka) {
        kafka.createTopic("hcopd-expired", 1);
        Hcopd.send(kafka.clientConfig(), "hcopd-expired", "expired-1", ROWS, 0.1, 0.1);
        kafka.deleteRecordsBefore(new TopicPartition("hcopd-expired", 0), 50);
        TrainingHandle handle = deployments.deploy("hcopd-all", reusing(3), "expired-1");
        assertThat(handle.await(Duration.ofMinutes(2))).contains(DeploymentStatus.FAILED);
        Deployment deployment = registry.deployment("expired-1").orElseThrow();
        assertThat(deployment.error())
                .contains("hcopd-expired:0:0:239 has expired")
                .contains("now starts at offset 50");
        assertThat(registry.results("expired-1")).allSatisfy(r -> {
            assertThat(r.status()).isEqualTo(DeploymentStatus.FAILED);
            assertThat(r.error()).contains("has expired");
        });
    }

    @Test
    void aStreamWithABadRecordEndsFailedNamingTheRecord(EmbeddedKafkaBroker kafka) throws Exception {
        kafka.createTopic("hcopd-bad", 1);
        ControlMessage good = Hcopd.send(
                        kafka.clientConfig(), "hcopd-bad", "bad-source", ROWS.subList(0, 100), 0.1, 0.1)
                .controlMessage();
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(kafka.clientConfig(), new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(
                            "hcopd-bad", new byte[] {2}, "{\"gender\": 1}".getBytes(StandardCharsets.UTF_8)))
                    .get(10, TimeUnit.SECONDS);
        }
        ControlMessage withBadRecord = good.toBuilder()
                .slices(List.of(StreamSlice.of("hcopd-bad", 0, 0, 101)))
                .totalMessages(101)
                .deploymentId("bad-1")
                .build();
        TrainingHandle handle = deployments.deploy("hcopd-all", spec(3), "bad-1");
        try (ControlChannel control = ControlChannel.create(kafka.clientConfig())) {
            control.publish(withBadRecord, Duration.ofSeconds(10));
        }
        assertThat(handle.await(Duration.ofMinutes(2))).contains(DeploymentStatus.FAILED);
        assertThat(registry.deployment("bad-1").orElseThrow().error()).contains("Cannot decode record hcopd-bad-0@100");
    }

    @Test
    void aModelWhoseOutputsDoNotMatchTheLabelsEndsFailedSayingSo(EmbeddedKafkaBroker kafka) {
        registry.registerModel(ModelDefinition.of(
                "two-outputs-regression",
                "",
                new NeuralNetConfiguration.Builder()
                        .list()
                        .layer(new DenseLayer.Builder()
                                .nIn(3)
                                .nOut(4)
                                .activation(Activation.RELU)
                                .build())
                        .layer(new OutputLayer.Builder(LossFunction.MSE)
                                .nIn(4)
                                .nOut(2)
                                .activation(Activation.IDENTITY)
                                .build())
                        .build()));
        registry.createConfiguration(new Configuration("mismatch", "", List.of("two-outputs-regression")));
        kafka.createTopic("hcopd-mismatch", 1);
        Hcopd.send(kafka.clientConfig(), "hcopd-mismatch", "mismatch-1", ROWS, 0.1, 0.1);
        TrainingHandle handle = deployments.deploy("mismatch", reusing(3), "mismatch-1");
        assertThat(handle.await(Duration.ofMinutes(2))).contains(DeploymentStatus.FAILED);
        assertThat(registry.deployment("mismatch-1").orElseThrow().error())
                .contains(
                        "model 'two-outputs-regression': the model has 2 outputs but the stream's labels have 1 value "
                                + "per record");
    }

    @Test
    void aDeploymentCanBeCancelledWhileItWaitsOrTrains(EmbeddedKafkaBroker kafka) {
        TrainingHandle waiting = deployments.deploy("hcopd-all", spec(3), "cancel-1");
        Awaitility.await()
                .atMost(10, TimeUnit.SECONDS)
                .until(() ->
                        registry.deployment("cancel-1").orElseThrow().status() == DeploymentStatus.WAITING_FOR_DATA);
        waiting.cancel();
        assertThat(waiting.await(Duration.ofSeconds(30))).contains(DeploymentStatus.CANCELLED);

        kafka.createTopic("hcopd-cancel", 1);
        Hcopd.send(kafka.clientConfig(), "hcopd-cancel", "cancel-2", ROWS, 0.1, 0.1);
        TrainingHandle training = deployments.deploy("hcopd-all", reusing(100_000), "cancel-2");
        Awaitility.await()
                .atMost(60, TimeUnit.SECONDS)
                .until(() -> registry.results("cancel-2").stream().anyMatch(r -> r.epochCount() >= 2));
        training.cancel();
        assertThat(training.await(Duration.ofSeconds(30))).contains(DeploymentStatus.CANCELLED);
        assertThat(registry.results("cancel-2"))
                .allSatisfy(r -> assertThat(r.status()).isEqualTo(DeploymentStatus.CANCELLED));
    }
}
