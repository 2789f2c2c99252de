package io.kafkaml.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.control.ControlChannel;
import io.kafkaml.control.ControlMessage;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.sink.DataSink;
import io.kafkaml.sink.RecordDataSink;
import io.kafkaml.stream.StreamDataset;
import io.kafkaml.stream.StreamRecord;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import io.kafkaml.training.TrainingJob;
import io.kafkaml.training.TrainingSpec;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.awaitility.Awaitility;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

@ExtendWith(EmbeddedKafkaExtension.class)
class RegistryIT {

    static MultiLayerConfiguration mlp(int in, int hidden, int out) {
        return new NeuralNetConfiguration.Builder()
                .seed(7)
                .list()
                .layer(new DenseLayer.Builder()
                        .nIn(in)
                        .nOut(hidden)
                        .activation(Activation.RELU)
                        .build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                        .nIn(hidden)
                        .nOut(out)
                        .activation(Activation.SOFTMAX)
                        .build())
                .build();
    }

    @Test
    void everythingRegisteredIsThereForANewClient(EmbeddedKafkaBroker kafka) {
        ModelDefinition model = ModelDefinition.of("hcopd", "paper", mlp(3, 4, 2));
        Deployment deployment = new Deployment(
                "dep-1",
                "hcopd-all",
                DeploymentStatus.WAITING_FOR_DATA,
                null,
                Map.of("batchSize", 10, "epochs", 100),
                Instant.parse("2026-11-27T10:00:00Z"),
                Instant.parse("2026-11-27T10:00:00Z"),
                null);
        TrainingResult result = new TrainingResult(
                "dep-1.hcopd",
                "dep-1",
                "hcopd",
                DeploymentStatus.FINISHED,
                List.of(new EpochMetrics(1, 0.69, Map.of("accuracy", 0.5), 12)),
                Map.of("accuracy", 0.75),
                new long[][] {{10, 2}, {3, 9}},
                1234,
                "art-1",
                null,
                null,
                Instant.parse("2026-11-27T10:01:00Z"));
        try (Registry registry = Registry.connect(kafka.clientConfig(), "reg1", Duration.ofSeconds(30))) {
            registry.registerModel(model);
            assertThat(registry.model("hcopd")).contains(model);
            registry.createConfiguration(new Configuration("hcopd-all", "all", List.of("hcopd")));
            registry.createDeployment(deployment);
            registry.updateDeployment(deployment.withControlMessage("{}"));
            registry.putResult(result);
            registry.storeArtifact("art-1", new byte[] {1, 2, 3});
        }
        try (Registry registry = Registry.connect(kafka.clientConfig(), "reg1", Duration.ofSeconds(30))) {
            assertThat(registry.models()).containsExactly(model);
            assertThat(registry.model("hcopd").orElseThrow().summary()).isEqualTo(model.summary());
            assertThat(registry.configurations())
                    .containsExactly(new Configuration("hcopd-all", "all", List.of("hcopd")));
            Deployment read = registry.deployment("dep-1").orElseThrow();
            assertThat(read.status()).as("derived from its one model's result").isEqualTo(DeploymentStatus.FINISHED);
            assertThat(read.controlMessage()).isEqualTo("{}");
            assertThat(read.settings()).containsEntry("batchSize", 10).containsEntry("epochs", 100);
            TrainingResult readResult = registry.results("dep-1").get(0);
            assertThat(readResult.epochCount()).isEqualTo(1);
            assertThat(readResult.lastEpoch()).isEqualTo(result.lastEpoch());
            assertThat(registry.epochs("dep-1.hcopd"))
                    .as("a result of an earlier version keeps its inline history")
                    .containsExactly(new EpochMetrics(1, 0.69, Map.of("accuracy", 0.5), 12));
            assertThat(readResult.testMetrics()).isEqualTo(result.testMetrics());
            assertThat(readResult.confusionMatrix()).isDeepEqualTo(result.confusionMatrix());
            assertThat(readResult.updatedAt()).isEqualTo(result.updatedAt());
            assertThat(registry.loadArtifact("art-1")).containsExactly(1, 2, 3);
        }
    }

    @Test
    void epochsReadsOnlyFromWhereTheResultsRunStartsInTheMetricsTopic(EmbeddedKafkaBroker kafka) throws Exception {
        try (Registry registry = Registry.connect(kafka.clientConfig(), "bounded", Duration.ofSeconds(30))) {
            // The topic's older history for the same key, here unreadable: a read of the whole topic fails on it.
            send(kafka, registry.metricsTopic(), "7.m", "not an epoch".getBytes());
            MetricsPosition start = registry.appendEpoch("7.m", "run-2", new EpochMetrics(1, 0.9, Map.of(), 5))
                    .get(10, TimeUnit.SECONDS);
            registry.appendEpoch("8.other", "run-x", new EpochMetrics(1, 0.5, Map.of(), 5))
                    .get(10, TimeUnit.SECONDS);
            registry.appendEpoch("7.m", "run-2", new EpochMetrics(2, 0.8, Map.of(), 5))
                    .get(10, TimeUnit.SECONDS);
            assertThat(start).isEqualTo(new MetricsPosition(0, 1));

            TrainingResult live = new TrainingResult(
                    "7.m",
                    "7",
                    "m",
                    DeploymentStatus.TRAINING,
                    List.of(),
                    Map.of(),
                    null,
                    10,
                    null,
                    null,
                    null,
                    Instant.now(),
                    1,
                    null,
                    null,
                    start);
            registry.putResult(live);
            assertThat(registry.epochs("7.m"))
                    .as("a live result: from its start to the partition's end")
                    .extracting(EpochMetrics::epoch)
                    .containsExactly(1, 2);
            registry.appendEpoch("7.m", "run-2", new EpochMetrics(3, 0.7, Map.of(), 5))
                    .get(10, TimeUnit.SECONDS);
            registry.putResult(new TrainingResult(
                    "7.m",
                    "7",
                    "m",
                    DeploymentStatus.FINISHED,
                    List.of(),
                    Map.of(),
                    null,
                    30,
                    null,
                    null,
                    null,
                    Instant.now(),
                    3,
                    null,
                    null,
                    start));
            assertThat(registry.epochs("7.m")).extracting(EpochMetrics::epoch).containsExactly(1, 2, 3);

            // A result that does not know its start (written before 0.2) is searched in the whole topic.
            registry.putResult(TrainingResult.of("9", "legacy", DeploymentStatus.TRAINING, null));
            send(kafka, registry.metricsTopic(), "9.legacy", "not an epoch either".getBytes());
            assertThatThrownBy(() -> registry.epochs("9.legacy"))
                    .isInstanceOf(RegistryException.class)
                    .hasMessageContaining(registry.metricsTopic() + "-0@5");
        }
    }

    @Test
    void epochsOfAResultEndedBySomeoneElseAreReadToThePartitionsEndNotCutAtItsLastSummary(EmbeddedKafkaBroker kafka)
            throws Exception {
        try (Registry registry = Registry.connect(kafka.clientConfig(), "ended-by-other", Duration.ofSeconds(30))) {
            MetricsPosition start = registry.appendEpoch("4.m", "run-1", new EpochMetrics(1, 0.9, Map.of(), 5))
                    .get(10, TimeUnit.SECONDS);
            // The runner's last summary (published at most once a second) counted one epoch ...
            registry.putResult(new TrainingResult(
                    "4.m",
                    "4",
                    "m",
                    DeploymentStatus.TRAINING,
                    List.of(),
                    Map.of(),
                    null,
                    10,
                    null,
                    null,
                    null,
                    Instant.now(),
                    1,
                    null,
                    null,
                    start));
            // ... it went on with two more, then its pod was OOM-killed and the watcher ended the result.
            registry.appendEpoch("4.m", "run-1", new EpochMetrics(2, 0.8, Map.of(), 5))
                    .get(10, TimeUnit.SECONDS);
            registry.appendEpoch("5.other", "run-x", new EpochMetrics(1, 0.5, Map.of(), 5))
                    .get(10, TimeUnit.SECONDS);
            registry.appendEpoch("4.m", "run-1", new EpochMetrics(3, 0.7, Map.of(), 5))
                    .get(10, TimeUnit.SECONDS);
            TrainingResult ended = registry.result("4.m").orElseThrow().ended(DeploymentStatus.FAILED, "OOMKilled");
            assertThat(ended.metricsEnd()).isNull();
            registry.putResult(ended);
            assertThat(registry.epochs("4.m"))
                    .as("every epoch the killed worker wrote, not only the summary's count")
                    .extracting(EpochMetrics::epoch)
                    .containsExactly(1, 2, 3);

            // A runner that ended its result itself recorded where its history ends: the read stops there.
            MetricsPosition first = registry.appendEpoch("6.m", "run-1", new EpochMetrics(1, 0.9, Map.of(), 5))
                    .get(10, TimeUnit.SECONDS);
            MetricsPosition last = registry.appendEpoch("6.m", "run-1", new EpochMetrics(2, 0.8, Map.of(), 5))
                    .get(10, TimeUnit.SECONDS);
            registry.putResult(new TrainingResult(
                    "6.m",
                    "6",
                    "m",
                    DeploymentStatus.FINISHED,
                    List.of(),
                    Map.of(),
                    null,
                    10,
                    null,
                    null,
                    null,
                    Instant.now(),
                    2,
                    null,
                    null,
                    first,
                    last));
            // Anything of that key after the end (here unreadable) is never read.
            send(kafka, registry.metricsTopic(), "6.m", "not an epoch".getBytes());
            assertThat(registry.epochs("6.m")).extracting(EpochMetrics::epoch).containsExactly(1, 2);
        }
    }

    @Test
    void aRecordedDeploymentGivesBackItsTrainingJobAndOneModelOfIt(EmbeddedKafkaBroker kafka) {
        try (Registry registry = Registry.connect(kafka.clientConfig(), "reg-job", Duration.ofSeconds(30))) {
            registry.registerModel(ModelDefinition.of("a", "", mlp(2, 2, 2)));
            registry.registerModel(ModelDefinition.of("b", "", mlp(2, 3, 2)));
            registry.createConfiguration(new Configuration("ab", "", List.of("a", "b")));
            Instant now = Instant.now();
            registry.createDeployment(new Deployment(
                    "9",
                    "ab",
                    DeploymentStatus.WAITING_FOR_DATA,
                    null,
                    TrainingSpec.builder().epochs(7).batchSize(5).build().toMap(),
                    now,
                    now,
                    null));

            TrainingJob job = TrainingJob.recorded(registry, "9", "ctl");
            assertThat(job.deploymentId()).isEqualTo("9");
            assertThat(job.configuration().name()).isEqualTo("ab");
            assertThat(job.models()).extracting(ModelDefinition::name).containsExactly("a", "b");
            assertThat(job.spec().epochs()).isEqualTo(7);
            assertThat(job.spec().batchSize()).isEqualTo(5);
            assertThat(job.controlTopic()).isEqualTo("ctl");

            TrainingJob onlyB = job.onlyModel("b");
            assertThat(onlyB.models()).extracting(ModelDefinition::name).containsExactly("b");
            assertThat(onlyB.spec()).isEqualTo(job.spec());
            assertThatThrownBy(() -> job.onlyModel("c"))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("Configuration 'ab' has no model 'c'");
            assertThatThrownBy(() -> TrainingJob.recorded(registry, "10", "ctl"))
                    .isInstanceOf(EntityNotFoundException.class)
                    .hasMessageContaining("deployment named '10'");
        }
    }

    @Test
    void namesAreCheckedDuplicatesRefusedAndDeletesAreTombstones(EmbeddedKafkaBroker kafka) {
        try (Registry registry = Registry.connect(kafka.clientConfig(), "reg2", Duration.ofSeconds(30))) {
            registry.registerModel(ModelDefinition.of("a", "", mlp(2, 2, 2)));
            assertThatThrownBy(() -> registry.registerModel(ModelDefinition.of("a", "", mlp(2, 3, 2))))
                    .isInstanceOf(DuplicateEntityException.class)
                    .hasMessage("A model named 'a' already exists");
            assertThatThrownBy(() -> registry.createConfiguration(new Configuration("c", "", List.of("a", "b"))))
                    .isInstanceOf(EntityNotFoundException.class)
                    .hasMessage("No model named 'b' exists");
            registry.createConfiguration(new Configuration("c", "", List.of("a")));
            assertThatThrownBy(() -> registry.createConfiguration(new Configuration("c", "", List.of("a"))))
                    .isInstanceOf(DuplicateEntityException.class);
            assertThatThrownBy(() -> registry.deleteModel("a"))
                    .hasMessageContaining("Model 'a' is used by configuration 'c'");
            assertThatThrownBy(() -> new Configuration("c", "", List.of())).hasMessageContaining("names no model");
            assertThatThrownBy(() -> new Configuration("c d", "", List.of("a")))
                    .hasMessageContaining("not a valid configuration name");
            registry.deleteConfiguration("c");
            registry.deleteModel("a");
            assertThat(registry.models()).isEmpty();
        }
        try (Registry registry = Registry.connect(kafka.clientConfig(), "reg2", Duration.ofSeconds(30))) {
            assertThat(registry.models()).isEmpty();
            assertThat(registry.configurations()).isEmpty();
        }
    }

    @Test
    void aFiveMegabyteModelRoundTripsWithIdenticalOutputsAndCorruptionIsDetected(EmbeddedKafkaBroker kafka)
            throws Exception {
        MultiLayerNetwork network = new MultiLayerNetwork(mlp(784, 2000, 10));
        network.init();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ModelSerializer.writeModel(network, out, true);
        byte[] bytes = out.toByteArray();
        assertThat(bytes.length).isGreaterThan(5_000_000);
        INDArray input = Nd4j.rand(4, 784);
        try (Registry registry = Registry.connect(kafka.clientConfig(), "reg3", Duration.ofSeconds(30))) {
            ArtifactRef ref = registry.storeArtifact("big-model", bytes);
            assertThat(ref.chunks()).isEqualTo((bytes.length + Registry.CHUNK_BYTES - 1) / Registry.CHUNK_BYTES);
            assertThat(ref.sha256()).hasSize(64);
        }
        try (Registry registry = Registry.connect(kafka.clientConfig(), "reg3", Duration.ofSeconds(30))) {
            byte[] loaded = registry.loadArtifact("big-model");
            MultiLayerNetwork restored =
                    ModelSerializer.restoreMultiLayerNetwork(new ByteArrayInputStream(loaded), true);
            assertThat(restored.output(input)).isEqualTo(network.output(input));

            // Flip one byte of chunk 3, written over the original as a later record of the same key.
            String key = Registry.chunkKey("big-model", 2);
            byte[] chunk = java.util.Arrays.copyOfRange(bytes, 2 * Registry.CHUNK_BYTES, 3 * Registry.CHUNK_BYTES);
            chunk[1000] ^= 0x01;
            send(kafka, registry.artifactChunksTopic(), key, chunk);
            Awaitility.await()
                    .atMost(30, TimeUnit.SECONDS)
                    .untilAsserted(() -> assertThatThrownBy(() -> registry.loadArtifact("big-model"))
                            .isInstanceOf(ArtifactCorruptedException.class)
                            .hasMessageContaining("Artifact 'big-model' is corrupted: the SHA-256 of its "
                                    + bytes.length + " bytes is"));
            // A chunk deleted: the artifact is incomplete, and nothing is returned.
            send(kafka, registry.artifactChunksTopic(), Registry.chunkKey("big-model", 4), null);
            Awaitility.await()
                    .atMost(30, TimeUnit.SECONDS)
                    .untilAsserted(() -> assertThatThrownBy(() -> registry.loadArtifact("big-model"))
                            .isInstanceOf(ArtifactCorruptedException.class)
                            .hasMessageContaining(
                                    "chunk 5 of " + ((bytes.length + Registry.CHUNK_BYTES - 1) / Registry.CHUNK_BYTES)
                                            + " is missing"));
            registry.deleteArtifact("big-model");
            assertThat(registry.artifact("big-model")).isEmpty();
        }
    }

    @Test
    void anArtifactOverTheSizeLimitIsNeitherStoredNorLoaded(EmbeddedKafkaBroker kafka) {
        Map<String, Object> limited = new java.util.HashMap<>(kafka.clientConfig());
        limited.put(KafkaMlConfig.MAX_ARTIFACT_BYTES_CONFIG, "1000");
        try (Registry registry = Registry.connect(kafka.clientConfig(), "reg-limit", Duration.ofSeconds(30))) {
            registry.storeArtifact("weights-3000", new byte[3000]);
        }
        try (Registry registry = Registry.connect(limited, "reg-limit", Duration.ofSeconds(30))) {
            assertThatThrownBy(() -> registry.loadArtifact("weights-3000"))
                    .isInstanceOf(RegistryException.class)
                    .hasMessage("Artifact 'weights-3000' holds 3000 bytes, over the limit of 1000 bytes "
                            + "(kafkaml.max.artifact.bytes): raise kafkaml.max.artifact.bytes to load it");
            assertThatThrownBy(() -> registry.storeArtifact("weights-1001", new byte[1001]))
                    .isInstanceOf(RegistryException.class)
                    .hasMessageContaining(
                            "holds 1001 bytes, over the limit of 1000 bytes (kafkaml.max.artifact.bytes)");
            assertThat(registry.artifact("weights-1001")).isEmpty();
            assertThat(registry.storeArtifact("weights-1000", new byte[1000]).size())
                    .isEqualTo(1000);
            assertThat(registry.loadArtifact("weights-1000")).hasSize(1000);
        }
    }

    @Test
    void controlMessagesAreCatalogedReusableAndShowExpiry(EmbeddedKafkaBroker kafka) {
        kafka.createTopic("catalog-data", 2);
        String controlTopic = "catalog-control";
        try (Registry registry = Registry.connect(kafka.clientConfig(), "reg4", Duration.ofSeconds(30));
                ControlLogger logger = ControlLogger.start(kafka.clientConfig(), registry, controlTopic)) {
            try (RecordDataSink sink = RecordDataSink.builder(kafka.clientConfig())
                    .format("JSON")
                    .inputConfig(Map.of("data_reshape", "2"))
                    .topic("catalog-data")
                    .deploymentId("first")
                    .controlTopic(controlTopic)
                    .validationRate(0.2)
                    .partitioning(DataSink.Partitioning.ROUND_ROBIN)
                    .build()) {
                for (int i = 0; i < 40; i++) {
                    sink.send(new double[] {i, -i}, i % 2);
                }
            }
            send(kafka, controlTopic, "x", "not a control message".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            Awaitility.await()
                    .atMost(30, TimeUnit.SECONDS)
                    .until(() -> registry.datasources().size() == 1 && logger.malformed() == 1);
            Datasource datasource = registry.datasources().get(0);
            assertThat(datasource.id()).isEqualTo(controlTopic + "-0-0");
            assertThat(datasource.deploymentId()).isEqualTo("first");
            assertThat(datasource.controlTopic()).isEqualTo(controlTopic);
            assertThat(registry.availability(datasource).available()).isTrue();

            ControlMessage resent = registry.resend(datasource.id(), "second");
            ControlMessage received;
            try (ControlChannel control = ControlChannel.create(kafka.clientConfig(), controlTopic)) {
                received = control.await("second", Duration.ofSeconds(10));
            }
            assertThat(received).isEqualTo(resent);
            assertThat(received.slices()).isEqualTo(datasource.message().slices());
            assertThat(received.validationRate()).isEqualTo(0.2);
            assertThat(read(kafka, received))
                    .isEqualTo(read(kafka, datasource.message()))
                    .hasSize(40);
            Awaitility.await()
                    .atMost(30, TimeUnit.SECONDS)
                    .until(() -> registry.datasources().size() == 2);

            kafka.deleteRecordsBefore(new TopicPartition("catalog-data", 1), 5);
            DatasourceAvailability availability = registry.availability(datasource);
            assertThat(availability.available()).isFalse();
            assertThat(availability.expired()).extracting(s -> s.partition()).containsExactly(1);
        }
    }

    private static List<String> read(EmbeddedKafkaBroker kafka, ControlMessage message) {
        List<String> records = new ArrayList<>();
        try (StreamDataset dataset = StreamDataset.builder(kafka.clientConfig())
                .slices(message.slices())
                .build()) {
            dataset.readPass((StreamRecord r) ->
                    records.add(r.location() + "=" + new String(r.value(), java.nio.charset.StandardCharsets.UTF_8)));
        }
        return records;
    }

    private static void send(EmbeddedKafkaBroker kafka, String topic, String key, byte[] value) {
        try (KafkaProducer<String, byte[]> producer =
                new KafkaProducer<>(kafka.clientConfig(), new StringSerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(topic, key, value)).get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
