package io.kafkaml.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Log compaction keeps only the last record of a key: a record the registry refused (a restarted worker writing
 * TRAINING after FAILED, a terminal record that lost a race) must never become what a new client reads. The topics
 * here are compacted for real: small segments, any dirty ratio, and filler records that roll the segments until the
 * broker's log cleaner has left the key with one record.
 */
@ExtendWith(EmbeddedKafkaExtension.class)
class RegistryCompactionIT {

    static final Duration TIMEOUT = Duration.ofSeconds(30);

    static void createCompactedFast(EmbeddedKafkaBroker kafka, String topic) {
        kafka.createTopic(
                topic,
                1,
                Map.of(
                        TopicConfig.CLEANUP_POLICY_CONFIG,
                        TopicConfig.CLEANUP_POLICY_COMPACT,
                        TopicConfig.SEGMENT_MS_CONFIG,
                        "100",
                        TopicConfig.MIN_CLEANABLE_DIRTY_RATIO_CONFIG,
                        "0.01",
                        TopicConfig.MIN_COMPACTION_LAG_MS_CONFIG,
                        "0"));
    }

    static List<ConsumerRecord<byte[], byte[]>> readAll(EmbeddedKafkaBroker kafka, String topic) {
        Map<String, Object> config = new HashMap<>(kafka.clientConfig());
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        List<ConsumerRecord<byte[], byte[]>> all = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition partition = new TopicPartition(topic, 0);
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            long end = consumer.endOffsets(List.of(partition)).get(partition);
            while (consumer.position(partition) < end) {
                consumer.poll(Duration.ofMillis(200)).forEach(all::add);
            }
        }
        return all;
    }

    static List<ConsumerRecord<byte[], byte[]>> recordsOf(EmbeddedKafkaBroker kafka, String topic, String key) {
        return readAll(kafka, topic).stream()
                .filter(r -> new String(r.key(), StandardCharsets.UTF_8).equals(key))
                .toList();
    }

    static long send(KafkaProducer<byte[], byte[]> producer, String topic, String key, byte[] value) throws Exception {
        return producer.send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value))
                .get(10, TimeUnit.SECONDS)
                .offset();
    }

    /** Sends filler records (rolling 100 ms segments) until the cleaner has left {@code key} with one record. */
    static ConsumerRecord<byte[], byte[]> compactUntilOneRecordOf(
            EmbeddedKafkaBroker kafka,
            KafkaProducer<byte[], byte[]> producer,
            String topic,
            String key,
            String fillerKey,
            byte[] filler) {
        Awaitility.await("compaction of " + key + " in " + topic)
                .atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(300))
                .until(() -> {
                    send(producer, topic, fillerKey, filler);
                    return recordsOf(kafka, topic, key).size() == 1;
                });
        return recordsOf(kafka, topic, key).get(0);
    }

    static KafkaProducer<byte[], byte[]> producer(EmbeddedKafkaBroker kafka) {
        return new KafkaProducer<>(kafka.clientConfig(), new ByteArraySerializer(), new ByteArraySerializer());
    }

    @Test
    void aRefusedRecordLeftAloneByCompactionDoesNotReviveAnEndedResult(EmbeddedKafkaBroker kafka) throws Exception {
        String prefix = "compact-revive";
        String results = prefix + ".results";
        createCompactedFast(kafka, results);
        byte[] training;
        byte[] filler;
        try (Registry registry = Registry.connect(kafka.clientConfig(), prefix, TIMEOUT)) {
            registry.putResult(TrainingResult.of("5", "m", DeploymentStatus.TRAINING, null));
            training = recordsOf(kafka, results, "5.m").get(0).value();
            registry.putResult(registry.result("5.m").orElseThrow().ended(DeploymentStatus.FAILED, "the data was bad"));
            registry.putResult(TrainingResult.of("6", "filler", DeploymentStatus.WAITING_FOR_DATA, null));
            filler = recordsOf(kafka, results, "6.filler").get(0).value();
        }
        try (KafkaProducer<byte[], byte[]> producer = producer(kafka)) {
            // A worker restarted with no registry client alive writes TRAINING again, past every check.
            send(producer, results, "5.m", training);
            ConsumerRecord<byte[], byte[]> left =
                    compactUntilOneRecordOf(kafka, producer, results, "5.m", "6.filler", filler);
            assertThat(new String(left.value(), StandardCharsets.UTF_8))
                    .as("compaction left the refused TRAINING record as the key's only one in " + results)
                    .contains("\"TRAINING\"");
        }
        try (Registry fresh = Registry.connect(kafka.clientConfig(), prefix, TIMEOUT)) {
            TrainingResult result = fresh.result("5.m").orElseThrow();
            assertThat(result.status()).isEqualTo(DeploymentStatus.FAILED);
            assertThat(result.error()).isEqualTo("the data was bad");
            assertThat(fresh.results())
                    .filteredOn(r -> r.id().equals("5.m"))
                    .singleElement()
                    .extracting(TrainingResult::status)
                    .isEqualTo(DeploymentStatus.FAILED);
            assertThatThrownBy(() -> fresh.putResult(TrainingResult.of("5", "m", DeploymentStatus.TRAINING, null)))
                    .isInstanceOf(IllegalStatusTransitionException.class);
        }
    }

    static Map<String, String> configOf(EmbeddedKafkaBroker kafka, String topic) throws Exception {
        try (org.apache.kafka.clients.admin.Admin admin =
                org.apache.kafka.clients.admin.Admin.create(kafka.clientConfig())) {
            var resource = new org.apache.kafka.common.config.ConfigResource(
                    org.apache.kafka.common.config.ConfigResource.Type.TOPIC, topic);
            Map<String, String> config = new HashMap<>();
            admin.describeConfigs(List.of(resource))
                    .all()
                    .get(10, TimeUnit.SECONDS)
                    .get(resource)
                    .entries()
                    .forEach(e -> config.put(e.name(), e.value()));
            return config;
        }
    }

    @Test
    void theResultEndsTopicIsAppendOnlySoTheFirstTerminalRecordWinsWithNoClientAlive(EmbeddedKafkaBroker kafka)
            throws Exception {
        String prefix = "ends-append";
        String ends = prefix + ".result-ends";
        // A result-ends topic left compacted (fast) by an earlier version: connecting makes it append-only.
        createCompactedFast(kafka, ends);
        byte[] failed;
        try (Registry registry = Registry.connect(kafka.clientConfig(), prefix, TIMEOUT)) {
            // the controller has the change when the call returns; the broker describing the configs applies it after
            Awaitility.await()
                    .atMost(Duration.ofSeconds(30))
                    .ignoreExceptions()
                    .untilAsserted(() -> assertThat(configOf(kafka, ends))
                            .containsEntry(TopicConfig.CLEANUP_POLICY_CONFIG, "delete")
                            .containsEntry(TopicConfig.RETENTION_MS_CONFIG, "-1")
                            .containsEntry(TopicConfig.RETENTION_BYTES_CONFIG, "-1"));
            registry.putResult(TrainingResult.of("8", "m", DeploymentStatus.TRAINING, null));
            registry.putResult(registry.result("8.m").orElseThrow().ended(DeploymentStatus.FAILED, "out of memory"));
            failed = recordsOf(kafka, ends, "8.m").get(0).value();
        }
        try (Registry fresh = Registry.connect(kafka.clientConfig(), "ends-new", TIMEOUT)) {
            Awaitility.await()
                    .atMost(Duration.ofSeconds(30))
                    .ignoreExceptions()
                    .untilAsserted(() -> assertThat(configOf(kafka, "ends-new.result-ends"))
                            .containsEntry(TopicConfig.CLEANUP_POLICY_CONFIG, "delete")
                            .containsEntry(TopicConfig.RETENTION_MS_CONFIG, "-1")
                            .containsEntry(TopicConfig.RETENTION_BYTES_CONFIG, "-1"));
        }
        // A second writer's CANCELLED lost the race, and nobody is alive to write the winner again behind it.
        byte[] cancelled = new String(failed, StandardCharsets.UTF_8)
                .replace("\"FAILED\"", "\"CANCELLED\"")
                .getBytes(StandardCharsets.UTF_8);
        try (KafkaProducer<byte[], byte[]> producer = producer(kafka)) {
            send(producer, ends, "8.m", cancelled);
            for (int i = 0; i < 20; i++) { // roll segments (100 ms): a compacted topic would be cleaned meanwhile
                send(producer, ends, "9.filler", failed);
            }
        }
        try (Registry fresh = Registry.connect(kafka.clientConfig(), prefix, TIMEOUT)) {
            assertThat(recordsOf(kafka, ends, "8.m"))
                    .extracting(ConsumerRecord::value)
                    .containsExactly(failed, cancelled);
            TrainingResult result = fresh.result("8.m").orElseThrow();
            assertThat(result.status()).isEqualTo(DeploymentStatus.FAILED);
            assertThat(result.error()).isEqualTo("out of memory");
        }
    }
}
