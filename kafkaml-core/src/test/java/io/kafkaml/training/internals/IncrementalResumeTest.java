package io.kafkaml.training.internals;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.EpochMetrics;
import io.kafkaml.registry.ModelVersion;
import io.kafkaml.registry.Registry;
import io.kafkaml.testing.InMemoryKafka;
import io.kafkaml.training.IncrementalSpec;
import io.kafkaml.training.TrainingJob;
import io.kafkaml.training.TrainingSpec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.awaitility.Awaitility;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * An incremental run stopped for good at each step of a window (as a SIGKILL would stop it: the runner's thread never
 * goes on) and continued by a new runner with a registry of its own, on in-memory clients ({@link InMemoryKafka}: no
 * consumer group survives the restart, so every position must come from the checkpoint). The restarted run must fit
 * every window exactly once, never publish a version twice, and never read a partition again from its beginning.
 */
class IncrementalResumeTest {

    private static final Map<String, Object> CONFIG = Map.of("bootstrap.servers", "in-memory:9092");
    private static final int WINDOW = 40;

    private final InMemoryKafka kafka = new InMemoryKafka();
    private final List<Registry> registries = new java.util.ArrayList<>();
    private Thread killed;

    @AfterEach
    void close() throws InterruptedException {
        if (killed != null) {
            killed.interrupt();
            killed.join(10_000);
        }
        registries.forEach(Registry::close);
    }

    private Registry connect() {
        Registry registry = Registry.connect(CONFIG, "unit", Duration.ofSeconds(10), kafka);
        registries.add(registry);
        return registry;
    }

    private TrainingJob job(Registry registry) {
        return job(registry, IncrementalSpec.builder());
    }

    private TrainingJob job(Registry registry, IncrementalSpec.Builder incremental) {
        var conf = new NeuralNetConfiguration.Builder()
                .seed(3)
                .updater(new Adam(0.05))
                .list()
                .layer(new DenseLayer.Builder()
                        .nIn(2)
                        .nOut(8)
                        .activation(Activation.TANH)
                        .build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                        .nIn(8)
                        .nOut(2)
                        .activation(Activation.SOFTMAX)
                        .build())
                .build();
        ModelDefinition model = registry.model("mlp").isPresent()
                ? registry.model("mlp").get()
                : registry.registerModel(ModelDefinition.of("mlp", "x + y > 0", conf));
        Configuration configuration = registry.configuration("mlp-only").isPresent()
                ? registry.configuration("mlp-only").get()
                : registry.createConfiguration(new Configuration("mlp-only", "", List.of("mlp")));
        TrainingSpec spec = TrainingSpec.builder()
                .batchSize(8)
                .epochs(2)
                .seed(11)
                .controlTimeout(Duration.ofMinutes(1))
                .incremental(incremental
                        .windowRecords(WINDOW)
                        .streamTimeout(Duration.ofSeconds(2))
                        .build())
                .build();
        return new TrainingJob("7", configuration, List.of(model), spec, "control");
    }

    /** {@code count} JSON points in [-1, 1]² to one partition, class 1 above x + y = 0, label in the key. */
    private void send(int partition, int count, long seed) {
        Random random = new Random(seed);
        try (Producer<byte[], byte[]> producer = kafka.producer(Map.of())) {
            for (int i = 0; i < count; i++) {
                double x = random.nextDouble() * 2 - 1;
                double y = random.nextDouble() * 2 - 1;
                producer.send(new ProducerRecord<>(
                        "points",
                        partition,
                        (x + y > 0 ? "1" : "0").getBytes(StandardCharsets.UTF_8),
                        String.format(Locale.ROOT, "[%.4f, %.4f]", x, y).getBytes(StandardCharsets.UTF_8)));
            }
        }
    }

    /** Kafka-ML's online control message for deployment 7 on topic {@code points}, sent to topic {@code control}. */
    private void sendControlMessage() {
        try (Producer<byte[], byte[]> kafkaMl = kafka.producer(Map.of())) {
            String control = "{\"topic\": \"points\", \"unsupervised_topic\": null, \"input_format\": \"JSON\", "
                    + "\"description\": \"points\", \"input_config\": {\"data_reshape\": \"2\"}, "
                    + "\"validation_rate\": 0.2, \"test_rate\": 0, \"total_msg\": null, "
                    + "\"dataset_restrictions\": {}, \"incremental\": true}";
            kafkaMl.send(new ProducerRecord<>("control", new byte[] {7}, control.getBytes(StandardCharsets.UTF_8)));
        }
    }

    /** Values that are not a JSON array of two numbers, to partition 0 of {@code points}. */
    private void sendBad(int count) {
        try (Producer<byte[], byte[]> producer = kafka.producer(Map.of())) {
            for (int i = 0; i < count; i++) {
                producer.send(new ProducerRecord<>(
                        "points",
                        0,
                        "1".getBytes(StandardCharsets.UTF_8),
                        ("not json " + i).getBytes(StandardCharsets.UTF_8)));
            }
        }
    }

    private static String header(org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]> record, String key) {
        return new String(record.headers().lastHeader(key).value(), StandardCharsets.UTF_8);
    }

    @org.junit.jupiter.api.Test
    void badRecordsAreLeftOutDeadLetteredAndCountedApartAndAWindowWithNoValidRecordIsNotAWindow() {
        kafka.createTopic("control", 1, Map.of());
        kafka.createTopic("points", 1, Map.of());
        kafka.createTopic("points-dlq", 1, Map.of());
        sendControlMessage();
        send(0, WINDOW - 5, 1);
        sendBad(5); // window 1: offsets 35..39 bad
        sendBad(WINDOW); // offsets 40..79: no valid record
        send(0, WINDOW, 2); // window 2
        Registry registry = connect();
        TrainingRunnerTest.Events events = new TrainingRunnerTest.Events();
        TrainingRunner runner = new TrainingRunner(
                job(registry, IncrementalSpec.builder().deadLetterTopic("points-dlq")),
                registry,
                CONFIG,
                events,
                kafka);
        runner.run(); // the default policy for an incremental run: SKIP; it ends on the stream timeout

        assertThat(runner.finalStatus()).isEqualTo(DeploymentStatus.FINISHED);
        assertThat(events.epochs)
                .extracting(EpochMetrics::epoch, EpochMetrics::records, EpochMetrics::badRecords)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple(1, (long) WINDOW - 5, 5L),
                        org.assertj.core.groups.Tuple.tuple(2, (long) WINDOW, (long) WINDOW));
        assertThat(registry.result("7.mlp").orElseThrow().epochCount()).isEqualTo(2);
        var dead = kafka.records("points-dlq");
        assertThat(dead).hasSize(WINDOW + 5);
        assertThat(dead)
                .extracting(r -> header(r, io.kafkaml.config.KafkaMlConfig.DLQ_OFFSET_HEADER))
                .containsExactlyElementsOf(java.util.stream.LongStream.range(WINDOW - 5, 2 * WINDOW)
                        .mapToObj(String::valueOf)
                        .toList());
        assertThat(dead).allSatisfy(r -> {
            assertThat(header(r, io.kafkaml.config.KafkaMlConfig.DLQ_TOPIC_HEADER))
                    .isEqualTo("points");
            assertThat(header(r, io.kafkaml.config.KafkaMlConfig.DLQ_PARTITION_HEADER))
                    .isEqualTo("0");
            assertThat(header(r, io.kafkaml.config.KafkaMlConfig.DLQ_STAGE_HEADER))
                    .isEqualTo("DECODE");
            assertThat(header(r, io.kafkaml.config.KafkaMlConfig.DLQ_ERROR_MESSAGE_HEADER))
                    .isNotBlank();
            assertThat(new String(r.value(), StandardCharsets.UTF_8)).startsWith("not json");
        });
        // no version was made of the window with no valid record: at most one per fitted window
        assertThat(registry.versions("7.mlp")).hasSizeLessThanOrEqualTo(2);
    }

    @org.junit.jupiter.api.Test
    void underTheFailPolicyABadRecordEndsTheRunWithAReasonNamingIt() {
        kafka.createTopic("control", 1, Map.of());
        kafka.createTopic("points", 1, Map.of());
        sendControlMessage();
        send(0, 7, 1);
        sendBad(1); // offset 7
        send(0, WINDOW - 8, 2);
        Registry registry = connect();
        TrainingRunner runner = new TrainingRunner(
                job(registry, IncrementalSpec.builder().badRecordPolicy(io.kafkaml.dataset.BadRecordPolicy.FAIL)),
                registry,
                CONFIG,
                new TrainingRunnerTest.Events(),
                kafka);
        runner.run();

        assertThat(runner.finalStatus()).isEqualTo(DeploymentStatus.FAILED);
        assertThat(registry.result("7.mlp").orElseThrow().error())
                .contains("points-0@7")
                .contains("FAIL")
                .contains("not committed");
        assertThat(registry.result("7.mlp").orElseThrow().epochCount()).isZero();
    }

    @org.junit.jupiter.api.Test
    void aPartitionAddedToTheTopicWhileTheRunGoesOnIsRead() throws Exception {
        kafka.createTopic("control", 1, Map.of());
        kafka.createTopic("points", 1, Map.of());
        Registry registry = connect();
        TrainingRunnerTest.Events events = new TrainingRunnerTest.Events();
        TrainingRunner runner = new TrainingRunner(
                job(registry, IncrementalSpec.builder().indefinite(true)), registry, CONFIG, events, kafka);
        killed = new Thread(runner, "growing-topic");
        killed.setDaemon(true);
        killed.start();
        sendControlMessage();
        send(0, WINDOW, 1);
        Awaitility.await()
                .atMost(Duration.ofMinutes(1))
                .until(() ->
                        registry.result("7.mlp").map(r -> r.epochCount() == 1).orElse(false));
        kafka.addPartitions("points", 2);
        send(1, WINDOW, 2); // only to the new partition
        Awaitility.await()
                .atMost(Duration.ofMinutes(1))
                .until(() ->
                        registry.result("7.mlp").map(r -> r.epochCount() == 2).orElse(false));
        assertThat(events.epochs)
                .extracting(EpochMetrics::epoch, EpochMetrics::records)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple(1, (long) WINDOW),
                        org.assertj.core.groups.Tuple.tuple(2, (long) WINDOW));
        runner.cancel();
        assertThat(runner.awaitEnd(Duration.ofMinutes(1))).isTrue();
    }

    @org.junit.jupiter.api.Test
    void aSecondTrainerOfTheSameResultFencesTheFirstWhichStopsWithoutRecordingAnything() throws Exception {
        kafka.createTopic("control", 1, Map.of());
        kafka.createTopic("points", 1, Map.of());
        Registry first = connect();
        TrainingRunner zombie = new TrainingRunner(
                job(first, IncrementalSpec.builder().indefinite(true)),
                first,
                CONFIG,
                new TrainingRunnerTest.Events(),
                kafka);
        killed = new Thread(zombie, "first-trainer");
        killed.setDaemon(true);
        killed.start();
        sendControlMessage();
        send(0, WINDOW, 1);
        Awaitility.await()
                .atMost(Duration.ofMinutes(1))
                .until(() -> first.result("7.mlp").map(r -> r.epochCount() == 1).orElse(false));
        String firstOwner = first.trainingClaimant("7.mlp").orElseThrow();

        Registry second = connect(); // a pod that replaced the first while the first lives on
        TrainingRunnerTest.Events events = new TrainingRunnerTest.Events();
        TrainingRunner newer = new TrainingRunner(
                job(second, IncrementalSpec.builder().indefinite(true)), second, CONFIG, events, kafka);
        Thread newerThread = new Thread(newer, "second-trainer");
        newerThread.setDaemon(true);
        newerThread.start();
        try {
            Awaitility.await()
                    .atMost(Duration.ofMinutes(1))
                    .until(() -> !second.trainingClaimant("7.mlp").orElseThrow().equals(firstOwner));
            send(0, WINDOW, 2);
            // the first sees the newer claim at its next window and ends, writing nothing
            assertThat(zombie.awaitEnd(Duration.ofMinutes(1))).isTrue();
            assertThat(zombie.finalStatus()).isNotEqualTo(DeploymentStatus.FINISHED);
            Awaitility.await()
                    .atMost(Duration.ofMinutes(1))
                    .until(() ->
                            second.result("7.mlp").map(r -> r.epochCount() == 2).orElse(false));
            assertThat(second.result("7.mlp").orElseThrow().status()).isEqualTo(DeploymentStatus.TRAINING);
            assertThat(events.epochs).extracting(EpochMetrics::epoch).containsExactly(2);
            Map<Integer, Integer> recorded = new java.util.TreeMap<>();
            second.readEpochs(
                    "7.mlp",
                    second.result("7.mlp").orElseThrow().metricsStart(),
                    (run, epoch) -> recorded.merge(epoch.epoch(), 1, Integer::sum));
            assertThat(recorded).isEqualTo(Map.of(1, 1, 2, 1)); // window 2 fitted and recorded once, by the newer
        } finally {
            newer.cancel();
            assertThat(newer.awaitEnd(Duration.ofMinutes(1))).isTrue();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"fitted", "versioned", "published", "checkpointed", "committed"})
    void aRunnerKilledAtAnyStepOfAWindowResumesWithNoWindowRefittedTwiceOrSkipped(String stage) throws Exception {
        kafka.createTopic("control", 1, Map.of());
        kafka.createTopic("points", 2, Map.of());
        Registry first = connect();
        TrainingRunner runner = new TrainingRunner(job(first), first, CONFIG, new TrainingRunnerTest.Events(), kafka);
        CountDownLatch reached = new CountDownLatch(1);
        runner.stageHook = s -> {
            if (s.equals(stage + ":2")) {
                reached.countDown();
                try {
                    new CountDownLatch(1).await(); // the process is gone: this runner never takes another step
                } catch (InterruptedException e) {
                    throw new IllegalStateException("stopped");
                }
            }
        };
        killed = new Thread(runner, "killed-runner");
        killed.setDaemon(true);
        killed.start();
        try (Producer<byte[], byte[]> kafkaMl = kafka.producer(Map.of())) {
            String control = "{\"topic\": \"points\", \"unsupervised_topic\": null, \"input_format\": \"JSON\", "
                    + "\"description\": \"points\", \"input_config\": {\"data_reshape\": \"2\"}, "
                    + "\"validation_rate\": 0.2, \"test_rate\": 0, \"total_msg\": null, "
                    + "\"dataset_restrictions\": {}, \"incremental\": true}";
            kafkaMl.send(new ProducerRecord<>("control", new byte[] {7}, control.getBytes(StandardCharsets.UTF_8)));
        }
        send(1, WINDOW, 1); // window 1: partition 1 only
        Awaitility.await()
                .atMost(Duration.ofMinutes(1))
                .until(() -> first.result("7.mlp").map(r -> r.epochCount() == 1).orElse(false));
        send(0, WINDOW, 2); // window 2: partition 0 only; partition 1 has nothing new
        assertThat(reached.await(1, TimeUnit.MINUTES)).isTrue();

        Registry second = connect(); // a new worker process
        TrainingRunnerTest.Events events = new TrainingRunnerTest.Events();
        TrainingRunner restarted = new TrainingRunner(job(second), second, CONFIG, events, kafka);
        restarted.run(); // ends on the stream timeout

        assertThat(restarted.finalStatus()).isEqualTo(DeploymentStatus.FINISHED);
        boolean checkpointStored = stage.equals("checkpointed") || stage.equals("committed");
        // fitted again only when its checkpoint was not stored; partition 1 is not read again from offset 0
        assertThat(events.epochs)
                .extracting(EpochMetrics::epoch, EpochMetrics::records)
                .containsExactlyElementsOf(
                        checkpointStored ? List.of() : List.of(org.assertj.core.groups.Tuple.tuple(2, (long) WINDOW)));
        assertThat(second.result("7.mlp").orElseThrow().epochCount()).isEqualTo(2);
        assertThat(second.epochs("7.mlp"))
                .extracting(EpochMetrics::epoch, EpochMetrics::records)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple(1, (long) WINDOW),
                        org.assertj.core.groups.Tuple.tuple(2, (long) WINDOW));
        // one version at most per window: never two with the offsets of the same window
        List<ModelVersion> versions = second.versions("7.mlp");
        List<Map<String, Long>> offsets =
                versions.stream().map(ModelVersion::offsets).toList();
        assertThat(offsets).doesNotHaveDuplicates().isNotEmpty();
        assertThat(offsets.get(0)).containsEntry("points-0", 0L).containsEntry("points-1", (long) WINDOW);
        // the policy publishes only what it promotes: the newest version is the promoted one, even when the kill came
        // between its version record and its promotion (promoted when the window is fitted again)
        assertThat(second.promotedVersion("7.mlp").orElseThrow().version())
                .isEqualTo(versions.get(versions.size() - 1).version());
        if (stage.equals("versioned")) {
            assertThat(second.promotedVersion("7.mlp").orElseThrow().offsets())
                    .containsEntry("points-0", (long) WINDOW)
                    .containsEntry("points-1", (long) WINDOW);
        }
        // each window has one record in the metrics topic, also the one fitted again
        Map<Integer, Integer> recorded = new java.util.TreeMap<>();
        second.readEpochs(
                "7.mlp",
                second.result("7.mlp").orElseThrow().metricsStart(),
                (run, epoch) -> recorded.merge(epoch.epoch(), 1, Integer::sum));
        assertThat(recorded).isEqualTo(Map.of(1, 1, 2, 1));
        // an ended run leaves no checkpoint behind, also the ones the kill left (older than the resumed window)
        for (int w = 1; w <= 3; w++) {
            assertThat(second.artifact(Checkpoint.id("7.mlp", w)))
                    .as("checkpoint %d", w)
                    .isEmpty();
            assertThat(second.artifact(Checkpoint.modelId("7.mlp", w)))
                    .as("checkpoint model %d", w)
                    .isEmpty();
        }
    }

    @org.junit.jupiter.api.Test
    void aPromotionByHandPinsTheResultUntilUnpinnedAndTheRunRecordsVersionsWithoutPromotingThem() throws Exception {
        kafka.createTopic("control", 1, Map.of());
        kafka.createTopic("points", 1, Map.of());
        Registry registry = connect();
        TrainingJob job = job(registry, IncrementalSpec.builder().indefinite(true));
        TrainingRunner runner = new TrainingRunner(job, registry, CONFIG, new TrainingRunnerTest.Events(), kafka);
        killed = new Thread(runner, "pinned-runner");
        killed.setDaemon(true);
        killed.start();
        Awaitility.await()
                .atMost(Duration.ofMinutes(1))
                .until(() -> registry.result("7.mlp").isPresent());
        // a version by hand that any window beats, promoted by hand: the result is pinned to it
        registry.publishVersion(
                "7.mlp",
                registry.newNetwork(job.models().get(0)),
                null,
                Map.of("loss", 1e6, "val_loss", 1e6),
                Map.of(),
                "by hand",
                false);
        assertThat(registry.promote("7.mlp", 1, "manual").pinned()).isTrue();
        sendControlMessage();
        send(0, 2 * WINDOW, 1);
        Awaitility.await()
                .atMost(Duration.ofMinutes(1))
                .until(() ->
                        registry.result("7.mlp").map(r -> r.epochCount() == 2).orElse(false));
        registry.syncVersions();
        assertThat(registry.promotedVersion("7.mlp").orElseThrow().version()).isEqualTo(1);
        List<ModelVersion> recorded = registry.versions("7.mlp");
        assertThat(recorded).hasSizeGreaterThanOrEqualTo(2); // window 1 beats version 1: published, not promoted
        assertThat(recorded.subList(1, recorded.size()))
                .allSatisfy(v -> assertThat(v.reason()).endsWith(TrainingRunner.NOT_PROMOTED_PINNED));

        assertThat(registry.unpin("7.mlp", "manual").pinned()).isFalse();
        send(0, WINDOW, 3);
        Awaitility.await()
                .atMost(Duration.ofMinutes(1))
                .until(() ->
                        registry.result("7.mlp").map(r -> r.epochCount() == 3).orElse(false));
        registry.syncVersions();
        ModelVersion promoted = registry.promotedVersion("7.mlp").orElseThrow();
        assertThat(promoted.version()).isGreaterThan(recorded.size()); // window 3 beats version 1: promoted
        assertThat(promoted.offsets()).containsEntry("points-0", 3L * WINDOW);
        assertThat(registry.latestPromotion("7.mlp").orElseThrow().pinned()).isFalse();
        runner.cancel();
        assertThat(runner.awaitEnd(Duration.ofMinutes(1))).isTrue();
    }

    @org.junit.jupiter.api.Test
    void anIndefiniteRunWaitsForDataUntilItsFirstWindowAndItsResultNamesThePromotedVersionNeverACheckpoint()
            throws Exception {
        kafka.createTopic("control", 1, Map.of());
        kafka.createTopic("points", 1, Map.of());
        Registry registry = connect();
        TrainingJob job = job(registry, IncrementalSpec.builder().indefinite(true));
        TrainingRunner runner = new TrainingRunner(job, registry, CONFIG, new TrainingRunnerTest.Events(), kafka);
        CountDownLatch started = new CountDownLatch(1);
        runner.stageHook = s -> {
            if (s.equals("started")) {
                started.countDown();
            }
        };
        killed = new Thread(runner, "waiting-runner");
        killed.setDaemon(true);
        killed.start();
        sendControlMessage();
        assertThat(started.await(1, TimeUnit.MINUTES)).isTrue();
        // started on its control message, and no record sent yet: it waits for data, it does not train
        assertThat(registry.result("7.mlp").orElseThrow().status()).isEqualTo(DeploymentStatus.WAITING_FOR_DATA);
        assertThat(registry.result("7.mlp").orElseThrow().artifact()).isNull();

        send(0, 4 * WINDOW, 1);
        Awaitility.await()
                .atMost(Duration.ofMinutes(1))
                .until(() ->
                        registry.result("7.mlp").map(r -> r.epochCount() == 4).orElse(false));
        var midRun = registry.result("7.mlp").orElseThrow();
        assertThat(midRun.status()).isEqualTo(DeploymentStatus.TRAINING);
        registry.syncVersions();
        // the result names a version's model (serving or exporting it mid-run), never a window checkpoint's
        assertThat(midRun.artifact()).isNotNull().doesNotMatch(".*\\.w\\d+\\.model");
        assertThat(registry.versions("7.mlp"))
                .extracting(v -> v.artifact().id())
                .contains(midRun.artifact());
        assertThat(registry.loadNetwork(midRun.artifact(), job.models().get(0), false, "the result mid-run"))
                .isNotNull();

        send(0, 2 * WINDOW, 2); // two more windows: the checkpoints of windows 4 and 5 are deleted meanwhile
        Awaitility.await()
                .atMost(Duration.ofMinutes(1))
                .until(() ->
                        registry.result("7.mlp").map(r -> r.epochCount() == 6).orElse(false));
        assertThat(registry.artifact(midRun.artifact())).isPresent();
        assertThat(registry.loadNetwork(midRun.artifact(), job.models().get(0), false, "the result read mid-run"))
                .isNotNull();
        runner.cancel();
        assertThat(runner.awaitEnd(Duration.ofMinutes(1))).isTrue();
    }

    @org.junit.jupiter.api.Test
    void aBoundedIncrementalRunFinishesWithThePromotedVersionsModelNotTheLastWindows() throws Exception {
        kafka.createTopic("control", 1, Map.of());
        kafka.createTopic("points", 1, Map.of());
        Registry registry = connect();
        TrainingJob job = job(registry);
        TrainingRunner runner = new TrainingRunner(job, registry, CONFIG, new TrainingRunnerTest.Events(), kafka);
        killed = new Thread(runner, "bounded-runner");
        killed.setDaemon(true);
        killed.start();
        Awaitility.await()
                .atMost(Duration.ofMinutes(1))
                .until(() -> registry.result("7.mlp").isPresent());
        // an untrained version that no window's metrics can beat, promoted by hand: the windows never replace it
        registry.publishVersion(
                "7.mlp",
                registry.newNetwork(job.models().get(0)),
                null,
                Map.of("loss", 0.0, "val_loss", 0.0),
                Map.of(),
                "by hand",
                false);
        registry.promote("7.mlp", 1, "manual");
        sendControlMessage();
        send(0, 2 * WINDOW, 1);
        assertThat(runner.awaitEnd(Duration.ofMinutes(1))).isTrue(); // it ends on the stream timeout

        var finished = registry.result("7.mlp").orElseThrow();
        assertThat(finished.status()).isEqualTo(DeploymentStatus.FINISHED);
        assertThat(finished.epochCount()).isEqualTo(2);
        assertThat(registry.promotedVersion("7.mlp").orElseThrow().version()).isEqualTo(1);
        assertThat(registry.loadArtifact(finished.artifact())).isEqualTo(registry.loadVersionModel("7.mlp", 1));
    }

    @org.junit.jupiter.api.Test
    void aNewRunReadsTheRecordsWrittenSinceItsControlMessageNotAnOlderStreamOfTheSameTopic() {
        kafka.createTopic("control", 1, Map.of());
        kafka.createTopic("points", 2, Map.of());
        long older = System.currentTimeMillis() - 60_000; // an earlier stream of the topic, a minute before
        try (Producer<byte[], byte[]> earlier = kafka.producer(Map.of())) {
            for (int i = 0; i < WINDOW; i++) {
                earlier.send(new ProducerRecord<>(
                        "points",
                        i % 2,
                        older,
                        "1".getBytes(StandardCharsets.UTF_8),
                        "[0.5, 0.5]".getBytes(StandardCharsets.UTF_8)));
            }
        }
        sendControlMessage();
        send(0, WINDOW, 1);
        send(1, WINDOW, 2);
        Registry registry = connect();
        TrainingRunnerTest.Events events = new TrainingRunnerTest.Events();
        Map<String, Object> retainOne = Map.of(
                "bootstrap.servers", "in-memory:9092", io.kafkaml.config.KafkaMlConfig.VERSIONS_RETAIN_CONFIG, 1);
        TrainingRunner runner = new TrainingRunner(job(registry), registry, retainOne, events, kafka);
        runner.run(); // ends on the stream timeout

        assertThat(runner.finalStatus()).isEqualTo(DeploymentStatus.FINISHED);
        // the version retention (1): only the newest and the promoted version keep their models
        registry.syncVersions();
        int promoted = registry.promotedVersion("7.mlp").orElseThrow().version();
        List<ModelVersion> versions = registry.versions("7.mlp");
        for (ModelVersion version : versions) {
            boolean kept = version.version() == promoted || version.version() == versions.size();
            assertThat(registry.artifact(version.artifact().id()))
                    .as("the model of version %d", version.version())
                    .matches(found -> found.isPresent() == kept);
        }
        assertThat(events.epochs)
                .extracting(EpochMetrics::epoch, EpochMetrics::records)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple(1, (long) WINDOW),
                        org.assertj.core.groups.Tuple.tuple(2, (long) WINDOW));
        // the older stream (offsets 0..19 of each partition) was not read: it would have made a third window
        assertThat(registry.result("7.mlp").orElseThrow().epochCount()).isEqualTo(2);
    }

    @org.junit.jupiter.api.Test
    void aTrainerClaimedWhileItRecordsAWindowDoesNotCommitIt() {
        kafka.createTopic("control", 1, Map.of());
        kafka.createTopic("points", 1, Map.of());
        sendControlMessage();
        send(0, 2 * WINDOW, 1);
        Registry registry = connect();
        TrainingRunner runner =
                new TrainingRunner(job(registry), registry, CONFIG, new TrainingRunnerTest.Events(), kafka);
        List<String> stages = new java.util.concurrent.CopyOnWriteArrayList<>();
        runner.stageHook = stage -> {
            stages.add(stage);
            if (stage.equals("checkpointed:2")) { // a newer trainer claims the result between the write and the commit
                registry.claimTraining("7.mlp", "a-newer-trainer");
            }
        };
        runner.run();

        assertThat(stages).contains("committed:1", "checkpointed:2").doesNotContain("committed:2");
        assertThat(runner.finalStatus()).isNotEqualTo(DeploymentStatus.FINISHED);
        assertThat(registry.trainingClaimant("7.mlp")).contains("a-newer-trainer");
    }

    @org.junit.jupiter.api.Test
    void aTrainerClaimedBetweenPublishingAVersionAndPromotingItDoesNotPromoteIt() {
        kafka.createTopic("control", 1, Map.of());
        kafka.createTopic("points", 1, Map.of());
        sendControlMessage();
        send(0, WINDOW, 1);
        Registry registry = connect();
        TrainingRunner runner =
                new TrainingRunner(job(registry), registry, CONFIG, new TrainingRunnerTest.Events(), kafka);
        List<String> stages = new java.util.concurrent.CopyOnWriteArrayList<>();
        runner.stageHook = stage -> {
            stages.add(stage);
            if (stage.equals("versioned:1")) { // the first window's version is published, about to be promoted
                registry.claimTraining("7.mlp", "a-newer-trainer");
            }
        };
        runner.run();

        assertThat(stages).contains("versioned:1").doesNotContain("committed:1");
        assertThat(registry.versions("7.mlp")).hasSize(1);
        assertThat(registry.latestPromotion("7.mlp"))
                .as("serving is the newer trainer's to move")
                .isEmpty();
        assertThat(registry.trainingClaimant("7.mlp")).contains("a-newer-trainer");
    }

    @org.junit.jupiter.api.Test
    void startFromEarliestReadsDataWhoseEventTimesAreOlderThanTheControlMessageWhichControlSkips() {
        kafka.createTopic("control", 1, Map.of());
        kafka.createTopic("points", 1, Map.of());
        sendControlMessage();
        long anHourAgo = System.currentTimeMillis() - 3_600_000; // replayed with its event times, after the message
        try (Producer<byte[], byte[]> replay = kafka.producer(Map.of())) {
            for (int i = 0; i < WINDOW; i++) {
                replay.send(new ProducerRecord<>(
                        "points",
                        0,
                        anHourAgo + i,
                        (i % 2 == 0 ? "1" : "0").getBytes(StandardCharsets.UTF_8),
                        (i % 2 == 0 ? "[0.5, 0.5]" : "[-0.5, -0.5]").getBytes(StandardCharsets.UTF_8)));
            }
        }
        Registry registry = connect();
        // the default (control) starts at the topic's end here: every record is older than the control message
        IncrementalSpec.StartFrom parsed = IncrementalSpec.StartFrom.of(" Earliest ");
        assertThat(IncrementalSpec.fromMap(IncrementalSpec.builder()
                                .startFrom(parsed)
                                .build()
                                .toMap())
                        .startFrom())
                .isEqualTo(IncrementalSpec.StartFrom.EARLIEST);
        assertThat(IncrementalSpec.builder().build().startFrom()).isEqualTo(IncrementalSpec.StartFrom.CONTROL);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> IncrementalSpec.StartFrom.of("beginning"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("control, earliest or latest");
        try (WindowReader reader = new WindowReader(
                CONFIG, kafka, "points", "probe", IncrementalSpec.builder().build(), "7")) {
            assertThat(reader.assign(() -> false)).isTrue();
            assertThat(reader.start(IncrementalSpec.StartFrom.CONTROL, System.currentTimeMillis()))
                    .as("control skips the whole replay (logged at WARN with its count)")
                    .containsEntry(new org.apache.kafka.common.TopicPartition("points", 0), (long) WINDOW);
        }
        TrainingRunnerTest.Events events = new TrainingRunnerTest.Events();
        TrainingRunner runner = new TrainingRunner(
                job(registry, IncrementalSpec.builder().startFrom(IncrementalSpec.StartFrom.EARLIEST)),
                registry,
                CONFIG,
                events,
                kafka);
        runner.run(); // ends on the stream timeout

        assertThat(runner.finalStatus()).isEqualTo(DeploymentStatus.FINISHED);
        assertThat(events.epochs)
                .extracting(EpochMetrics::epoch, EpochMetrics::records)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(1, (long) WINDOW));
    }
}
