package io.kafkaml.training;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.Deployment;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.EpochMetrics;
import io.kafkaml.registry.Registry;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.sink.DataSink;
import io.kafkaml.sink.RecordDataSink;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import io.kafkaml.training.internals.TrainingRunner;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * The training runtime's records and failures, with real training on the in-process broker: every record it writes
 * stays small however long the run, the per-epoch history is complete in the metrics topic, and failures (an
 * {@link Error}, a registry write the broker refuses) end the results FAILED with their reason.
 */
@ExtendWith(EmbeddedKafkaExtension.class)
class TrainingRuntimeIT {

    static ModelDefinition mlp(String name) {
        return mlp(name, 4);
    }

    static ModelDefinition mlp(String name, int hidden) {
        return ModelDefinition.of(
                name,
                "",
                new NeuralNetConfiguration.Builder()
                        .seed(1)
                        .updater(new Adam(0.01))
                        .list()
                        .layer(new DenseLayer.Builder()
                                .nIn(2)
                                .nOut(hidden)
                                .activation(Activation.RELU)
                                .build())
                        .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                                .nIn(hidden)
                                .nOut(2)
                                .activation(Activation.SOFTMAX)
                                .build())
                        .build());
    }

    /** A tiny labelled stream (JSON format, two features, classes 0/1) announced for {@code deploymentId}. */
    static void send(EmbeddedKafkaBroker kafka, String topic, String deploymentId, int rows, double testRate) {
        kafka.createTopic(topic, 1);
        Random random = new Random(5);
        try (RecordDataSink sink = RecordDataSink.builder(kafka.clientConfig())
                .format("JSON")
                .inputConfig(Map.of("data_reshape", "2"))
                .topic(topic)
                .deploymentId(deploymentId)
                .testRate(testRate)
                .partitioning(DataSink.Partitioning.ROUND_ROBIN)
                .build()) {
            for (int i = 0; i < rows; i++) {
                sink.send(new double[] {i % 2 * 3 + random.nextGaussian(), random.nextGaussian()}, i % 2);
            }
        }
    }

    static TrainingJob job(Registry registry, String deploymentId, TrainingSpec spec, String configuration) {
        return new TrainingJob(
                deploymentId,
                registry.configuration(configuration).orElseThrow(),
                List.of(registry.model("tiny").orElseThrow()),
                spec,
                "KAFKA_ML_CONTROL_TOPIC");
    }

    /**
     * A run 50 times longer than another writes records no larger than it (but for a few more digits), and its whole
     * history: a record that kept anything per epoch, even one byte, would be 980 bytes larger in the long run (the
     * history itself, about 65 bytes of JSON an epoch, 63 KB larger).
     */
    @Test
    void aLongRunWritesRecordsNoLargerThanAShortOneAndAFullHistory(EmbeddedKafkaBroker kafka) {
        Map<String, Integer> shortRun = trainAndReadBack(kafka, "short-run", 20);
        // issue 11's 20,000-epoch run: -Dkafkaml.longrun.epochs=20000 (about 55 s; the suite runs 1,000)
        int epochs = Integer.getInteger("kafkaml.longrun.epochs", 1_000);
        Map<String, Integer> longRun = trainAndReadBack(kafka, "long-run", epochs);
        for (String topic : List.of("results", "metrics", "deployments")) {
            assertThat(longRun.get("long-run." + topic))
                    .as(topic + ": largest record of the " + epochs + "-epoch run against the 20-epoch run's")
                    .isLessThanOrEqualTo(shortRun.get("short-run." + topic) + 128)
                    .isLessThan(64 * 1024);
        }
    }

    /** Trains {@code epochs} epochs in a registry of its own, checks the records, returns the largest per topic. */
    static Map<String, Integer> trainAndReadBack(EmbeddedKafkaBroker kafka, String prefix, int epochs) {
        String deploymentId = prefix + "-1";
        try (Registry registry = Registry.connect(kafka.clientConfig(), prefix, Duration.ofSeconds(60))) {
            registry.registerModel(mlp("tiny"));
            registry.createConfiguration(new Configuration("c", "", List.of("tiny")));
            send(kafka, prefix + "-data", deploymentId, 16, 0.25);
            AtomicInteger seen = new AtomicInteger();
            TrainingRunner runner = new TrainingRunner(
                    job(
                            registry,
                            deploymentId,
                            TrainingSpec.builder().batchSize(16).epochs(epochs).build(),
                            "c"),
                    registry,
                    kafka.clientConfig(),
                    new TrainingListener() {
                        @Override
                        public void onEpoch(String deploymentId, String model, EpochMetrics metrics, int totalEpochs) {
                            assertThat(metrics.epoch()).isEqualTo(seen.incrementAndGet());
                        }
                    });
            runner.run();

            assertThat(runner.finalStatus()).isEqualTo(DeploymentStatus.FINISHED);
            assertThat(seen).hasValue(epochs);
            TrainingResult result = registry.result(deploymentId + ".tiny").orElseThrow();
            assertThat(result.status()).isEqualTo(DeploymentStatus.FINISHED);
            assertThat(result.epochCount()).isEqualTo(epochs);
            assertThat(result.lastEpoch().epoch()).isEqualTo(epochs);
            assertThat(result.bestEpoch()).isNotNull();
            assertThat(result.bestEpoch().loss())
                    .isLessThanOrEqualTo(result.lastEpoch().loss());
            assertThat(result.testMetrics()).containsKeys("accuracy", "f1", "loss");
            assertThat(result.confusionMatrix()).hasDimensions(2, 2);
            assertThat(result.artifact()).isNotNull();
            assertThat(result.metricsStart())
                    .as("where the run's history starts in the fresh metrics topic")
                    .isEqualTo(new io.kafkaml.registry.MetricsPosition(0, 0));
            assertThat(registry.deployment(deploymentId).orElseThrow().status()).isEqualTo(DeploymentStatus.FINISHED);

            List<EpochMetrics> history = registry.epochs(deploymentId + ".tiny");
            assertThat(history)
                    .extracting(EpochMetrics::epoch)
                    .containsExactlyElementsOf(
                            IntStream.rangeClosed(1, epochs).boxed().toList());
            assertThat(history.get(epochs - 1)).isEqualTo(result.lastEpoch());
        }
        // Every record of every registry topic and of the metrics topic, read back from the broker.
        Map<String, Integer> largest = largestRecords(kafka, prefix);
        assertThat(largest).containsKeys(prefix + ".results", prefix + ".metrics", prefix + ".deployments");
        assertThat(largest)
                .allSatisfy((topic, bytes) -> assertThat(bytes).as(topic).isLessThan(64 * 1024));
        assertThat(recordCount(kafka, prefix + ".metrics")).isEqualTo(epochs);
        return largest;
    }

    @Test
    void anErrorWhileTrainingIsRecordedAsFailedWithItsReason(EmbeddedKafkaBroker kafka) {
        try (Registry registry = Registry.connect(kafka.clientConfig(), "error-run", Duration.ofSeconds(30))) {
            registry.registerModel(mlp("tiny"));
            registry.createConfiguration(new Configuration("c", "", List.of("tiny")));
            send(kafka, "error-run-data", "err-1", 16, 0.25);
            TrainingRunner runner = new TrainingRunner(
                    job(
                            registry,
                            "err-1",
                            TrainingSpec.builder().batchSize(16).epochs(50).build(),
                            "c"),
                    registry,
                    kafka.clientConfig(),
                    new TrainingListener() {
                        @Override
                        public void onEpoch(String deploymentId, String model, EpochMetrics metrics, int totalEpochs) {
                            if (metrics.epoch() == 3) { // thrown on the trainer's thread, as ND4J's allocator would
                                throw new OutOfMemoryError("Java heap space");
                            }
                        }
                    });
            runner.run(); // returns: nothing escapes run(), not even an Error

            assertThat(runner.finalStatus()).isEqualTo(DeploymentStatus.FAILED);
            TrainingResult result = registry.result("err-1.tiny").orElseThrow();
            assertThat(result.status()).isEqualTo(DeploymentStatus.FAILED);
            assertThat(result.error()).isEqualTo("OutOfMemoryError: Java heap space");
            assertThat(result.epochCount()).isEqualTo(3);
            Deployment deployment = registry.deployment("err-1").orElseThrow();
            assertThat(deployment.status()).isEqualTo(DeploymentStatus.FAILED);
            assertThat(deployment.error()).isEqualTo("model 'tiny': OutOfMemoryError: Java heap space");

            // A second runner of the same deployment (a restarted worker) cannot revive it.
            TrainingRunner restarted = new TrainingRunner(
                    job(
                            registry,
                            "err-1",
                            TrainingSpec.builder().batchSize(16).epochs(50).build(),
                            "c"),
                    registry,
                    kafka.clientConfig(),
                    null);
            restarted.run();
            assertThat(restarted.finalStatus()).isEqualTo(DeploymentStatus.FAILED);
            assertThat(registry.result("err-1.tiny").orElseThrow()).isEqualTo(result);
        }
    }

    @Test
    void aRegistryWriteTheBrokerRefusesEndsTheModelFailedWithTheReasonOnce(EmbeddedKafkaBroker kafka) {
        Map<String, Object> small = new HashMap<>(kafka.clientConfig());
        small.put("producer.max.request.size", 4096); // the results fit; the trained model's artifact (~8 KB) does not
        try (Registry registry = Registry.connect(kafka.clientConfig(), "refused", Duration.ofSeconds(30));
                Registry limited = Registry.connect(small, "refused", Duration.ofSeconds(30))) {
            registry.registerModel(mlp("tiny", 512));
            registry.createConfiguration(new Configuration("c", "", List.of("tiny")));
            send(kafka, "refused-data", "ref-1", 16, 0.25);
            TrainingRunner runner = new TrainingRunner(
                    job(
                            registry,
                            "ref-1",
                            TrainingSpec.builder().batchSize(16).epochs(5).build(),
                            "c"),
                    limited,
                    kafka.clientConfig(),
                    null);
            runner.run();

            assertThat(runner.finalStatus()).isEqualTo(DeploymentStatus.FAILED);
            // the runner wrote through 'limited': 'registry' reads its ending once it has caught up
            org.awaitility.Awaitility.await()
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> registry.result("ref-1.tiny")
                            .map(r -> r.status().isTerminal())
                            .orElse(false));
            TrainingResult result = registry.result("ref-1.tiny").orElseThrow();
            assertThat(result.status()).isEqualTo(DeploymentStatus.FAILED);
            assertThat(result.error()).contains("refused.artifact-chunks").contains("RecordTooLargeException");
            assertThat(result.epochCount()).isEqualTo(5);
            assertThat(registry.epochs("ref-1.tiny")).hasSize(5);
            assertThat(registry.deployment("ref-1").orElseThrow().status()).isEqualTo(DeploymentStatus.FAILED);
        }
    }

    static Map<String, Integer> largestRecords(EmbeddedKafkaBroker kafka, String prefix) {
        Map<String, Integer> largest = new HashMap<>();
        forEachRecord(
                kafka,
                topic -> topic.startsWith(prefix + "."),
                record -> largest.merge(
                        record.topic(),
                        (record.key() == null ? 0 : record.key().length)
                                + (record.value() == null ? 0 : record.value().length),
                        Math::max));
        return largest;
    }

    static int recordCount(EmbeddedKafkaBroker kafka, String topic) {
        AtomicInteger count = new AtomicInteger();
        forEachRecord(kafka, topic::equals, record -> count.incrementAndGet());
        return count.get();
    }

    static void forEachRecord(
            EmbeddedKafkaBroker kafka,
            java.util.function.Predicate<String> topics,
            java.util.function.Consumer<ConsumerRecord<byte[], byte[]>> each) {
        Map<String, Object> config = new HashMap<>(kafka.clientConfig());
        config.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 8 * 1024 * 1024);
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = new ArrayList<>();
            consumer.listTopics(Duration.ofSeconds(30)).forEach((topic, infos) -> {
                if (topics.test(topic)) {
                    infos.forEach(p -> partitions.add(new TopicPartition(p.topic(), p.partition())));
                }
            });
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> ends = consumer.endOffsets(partitions, Duration.ofSeconds(30));
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (partitions.stream().anyMatch(p -> consumer.position(p) < ends.get(p))) {
                assertThat(System.nanoTime()).as("reading back " + partitions).isLessThan(deadline);
                consumer.poll(Duration.ofMillis(200)).forEach(each);
            }
        }
    }
}
