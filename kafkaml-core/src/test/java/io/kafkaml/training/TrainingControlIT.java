package io.kafkaml.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.control.ControlChannel;
import io.kafkaml.control.ControlMessage;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.Deployment;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.Registry;
import io.kafkaml.sink.RecordDataSink;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import io.kafkaml.testkit.SharedData;
import io.kafkaml.training.internals.TrainingRunner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * Which control message a deployment accepts, ids that stay unique on a shared control topic, and waiting
 * deployments that cost no thread of a {@link LocalTrainingLauncher}.
 */
@ExtendWith(EmbeddedKafkaExtension.class)
class TrainingControlIT {

    static Registry registry;
    /** Records deployments only, as the Kubernetes launcher does before a worker process runs them. */
    static final TrainingLauncher RECORD_ONLY = new TrainingLauncher() {
        @Override
        public TrainingHandle launch(TrainingJob job) {
            return null;
        }

        @Override
        public void close() {}
    };

    @BeforeAll
    static void registerATinyModel(EmbeddedKafkaBroker kafka) {
        registry = Registry.connect(kafka.clientConfig(), "control-it", Duration.ofSeconds(30));
        var conf = new NeuralNetConfiguration.Builder()
                .seed(3)
                .list()
                .layer(new DenseLayer.Builder()
                        .nIn(3)
                        .nOut(4)
                        .activation(Activation.TANH)
                        .build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                        .nIn(4)
                        .nOut(2)
                        .activation(Activation.SOFTMAX)
                        .build())
                .build();
        registry.registerModel(ModelDefinition.of("tiny", "", conf));
        registry.createConfiguration(new Configuration("tiny-only", "", List.of("tiny")));
    }

    @AfterAll
    static void close() {
        registry.close();
    }

    static TrainingSpec spec(boolean reuse) {
        return TrainingSpec.builder().batchSize(5).epochs(2).reuseStream(reuse).build();
    }

    /** Sends 20 rows to {@code topic} for {@code deploymentId}; closing the sink publishes the control message. */
    static ControlMessage send(EmbeddedKafkaBroker kafka, String topic, String controlTopic, String deploymentId) {
        try (RecordDataSink sink = RecordDataSink.builder(kafka.clientConfig())
                .format("JSON")
                .inputConfig(Map.of("data_reshape", "3"))
                .topic(topic)
                .controlTopic(controlTopic)
                .deploymentId(deploymentId)
                .build()) {
            for (int i = 0; i < 20; i++) {
                sink.send(new double[] {i % 2, i / 20.0, 1 - i % 2}, i % 2);
            }
            sink.close();
            return sink.controlMessage();
        }
    }

    static String trainedTopic(String deploymentId) {
        Deployment deployment = registry.deployment(deploymentId).orElseThrow();
        return ControlMessage.fromJson(deployment.controlMessage())
                .slices()
                .get(0)
                .topic();
    }

    @Test
    void aStaleControlMessageIsIgnoredAndAnExplicitReuseStillTrains(EmbeddedKafkaBroker kafka) {
        String control = "control-stale";
        ControlMessage stale = send(kafka, "stale-data", control, "7"); // before deployment 7 exists
        send(kafka, "reused-data", control, "8"); // before deployment 8 exists
        try (LocalTrainingLauncher launcher = new LocalTrainingLauncher(registry, kafka.clientConfig(), 2, null)) {
            TrainingDeployments deployments = new TrainingDeployments(registry, launcher, control);
            TrainingHandle seven = deployments.deploy("tiny-only", spec(false), "7");
            TrainingHandle eight = deployments.deploy("tiny-only", spec(true), "8");

            assertThat(eight.await(Duration.ofMinutes(2))).contains(DeploymentStatus.FINISHED);
            assertThat(trainedTopic("8")).isEqualTo("reused-data");
            // The runner ended the result itself: it recorded where the run's history ends, and epochs stops there.
            assertThat(registry.result("8.tiny").orElseThrow().metricsEnd()).isNotNull();
            assertThat(registry.epochs("8.tiny"))
                    .extracting(io.kafkaml.registry.EpochMetrics::epoch)
                    .containsExactly(1, 2);
            // 7 saw its stale message long ago (same listener, same topic) and did not take it:
            assertThat(registry.deployment("7").orElseThrow().status()).isEqualTo(DeploymentStatus.WAITING_FOR_DATA);

            send(kafka, "fresh-data", control, "7");
            assertThat(seven.await(Duration.ofMinutes(2))).contains(DeploymentStatus.FINISHED);
            assertThat(trainedTopic("7"))
                    .isEqualTo("fresh-data")
                    .isNotEqualTo(stale.slices().get(0).topic());
        }
    }

    @Test
    void theWorkersOwnWaitIgnoresAStaleMessageToo(EmbeddedKafkaBroker kafka) {
        String control = "control-worker";
        send(kafka, "worker-stale", control, "worker-1");
        TrainingDeployments recorder = new TrainingDeployments(registry, RECORD_ONLY, control);
        recorder.deploy("tiny-only", spec(false), "worker-1");
        Thread sender = new Thread(() -> send(kafka, "worker-fresh", control, "worker-1"));
        TrainingRunner runner = new TrainingRunner(
                TrainingJob.recorded(registry, "worker-1", control), registry, kafka.clientConfig(), null);
        sender.start(); // the runner reads past the stale message and waits for this one
        runner.run();
        assertThat(runner.finalStatus()).isEqualTo(DeploymentStatus.FINISHED);
        assertThat(trainedTopic("worker-1")).isEqualTo("worker-fresh");
    }

    @Test
    void newIdsAreAboveEveryIdNamedOnTheSharedControlTopic(EmbeddedKafkaBroker kafka) throws Exception {
        String control = "control-ids";
        try (ControlChannel channel = registry.controlChannel(control)) {
            channel.publish(
                    ControlMessage.builder()
                            .slices(List.of(io.kafkaml.stream.StreamSlice.of("x", 0, 0, 1)))
                            .inputFormat("JSON")
                            .totalMessages(1)
                            .deploymentId("40")
                            .build(),
                    Duration.ofSeconds(10));
        }
        TrainingDeployments deployments = new TrainingDeployments(registry, RECORD_ONLY, control);
        assertThat(Long.parseLong(deployments.nextDeploymentId())).isEqualTo(41);
        // Kafka-ML's own message: the id only in the key, as one byte (here 0x2a = 42).
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(kafka.clientConfig(), new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(control, new byte[] {42}, Files.readAllBytes(onlineCase())))
                    .get(10, TimeUnit.SECONDS);
        }
        assertThat(deployments.nextDeploymentId()).isEqualTo("43");
    }

    static Registry registryWithTheTinyModel(EmbeddedKafkaBroker kafka, String prefix) {
        Registry other = Registry.connect(kafka.clientConfig(), prefix, Duration.ofSeconds(30));
        other.registerModel(registry.model("tiny").orElseThrow());
        other.createConfiguration(registry.configuration("tiny-only").orElseThrow());
        return other;
    }

    @Test
    void twoRegistriesDeployingAtTheSameInstantNeverGetTheSameId(EmbeddedKafkaBroker kafka) throws Exception {
        String control = "control-race";
        int perDeployer = 3;
        try (Registry a = registryWithTheTinyModel(kafka, "race-a");
                Registry b = registryWithTheTinyModel(kafka, "race-b")) {
            // Two deployers per registry (each TrainingDeployments serializes its own calls only), all released at
            // once.
            List<TrainingDeployments> deployers = List.of(
                    new TrainingDeployments(a, RECORD_ONLY, control),
                    new TrainingDeployments(a, RECORD_ONLY, control),
                    new TrainingDeployments(b, RECORD_ONLY, control),
                    new TrainingDeployments(b, RECORD_ONLY, control));
            java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(deployers.size());
            java.util.concurrent.ExecutorService pool =
                    java.util.concurrent.Executors.newFixedThreadPool(deployers.size());
            try {
                List<java.util.concurrent.Future<?>> futures = new ArrayList<>();
                for (TrainingDeployments deployer : deployers) {
                    futures.add(pool.submit(() -> {
                        start.await(30, TimeUnit.SECONDS);
                        for (int i = 0; i < perDeployer; i++) {
                            deployer.deploy("tiny-only", spec(false)); // records only: the id is in the registry
                        }
                        return null;
                    }));
                }
                for (var future : futures) {
                    future.get(2, TimeUnit.MINUTES);
                }
                List<String> ids = new ArrayList<>();
                a.deployments().forEach(d -> ids.add(d.id()));
                b.deployments().forEach(d -> ids.add(d.id()));
                assertThat(ids)
                        .hasSize(deployers.size() * perDeployer)
                        .doesNotHaveDuplicates()
                        .allMatch(id -> id.matches("[1-9][0-9]*"));
            } finally {
                pool.shutdownNow();
            }
            // An id chosen by hand in one registry is skipped by the ids the other claims later.
            new TrainingDeployments(a, RECORD_ONLY, control).deploy("tiny-only", spec(false), "500");
            assertThat(new TrainingDeployments(b, RECORD_ONLY, control).nextDeploymentId())
                    .isEqualTo("501");
            new TrainingDeployments(b, RECORD_ONLY, control).deploy("tiny-only", spec(false));
            assertThat(b.deployment("501")).isPresent();
        }
    }

    @Test
    void anExplicitIdAnotherRegistryClaimedIsRefused(EmbeddedKafkaBroker kafka) {
        String control = "control-claimed";
        try (Registry a = registryWithTheTinyModel(kafka, "claimed-a");
                Registry b = registryWithTheTinyModel(kafka, "claimed-b")) {
            new TrainingDeployments(a, RECORD_ONLY, control).deploy("tiny-only", spec(false));
            String taken = a.deployments().get(0).id();
            assertThatThrownBy(() ->
                            new TrainingDeployments(b, RECORD_ONLY, control).deploy("tiny-only", spec(false), taken))
                    .isInstanceOf(io.kafkaml.registry.DuplicateEntityException.class)
                    .hasMessageContaining("registry 'claimed-a'")
                    .hasMessageContaining(control);
            assertThat(b.deployment(taken)).isEmpty();
            // An id nobody claimed is the caller's choice.
            new TrainingDeployments(b, RECORD_ONLY, control).deploy("tiny-only", spec(false), "70");
            assertThat(b.deployment("70")).isPresent();
        }
    }

    @Test
    void aClaimsTopicWithSeveralPartitionsOrExpiringClaimsIsRefusedWithTheFix(EmbeddedKafkaBroker kafka) {
        kafka.createTopic("control-multi" + ControlChannel.ID_CLAIMS_SUFFIX, 3);
        assertThatThrownBy(() -> new TrainingDeployments(registry, RECORD_ONLY, "control-multi")
                        .deploy("tiny-only", spec(false)))
                .isInstanceOf(io.kafkaml.common.KafkaMlException.class)
                .hasMessageContaining("control-multi-deployment-ids' has 3 partitions")
                .hasMessageContaining("exactly 1");
        kafka.createTopic("control-expiring" + ControlChannel.ID_CLAIMS_SUFFIX, 1, Map.of("cleanup.policy", "delete"));
        assertThatThrownBy(() -> new TrainingDeployments(registry, RECORD_ONLY, "control-expiring")
                        .deploy("tiny-only", spec(false)))
                .isInstanceOf(io.kafkaml.common.KafkaMlException.class)
                .hasMessageContaining("cleanup.policy=delete")
                .hasMessageContaining("cleanup.policy=compact");
        // A compacted one-partition topic created by an administrator is used as is.
        kafka.createTopic("control-admin" + ControlChannel.ID_CLAIMS_SUFFIX, 1, Map.of("cleanup.policy", "compact"));
        TrainingDeployments admin = new TrainingDeployments(registry, RECORD_ONLY, "control-admin");
        String id = admin.nextDeploymentId();
        admin.deploy("tiny-only", spec(false));
        assertThat(registry.deployment(id)).isPresent();
    }

    @Test
    void kafkaMlsOnlineControlMessageStartsAnIncrementalRunThatFailsWhenItsTopicNeverAppears(EmbeddedKafkaBroker kafka)
            throws Exception {
        String control = "control-online";
        try (LocalTrainingLauncher launcher = new LocalTrainingLauncher(registry, kafka.clientConfig(), 1, null)) {
            TrainingHandle handle = new TrainingDeployments(registry, launcher, control)
                    .deploy(
                            "tiny-only",
                            TrainingSpec.builder()
                                    .incremental(IncrementalSpec.builder()
                                            .streamTimeout(Duration.ofSeconds(2))
                                            .build())
                                    .build(),
                            "online-1");
            try (KafkaProducer<byte[], byte[]> producer =
                    new KafkaProducer<>(kafka.clientConfig(), new ByteArraySerializer(), new ByteArraySerializer())) {
                // Kafka-ML's online message, its RAW 8x8 digits made the JSON rows of 3 values this model takes
                // (core has no RAW format; IncrementalTrainingIT trains on its exact RAW bytes)
                String json = Files.readString(onlineCase())
                        .trim()
                        .replace("\"RAW\"", "\"JSON\"")
                        .replaceAll("\"input_config\": \\{[^}]*}", "\"input_config\": {\"data_reshape\": \"3\"}");
                json = json.substring(0, json.length() - 1) + ", \"deployment_id\": \"online-1\"}";
                producer.send(new ProducerRecord<>(control, null, json.getBytes()))
                        .get(10, TimeUnit.SECONDS);
            }
            assertThat(handle.await(Duration.ofMinutes(1))).contains(DeploymentStatus.FAILED);
            assertThat(registry.deployment("online-1").orElseThrow().error())
                    .contains("incremental stream")
                    .contains("'automl'")
                    .contains("did not appear within the stream timeout of 2000 ms")
                    .doesNotContain("Malformed")
                    .doesNotContain("total_msg");
        }
    }

    @Test
    void tenWaitingDeploymentsDoNotBlockAnEleventhOnTwoThreads(EmbeddedKafkaBroker kafka) {
        String control = "control-many";
        try (LocalTrainingLauncher launcher = new LocalTrainingLauncher(registry, kafka.clientConfig(), 2, null)) {
            TrainingDeployments deployments = new TrainingDeployments(registry, launcher, control);
            List<TrainingHandle> waiting = new ArrayList<>();
            for (int i = 1; i <= 10; i++) {
                waiting.add(deployments.deploy("tiny-only", spec(false), "many-" + i));
            }
            TrainingHandle eleventh = deployments.deploy("tiny-only", spec(false), "many-11");
            send(kafka, "many-data", control, "many-11");
            assertThat(eleventh.await(Duration.ofMinutes(1))).contains(DeploymentStatus.FINISHED);
            for (TrainingHandle handle : waiting) {
                assertThat(registry.deployment(handle.deploymentId())
                                .orElseThrow()
                                .status())
                        .isEqualTo(DeploymentStatus.WAITING_FOR_DATA);
                assertThat(handle.await(Duration.ZERO)).isEmpty();
            }
            assertThat(Thread.getAllStackTraces().keySet().stream()
                            .map(Thread::getName)
                            .filter(name -> name.startsWith("kafkaml-control-listener | " + control)))
                    .hasSize(1);
            waiting.get(0).cancel();
            assertThat(waiting.get(0).await(Duration.ofSeconds(30))).contains(DeploymentStatus.CANCELLED);
        }
    }

    static Path onlineCase() {
        return SharedData.cases("online-control-message", "control-message.json");
    }
}
