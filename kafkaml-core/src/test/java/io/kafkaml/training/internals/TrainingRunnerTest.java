package io.kafkaml.training.internals;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.EpochMetrics;
import io.kafkaml.registry.Registry;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.testing.InMemoryKafka;
import io.kafkaml.training.TrainingJob;
import io.kafkaml.training.TrainingListener;
import io.kafkaml.training.TrainingSpec;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.awaitility.Awaitility;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * A whole {@link TrainingRunner} run with no broker: the registry, the control topic and the data stream are
 * {@code MockProducer}s and {@code MockConsumer}s sharing an in-memory log ({@link InMemoryKafka}); the stream is
 * written as Kafka-ML writes one (JSON records, a control message keyed by the deployment id without
 * {@code deployment_id}); real DL4J training.
 */
class TrainingRunnerTest {

    private static final Map<String, Object> CONFIG = Map.of("bootstrap.servers", "in-memory:9092");
    private static final int RECORDS = 200;
    private static final int EPOCHS = 6;

    private final InMemoryKafka kafka = new InMemoryKafka();
    private Registry registry;
    private TrainingJob job;
    private final Events events = new Events();

    /** What the runner told its listener, in order. */
    static final class Events implements TrainingListener {
        final List<DeploymentStatus> statuses = new CopyOnWriteArrayList<>();
        final List<EpochMetrics> epochs = new CopyOnWriteArrayList<>();
        final List<TrainingResult> results = new CopyOnWriteArrayList<>();

        @Override
        public void onDeploymentStatus(String deploymentId, DeploymentStatus status, String error) {
            statuses.add(status);
        }

        @Override
        public void onEpoch(String deploymentId, String model, EpochMetrics metrics, int totalEpochs) {
            epochs.add(metrics);
        }

        @Override
        public void onResult(TrainingResult result) {
            results.add(result);
        }
    }

    @BeforeEach
    void registerAModel() {
        registry = Registry.connect(CONFIG, "unit", Duration.ofSeconds(10), kafka);
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
        ModelDefinition model = registry.registerModel(ModelDefinition.of("mlp", "x + y > 0", conf));
        Configuration configuration = registry.createConfiguration(new Configuration("mlp-only", "", List.of("mlp")));
        TrainingSpec spec = TrainingSpec.builder()
                .batchSize(16)
                .epochs(EPOCHS)
                .seed(11)
                .controlTimeout(Duration.ofMinutes(1))
                .build();
        job = new TrainingJob("7", configuration, List.of(model), spec, "control");
    }

    @AfterEach
    void closeRegistry() {
        registry.close();
    }

    /** Points in [-1, 1]², class 1 above the line x + y = 0; label in the key (a JSON number), as Kafka-ML's JSON. */
    private int[] sendStream(Producer<byte[], byte[]> producer, int badOffset) {
        Random random = new Random(7);
        int[] labels = new int[RECORDS];
        for (int i = 0; i < RECORDS; i++) {
            double x = random.nextDouble() * 2 - 1;
            double y = random.nextDouble() * 2 - 1;
            labels[i] = x + y > 0 ? 1 : 0;
            String value = i == badOffset ? "[0.5, \"high\"]" : String.format(Locale.ROOT, "[%.4f, %.4f]", x, y);
            producer.send(new ProducerRecord<>(
                    "points",
                    0,
                    String.valueOf(labels[i]).getBytes(StandardCharsets.UTF_8),
                    value.getBytes(StandardCharsets.UTF_8)));
        }
        String control = "{\"topic\": \"points:0:0:" + RECORDS + "\", \"input_format\": \"JSON\", "
                + "\"input_config\": {\"data_reshape\": \"2\"}, \"validation_rate\": 0.1, \"test_rate\": 0.2, "
                + "\"total_msg\": " + RECORDS + ", \"description\": \"points\"}";
        producer.send(new ProducerRecord<>(
                "control", new byte[] {7}, control.getBytes(StandardCharsets.UTF_8))); // Kafka-ML's key: the id
        return labels;
    }

    private TrainingRunner runner() {
        return new TrainingRunner(job, registry, CONFIG, events, kafka);
    }

    @Test
    void aRunWaitsForItsStreamTrainsAndRecordsTheResultTheEpochsAndTheModel() throws Exception {
        kafka.createTopic("control", 1, Map.of());
        kafka.createTopic("points", 1, Map.of());
        TrainingRunner runner = runner();
        Thread thread = new Thread(runner, "runner-under-test");
        thread.start();
        // waits for its data: recorded, before any stream exists
        Awaitility.await()
                .atMost(Duration.ofSeconds(30))
                .until(() -> registry.result("7.mlp")
                        .map(r -> r.status() == DeploymentStatus.WAITING_FOR_DATA)
                        .orElse(false));
        int[] labels;
        try (Producer<byte[], byte[]> kafkaMl = kafka.producer(Map.of())) {
            labels = sendStream(kafkaMl, -1);
        }
        assertThat(runner.awaitEnd(Duration.ofMinutes(2))).isTrue();
        thread.join(10_000);

        assertThat(runner.finalStatus()).isEqualTo(DeploymentStatus.FINISHED);
        assertThat(events.statuses)
                .containsExactly(
                        DeploymentStatus.WAITING_FOR_DATA, DeploymentStatus.TRAINING, DeploymentStatus.FINISHED);
        assertThat(registry.deployment("7").orElseThrow().status()).isEqualTo(DeploymentStatus.FINISHED);
        assertThat(registry.deployment("7").orElseThrow().controlMessage()).contains("points:0:0:" + RECORDS);

        TrainingResult result = registry.result("7.mlp").orElseThrow();
        assertThat(result.status()).isEqualTo(DeploymentStatus.FINISHED);
        assertThat(result.error()).isNull();
        assertThat(events.results).extracting(TrainingResult::status).containsExactly(DeploymentStatus.FINISHED);
        // test metrics on the test split: round(200 × 0.2) = 40 records, better than always answering the majority
        long[][] confusion = result.confusionMatrix();
        long tested = Arrays.stream(confusion).flatMapToLong(Arrays::stream).sum();
        assertThat(tested).isEqualTo(40);
        double accuracy = result.testMetrics().get("accuracy");
        assertThat(accuracy).isEqualTo((double) (confusion[0][0] + confusion[1][1]) / tested);
        long ones = Arrays.stream(labels).filter(l -> l == 1).count();
        double majority = Math.max(ones, RECORDS - ones) / (double) RECORDS;
        assertThat(accuracy).isGreaterThan(majority);

        // every epoch: told to the listener, appended to the metrics topic, read back from where the run starts
        assertThat(events.epochs).extracting(EpochMetrics::epoch).containsExactly(1, 2, 3, 4, 5, 6);
        assertThat(events.epochs).allSatisfy(e -> assertThat(e.validation()).containsKey("accuracy"));
        assertThat(registry.epochs("7.mlp")).isEqualTo(events.epochs);
        assertThat(kafka.records(registry.metricsTopic()))
                .extracting(r -> new String(r.key(), StandardCharsets.UTF_8))
                .containsOnly("7.mlp")
                .hasSize(EPOCHS);
        assertThat(result.epochCount()).isEqualTo(EPOCHS);
        assertThat(result.lastEpoch()).isEqualTo(events.epochs.get(EPOCHS - 1));
        assertThat(result.metricsEnd()).isNotNull();

        // the trained model is in the registry and answers far from the boundary as the data says
        MultiLayerNetwork trained = ModelSerializer.restoreMultiLayerNetwork(
                new ByteArrayInputStream(registry.loadArtifact(result.artifact())), false);
        int[] predicted = trained.predict(Nd4j.createFromArray(new float[][] {{0.9f, 0.8f}, {-0.9f, -0.8f}}));
        assertThat(predicted).containsExactly(1, 0);

        // the control topic's and the data's consumers were closed by the runner
        registry.close();
        assertThat(kafka.openClients()).isZero();
    }

    @Test
    void aListenerThatThrowsNeverEndsTheTraining() throws Exception {
        kafka.createTopic("control", 1, Map.of());
        kafka.createTopic("points", 1, Map.of());
        java.util.concurrent.atomic.AtomicInteger thrown = new java.util.concurrent.atomic.AtomicInteger();
        TrainingListener throwing = new TrainingListener() {
            @Override
            public void onEpoch(String deploymentId, String model, EpochMetrics metrics, int totalEpochs) {
                thrown.incrementAndGet();
                throw new IllegalStateException("a user's listener failed");
            }

            @Override
            public void onBatch(String deploymentId, int epoch, int records) {
                thrown.incrementAndGet();
                throw new IllegalStateException("a user's listener failed");
            }
        };
        TrainingRunner runner = new TrainingRunner(job, registry, CONFIG, throwing, kafka);
        Thread thread = new Thread(runner, "runner-under-test");
        thread.start();
        try (Producer<byte[], byte[]> kafkaMl = kafka.producer(Map.of())) {
            sendStream(kafkaMl, -1);
        }
        assertThat(runner.awaitEnd(Duration.ofMinutes(2))).isTrue();
        thread.join(10_000);
        assertThat(runner.finalStatus()).isEqualTo(DeploymentStatus.FINISHED);
        assertThat(thrown.get()).isGreaterThan(EPOCHS); // every epoch's and batch's call threw
        assertThat(registry.epochs("7.mlp")).hasSize(EPOCHS);
    }

    @Test
    void aBadRecordFailsTheRunNamingItsTopicPartitionAndOffsetBeforeAnyEpoch() {
        try (Producer<byte[], byte[]> kafkaMl = kafka.producer(Map.of())) {
            sendStream(kafkaMl, 57);
        }
        TrainingRunner runner = runner();
        runner.run(); // the stream was sent before: it is found reading the control topic from its beginning

        assertThat(runner.finalStatus()).isEqualTo(DeploymentStatus.FAILED);
        TrainingResult result = registry.result("7.mlp").orElseThrow();
        assertThat(result.status()).isEqualTo(DeploymentStatus.FAILED);
        assertThat(result.error()).contains("points-0@57");
        assertThat(result.artifact()).isNull();
        assertThat(events.epochs).isEmpty(); // never trained on part of the stream
        assertThat(kafka.records(registry.metricsTopic())).isEmpty();
        assertThat(events.statuses).last().isEqualTo(DeploymentStatus.FAILED);
    }

    @Test
    void aRefusedWriteOfTheEpochMetricsFailsTheModelWithTheReasonInsteadOfLosingTheHistory() {
        try (Producer<byte[], byte[]> kafkaMl = kafka.producer(Map.of())) {
            sendStream(kafkaMl, -1);
        }
        kafka.failWrites(registry.metricsTopic(), record -> new KafkaException("the disk is full"));
        TrainingRunner runner = runner();
        runner.run();

        assertThat(runner.finalStatus()).isEqualTo(DeploymentStatus.FAILED);
        TrainingResult result = registry.result("7.mlp").orElseThrow();
        assertThat(result.error())
                .isEqualTo("cannot write the epoch metrics to topic 'unit.metrics': the disk is full");
        assertThat(result.artifact()).isNull(); // no model recorded as trained when its history is incomplete
        assertThat(result.epochCount()).isLessThan(EPOCHS); // it stopped at the next epoch, not at the end
    }

    @Test
    void aCancelWhileWaitingForDataEndsTheModelCancelled() throws Exception {
        kafka.createTopic("control", 1, Map.of());
        TrainingRunner runner = runner();
        Thread thread = new Thread(runner, "runner-under-test");
        thread.start();
        Awaitility.await()
                .atMost(Duration.ofSeconds(30))
                .until(() -> events.statuses.contains(DeploymentStatus.WAITING_FOR_DATA));
        runner.cancel();
        assertThat(runner.awaitEnd(Duration.ofSeconds(30))).isTrue();
        thread.join(10_000);

        assertThat(runner.finalStatus()).isEqualTo(DeploymentStatus.CANCELLED);
        TrainingResult result = registry.result("7.mlp").orElseThrow();
        assertThat(result.status()).isEqualTo(DeploymentStatus.CANCELLED);
        assertThat(result.error()).isEqualTo("cancelled on request");
        List<ConsumerRecord<byte[], byte[]>> control = kafka.records("control");
        assertThat(control).isEmpty(); // waiting never wrote to the control topic
    }
}
