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
                .incremental(IncrementalSpec.builder()
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

    @ParameterizedTest
    @ValueSource(strings = {"fitted", "published", "checkpointed", "committed"})
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
        List<Map<String, Long>> offsets =
                second.versions("7.mlp").stream().map(ModelVersion::offsets).toList();
        assertThat(offsets).doesNotHaveDuplicates().isNotEmpty();
        assertThat(offsets.get(0)).containsEntry("points-0", 0L).containsEntry("points-1", (long) WINDOW);
    }
}
