package io.kafkaml.registry.internals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.registry.RegistryException;
import io.kafkaml.testing.InMemoryKafka;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiPredicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.TopicConfig;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/** The registry's store on {@code MockProducer}/{@code MockConsumer}s sharing an in-memory log: no broker. */
class KafkaStoreTest {

    private static final Map<String, Object> CONFIG = Map.of("bootstrap.servers", "in-memory:9092");
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final InMemoryKafka kafka = new InMemoryKafka();

    private KafkaStore store(List<String> topics, Map<String, BiPredicate<byte[], byte[]>> rules) {
        return new KafkaStore(CONFIG, topics, Set.of(), rules, Map.of(), TIMEOUT, kafka);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String string(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    @Test
    void aWriteIsSeenByItsWriterOnReturnAndByEveryOtherStoreOfTheTopics() {
        try (KafkaStore writer = store(List.of("s.models", "s.results"), Map.of())) {
            // created as the registry needs them: compacted, one partition
            assertThat(kafka.partitionCount("s.models")).isEqualTo(1);
            assertThat(kafka.topicConfigs("s.models"))
                    .containsEntry(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT);

            writer.put("s.models", "mlp", bytes("v1"));
            assertThat(string(writer.get("s.models", "mlp"))).isEqualTo("v1");

            try (KafkaStore reader = store(List.of("s.models", "s.results"), Map.of())) {
                assertThat(string(reader.get("s.models", "mlp"))).isEqualTo("v1"); // read to the end before ready
                writer.put("s.models", "mlp", bytes("v2"));
                writer.put("s.results", "7.mlp", bytes("r"));
                // two topics, read in no set order: await both writes
                Awaitility.await()
                        .atMost(TIMEOUT)
                        .until(() -> "r".equals(string(reader.get("s.results", "7.mlp")))
                                && "v2".equals(string(reader.get("s.models", "mlp"))));
                assertThat(string(reader.get("s.models", "mlp"))).isEqualTo("v2");
                writer.put("s.models", "mlp", null); // a tombstone deletes
                Awaitility.await().atMost(TIMEOUT).until(() -> reader.get("s.models", "mlp") == null);
                assertThat(reader.snapshot("s.models")).isEmpty();
            }
        }
        // every client the stores were given was closed with them
        assertThat(kafka.openClients()).isZero();
        assertThat(kafka.producerConfigs())
                .allSatisfy(config ->
                        assertThat(config).containsEntry("acks", "all").containsEntry("enable.idempotence", true));
        assertThat(kafka.consumerConfigs())
                .allSatisfy(config -> assertThat(config)
                        .containsEntry("isolation.level", "read_committed")
                        .containsEntry("enable.auto.commit", false)
                        .doesNotContainKey("group.id"));
    }

    @Test
    void aRecordTheAcceptRuleRefusesIsSkippedAndTheAcceptedValueIsWrittenAgainBehindIt() {
        BiPredicate<byte[], byte[]> finalIsFinal = (current, next) -> !"FINISHED".equals(string(current));
        try (KafkaStore store = store(List.of("s.results"), Map.of("s.results", finalIsFinal));
                Producer<byte[], byte[]> stranger = kafka.producer(Map.of())) {
            store.put("s.results", "7.mlp", bytes("TRAINING"));
            store.put("s.results", "7.mlp", bytes("FINISHED"));
            // a writer that did not know the result had ended
            stranger.send(new ProducerRecord<>("s.results", bytes("7.mlp"), bytes("TRAINING")));

            // the store repairs the key: its accepted value is the last record again, so compaction keeps it
            Awaitility.await().atMost(TIMEOUT).untilAsserted(() -> {
                List<ConsumerRecord<byte[], byte[]>> log = kafka.records("s.results");
                assertThat(log).hasSize(4);
                assertThat(string(log.get(3).value())).isEqualTo("FINISHED");
            });
            assertThat(string(store.get("s.results", "7.mlp"))).isEqualTo("FINISHED");
            try (KafkaStore later = store(List.of("s.results"), Map.of("s.results", finalIsFinal))) {
                assertThat(string(later.get("s.results", "7.mlp"))).isEqualTo("FINISHED");
            }
        }
    }

    @Test
    void aTopicOfSeveralPartitionsIsRefusedNamingItAndNothingIsLeftOpen() {
        kafka.createTopic("s.models", 3, Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, "compact"));
        assertThatThrownBy(() -> store(List.of("s.models"), Map.of()))
                .isInstanceOf(RegistryException.class)
                .hasMessageContaining("'s.models' has 3 partitions");
        assertThat(kafka.openClients()).isZero();
    }

    @Test
    void anExistingTopicOfAnotherConfigurationIsAlteredToTheOneAsked() {
        kafka.createTopic("s.ends", 1, Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, "compact"));
        Map<String, String> appendOnly = Map.of(
                TopicConfig.CLEANUP_POLICY_CONFIG,
                TopicConfig.CLEANUP_POLICY_DELETE,
                TopicConfig.RETENTION_MS_CONFIG,
                "-1");
        try (KafkaStore store = new KafkaStore(
                CONFIG, List.of("s.ends"), Set.of(), Map.of(), Map.of("s.ends", appendOnly), TIMEOUT, kafka)) {
            assertThat(kafka.topicConfigs("s.ends")).containsAllEntriesOf(appendOnly);
            store.put("s.ends", "7.mlp", bytes("FINISHED"));
            assertThat(string(store.get("s.ends", "7.mlp"))).isEqualTo("FINISHED");
        }
    }

    @Test
    void theFetcherWaitsBrieflyAtTheLogEndWhateverTheUsersFetchWaitSoASyncAfterAReadIsNotHeldBehindIt() {
        // a read at an offset leaves a fetch parked at the log end; the broker answers the fetcher's next request
        // (a sync's endOffsets) only after it, which fetch.max.wait.ms bounds (500 ms by default)
        List<Map<String, Object>> consumers = new java.util.concurrent.CopyOnWriteArrayList<>();
        io.kafkaml.config.KafkaClientSupplier recording = new io.kafkaml.config.KafkaClientSupplier() {
            @Override
            public org.apache.kafka.clients.consumer.Consumer<byte[], byte[]> consumer(Map<String, Object> config) {
                consumers.add(Map.copyOf(config));
                return kafka.consumer(config);
            }

            @Override
            public Producer<byte[], byte[]> producer(Map<String, Object> config) {
                return kafka.producer(config);
            }

            @Override
            public org.apache.kafka.clients.admin.Admin admin(Map<String, Object> config) {
                return kafka.admin(config);
            }
        };
        Map<String, Object> config = Map.of("bootstrap.servers", "in-memory:9092", "fetch.max.wait.ms", 500);
        try (KafkaStore store =
                new KafkaStore(config, List.of("s.models"), Set.of(), Map.of(), Map.of(), TIMEOUT, recording)) {
            store.put("s.models", "a", bytes("1"));
            assertThat(string(store.readAt("s.models", store.offsetOf("s.models", "a"))))
                    .isEqualTo("1");
        }
        assertThat(consumers)
                .filteredOn(c -> String.valueOf(c.get("client.id")).endsWith("-fetcher"))
                .singleElement()
                .satisfies(c -> assertThat(c).containsEntry("fetch.max.wait.ms", KafkaStore.FETCHER_MAX_WAIT_MS));
        assertThat(consumers)
                .filteredOn(c -> String.valueOf(c.get("client.id")).endsWith("-reader"))
                .singleElement()
                .satisfies(c -> assertThat(c).containsEntry("fetch.max.wait.ms", 500));
    }
}
