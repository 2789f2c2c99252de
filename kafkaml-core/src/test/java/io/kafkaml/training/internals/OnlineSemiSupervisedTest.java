package io.kafkaml.training.internals;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.EpochMetrics;
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
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * Kafka-ML's online semi-supervised stream (its {@code OnlineRawSink} with {@code unsupervised_topic}, the message of
 * its {@code mnist_dataset_unsupervised_online_training_example.py}: labelled slices in {@code topic}, the unlabelled
 * topic bare, {@code incremental} true) on in-memory clients: the labelled epochs, then one pseudo-label round per
 * window of the unlabelled topic.
 */
class OnlineSemiSupervisedTest {

    private static final Map<String, Object> CONFIG = Map.of("bootstrap.servers", "in-memory:9092");
    private static final int LABELLED = 100;
    private static final int WINDOW = 50;

    private final InMemoryKafka kafka = new InMemoryKafka();

    private static byte[] point(Random random, double[] xy) {
        xy[0] = random.nextDouble() * 2 - 1;
        xy[1] = random.nextDouble() * 2 - 1;
        return String.format(Locale.ROOT, "[%.4f, %.4f]", xy[0], xy[1]).getBytes(StandardCharsets.UTF_8);
    }

    /** {@code maxUnlabelled} 0: the default of {@code kafkaml.semi.supervised.max.unlabelled} (above a window). */
    @ParameterizedTest
    @ValueSource(ints = {0, 5})
    void kafkaMlsOnlineSemiSupervisedMessageTrainsTheLabelledSlicesThenPseudoLabelsEachWindowOfTheUnlabelledTopic(
            int maxUnlabelled) {
        kafka.createTopic("control", 1, Map.of());
        kafka.createTopic("points", 1, Map.of());
        kafka.createTopic("unlabelled", 1, Map.of());
        Random random = new Random(5);
        double[] xy = new double[2];
        try (Producer<byte[], byte[]> producer = kafka.producer(Map.of())) {
            for (int i = 0; i < LABELLED; i++) {
                byte[] value = point(random, xy);
                producer.send(new ProducerRecord<>(
                        "points", 0, (xy[0] + xy[1] > 0 ? "1" : "0").getBytes(StandardCharsets.UTF_8), value));
            }
            for (int i = 0; i < 2 * WINDOW; i++) { // no label: Kafka-ML's unsupervised_send
                producer.send(new ProducerRecord<>("unlabelled", 0, null, point(random, xy)));
            }
            String control = "{\"topic\": \"points:0:0:" + LABELLED + "\", \"unsupervised_topic\": \"unlabelled\", "
                    + "\"input_format\": \"JSON\", \"description\": \"points\", "
                    + "\"input_config\": {\"data_reshape\": \"2\"}, \"validation_rate\": 0.2, \"test_rate\": 0, "
                    + "\"total_msg\": " + LABELLED + ", \"dataset_restrictions\": {}, \"incremental\": true}";
            producer.send(new ProducerRecord<>("control", new byte[] {7}, control.getBytes(StandardCharsets.UTF_8)));
        }
        try (Registry registry = Registry.connect(CONFIG, "unit", Duration.ofSeconds(10), kafka)) {
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
            Configuration configuration =
                    registry.createConfiguration(new Configuration("mlp-only", "", List.of("mlp")));
            TrainingSpec spec = TrainingSpec.builder()
                    .batchSize(16)
                    .epochs(10)
                    .seed(11)
                    .controlTimeout(Duration.ofMinutes(1))
                    .reuseStream(true)
                    .semiSupervised(3, 0.6)
                    .incremental(IncrementalSpec.builder()
                            .windowRecords(WINDOW)
                            .streamTimeout(Duration.ofSeconds(2))
                            .build())
                    .build();
            TrainingRunnerTest.Events events = new TrainingRunnerTest.Events();
            Map<String, Object> config = new java.util.HashMap<>(CONFIG);
            if (maxUnlabelled > 0) { // a pool smaller than a batch: its rows are sliced (rank 2)
                config.put(io.kafkaml.config.KafkaMlConfig.SEMI_SUPERVISED_MAX_UNLABELLED_CONFIG, maxUnlabelled);
            }
            int perRound = maxUnlabelled > 0 ? maxUnlabelled : WINDOW;
            TrainingRunner runner = new TrainingRunner(
                    new TrainingJob("7", configuration, List.of(model), spec, "control"),
                    registry,
                    config,
                    events,
                    kafka);
            runner.run(); // the unlabelled topic idle for the stream timeout ends it

            assertThat(runner.finalStatus()).isEqualTo(DeploymentStatus.FINISHED);
            List<EpochMetrics> epochs = events.epochs;
            assertThat(epochs).extracting(EpochMetrics::epoch).startsWith(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
            List<EpochMetrics> rounds = epochs.subList(10, epochs.size());
            int labelledTraining = LABELLED - (int) Math.round(LABELLED * 0.2);
            // one round per window of the unlabelled topic at most (two windows), each on more records than before
            assertThat(rounds).hasSizeBetween(1, 2);
            long before = labelledTraining;
            for (EpochMetrics round : rounds) {
                // a bounded pool: at most maxUnlabelled records of each window are pseudo-labelled
                assertThat(round.records()).isGreaterThan(before).isLessThanOrEqualTo(before + perRound);
                before = round.records();
            }
            if (maxUnlabelled > 0) { // a model that holds maxUnlabelled pseudo-labels is not pseudo-labelled further
                assertThat(before - labelledTraining).isLessThan(2L * maxUnlabelled);
            }
            assertThat(registry.result("7.mlp").orElseThrow().status()).isEqualTo(DeploymentStatus.FINISHED);
        }
    }
}
