package io.kafkaml.registry;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.control.ControlMessage;
import io.kafkaml.testing.InMemoryKafka;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The registry's metrics reads and the control logger on {@code MockProducer}/{@code MockConsumer}s sharing an
 * in-memory log: no broker.
 */
class RegistryMockClientsTest {

    private static final Map<String, Object> CONFIG = Map.of("bootstrap.servers", "in-memory:9092");

    private final InMemoryKafka kafka = new InMemoryKafka();
    private Registry registry;

    @BeforeEach
    void connect() {
        registry = Registry.connect(CONFIG, "mock", Duration.ofSeconds(10), kafka);
    }

    @AfterEach
    void close() {
        registry.close();
    }

    private static EpochMetrics epoch(int n) {
        return new EpochMetrics(n, 1.0 / n, Map.of("accuracy", 0.5 + n / 100.0), 10L * n);
    }

    /** Reads on from {@code from}, collecting {@code run:epoch} of each epoch record of {@code resultId}. */
    private MetricsPosition readOn(String resultId, MetricsPosition from, List<String> into) {
        return registry.readEpochs(resultId, from, (run, e) -> into.add(run + ":" + e.epoch()));
    }

    @Test
    void readEpochsReadsOnlyWhatTheMetricsTopicGainedForItsResultAndSaysWhereToGoOn() {
        MetricsPosition start = registry.appendEpoch("7.a", "run-1", epoch(1)).join();
        registry.appendEpoch("8.b", "run-9", epoch(1)).join(); // another training's epoch in the same partition
        registry.appendEpoch("7.a", "run-1", epoch(2)).join();

        List<String> read = new ArrayList<>();
        MetricsPosition next = readOn("7.a", start, read);
        assertThat(read).containsExactly("run-1:1", "run-1:2");
        assertThat(next).isEqualTo(new MetricsPosition(start.partition(), start.offset() + 3));

        read.clear();
        assertThat(readOn("7.a", next, read)).isEqualTo(next); // nothing new: the same position
        assertThat(read).isEmpty();

        registry.appendEpoch("7.a", "run-1", epoch(3)).join();
        registry.appendEpoch("7.a", "run-2", epoch(1)).join(); // a restarted worker's new run, from epoch 1
        MetricsPosition last = readOn("7.a", next, read);
        assertThat(read).containsExactly("run-1:3", "run-2:1");
        assertThat(last.offset()).isEqualTo(next.offset() + 2);
    }

    @Test
    void theControlLoggerCatalogsKafkaMlMessagesOnceSkipsMalformedOnesAndRestartsWithoutDuplicates() {
        String json = "{\"topic\": \"points:0:0:10\", \"input_format\": \"RAW\", \"input_config\": "
                + "{\"data_type\": \"float32\", \"label_type\": \"uint8\", \"data_reshape\": \"2\"}, "
                + "\"validation_rate\": 0, \"test_rate\": 0, \"total_msg\": 10}";
        try (Producer<byte[], byte[]> kafkaMl = kafka.producer(Map.of());
                ControlLogger logger = ControlLogger.start(CONFIG, registry, "control", kafka)) {
            kafkaMl.send(new ProducerRecord<>("control", new byte[] {7}, json.getBytes(StandardCharsets.UTF_8)));
            kafkaMl.send(new ProducerRecord<>("control", new byte[] {8}, "not json".getBytes(StandardCharsets.UTF_8)));
            Awaitility.await()
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> logger.recorded() == 1 && logger.malformed() == 1);
            Datasource datasource = registry.datasource("control-0-0").orElseThrow();
            assertThat(datasource.deploymentId()).isEqualTo("7");
            assertThat(datasource.controlTopic()).isEqualTo("control");
            assertThat(ControlMessage.fromJson(datasource.controlMessage()).totalMessages())
                    .isEqualTo(10);
        }
        // a restarted logger reads the topic from its beginning and records nothing twice
        try (ControlLogger again = ControlLogger.start(CONFIG, registry, "control", kafka)) {
            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> again.malformed() == 1);
            assertThat(again.recorded()).isZero();
            assertThat(registry.datasources()).hasSize(1);
        }
    }

    private static final String CONTROL_JSON =
            "{\"topic\": \"points:0:0:10\", \"input_format\": \"RAW\", \"input_config\": "
                    + "{\"data_type\": \"float32\", \"label_type\": \"uint8\", \"data_reshape\": \"2\"}, "
                    + "\"validation_rate\": 0, \"test_rate\": 0, \"total_msg\": 10}";

    private void sendControl(String topic, int deployment) {
        try (Producer<byte[], byte[]> kafkaMl = kafka.producer(Map.of())) {
            kafkaMl.send(new ProducerRecord<>(
                    topic, new byte[] {(byte) deployment}, CONTROL_JSON.getBytes(StandardCharsets.UTF_8)));
        }
    }

    private static Map<String, Object> refusalRetry(long ms) {
        Map<String, Object> config = new java.util.HashMap<>(CONFIG);
        config.put(io.kafkaml.config.KafkaMlConfig.CONTROL_LOGGER_REFUSAL_RETRY_MS_CONFIG, ms);
        return config;
    }

    @Test
    void aRefusalThatPassesWithinTheRetryTimeIsRetriedAndNothingIsLost() {
        // an ACL still propagating: the registry's datasources topic refuses the first two writes
        java.util.concurrent.atomic.AtomicInteger refused = new java.util.concurrent.atomic.AtomicInteger();
        kafka.failWrites(
                "mock.datasources",
                record -> refused.getAndIncrement() < 2
                        ? new org.apache.kafka.common.errors.TopicAuthorizationException(Set.of("mock.datasources"))
                        : null);
        sendControl("control", 7);
        try (ControlLogger logger = ControlLogger.start(refusalRetry(60_000), registry, "control", kafka)) {
            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> logger.recorded() == 1);
            assertThat(refused.get()).isEqualTo(3); // two refusals, then the write that passed
            assertThat(logger.failure()).isEmpty();
            assertThat(logger.stoppedBy()).isEmpty();
            assertThat(registry.datasource("control-0-0")).isPresent();
        }
    }

    @Test
    void aRefusalThatLastsTheRetryTimeIsFinalAndSaysSo() {
        kafka.failWrites(
                "mock.datasources",
                record -> new org.apache.kafka.common.errors.TopicAuthorizationException(Set.of("mock.datasources")));
        sendControl("control", 7);
        try (ControlLogger logger = ControlLogger.start(refusalRetry(1_500), registry, "control", kafka)) {
            assertThat(logger.awaitTermination(Duration.ofSeconds(30))).isTrue();
            assertThat(logger.failure()).hasValueSatisfying(failure -> {
                assertThat(failure.operation()).isEqualTo("WRITE");
                assertThat(failure.resource()).isEqualTo("topic 'mock.datasources'");
            });
            assertThat(logger.stoppedBy()).containsSame(logger.failure().get());
            assertThat(logger.recorded()).isZero();
        }
    }

    @Test
    void aLoggerThreadThatDiesOfAnErrorSaysWhy() {
        kafka.failWrites("mock.datasources", record -> {
            throw new NoClassDefFoundError("forged/Missing");
        });
        sendControl("control", 7);
        try (ControlLogger logger = ControlLogger.start(CONFIG, registry, "control", kafka)) {
            assertThat(logger.awaitTermination(Duration.ofSeconds(30))).isTrue();
            assertThat(logger.failure()).isEmpty();
            assertThat(logger.stoppedBy())
                    .hasValueSatisfying(e -> assertThat(e).isInstanceOf(NoClassDefFoundError.class));
        }
    }

    @Test
    void settingsWithANullValueWorkAsForEveryOtherClient() {
        Map<String, Object> config = new java.util.HashMap<>(CONFIG);
        config.put("sasl.jaas.config", null); // settings.put("sasl.jaas.config", System.getenv("UNSET"))
        sendControl("control", 9);
        try (ControlLogger logger = ControlLogger.start(config, registry, "control", kafka)) {
            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> logger.recorded() == 1);
        }
    }

    @Test
    void theMetricsTopicKeepsEveryRecordUnlessARetentionIsSet() {
        // the default keeps every result's per-epoch history (a batch result's charts stay whole)
        assertThat(kafka.topicConfigs(registry.metricsTopic()))
                .containsEntry("cleanup.policy", "delete")
                .containsEntry("retention.ms", "-1");
        Map<String, Object> config = new java.util.HashMap<>(CONFIG);
        config.put(io.kafkaml.config.KafkaMlConfig.METRICS_RETENTION_MS_CONFIG, 86_400_000L);
        try (Registry bounded = Registry.connect(config, "bounded", Duration.ofSeconds(10), kafka)) {
            assertThat(kafka.topicConfigs(bounded.metricsTopic())).containsEntry("retention.ms", "86400000");
        }
    }
}
