package io.kafkaml.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(EmbeddedKafkaExtension.class)
class EmbeddedKafkaBrokerIT {

    @Test
    void producesAndConsumesThroughTheEmbeddedBroker(EmbeddedKafkaBroker kafka) {
        kafka.createTopic("roundtrip", 3);
        produce(kafka, "roundtrip", 30);
        assertThat(consumeAll(kafka, "roundtrip", 30)).hasSize(30);
        long total = 0;
        for (int p = 0; p < 3; p++) {
            total += kafka.logEndOffset(new TopicPartition("roundtrip", p));
        }
        assertThat(total).isEqualTo(30);
    }

    @Test
    void createsTopicsWithConfigs(EmbeddedKafkaBroker kafka) throws Exception {
        kafka.createTopic("configured", 2, Map.of("retention.ms", "3600000", "cleanup.policy", "compact"));
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, "configured");
        Config config =
                kafka.admin().describeConfigs(List.of(resource)).all().get().get(resource);
        assertThat(config.get("retention.ms").value()).isEqualTo("3600000");
        assertThat(config.get("cleanup.policy").value()).isEqualTo("compact");
        assertThatThrownBy(() -> kafka.createTopic("configured", 2))
                .isInstanceOf(EmbeddedKafkaException.class)
                .hasMessageContaining("configured");
    }

    @Test
    void deletesRecordsBelowAnOffsetLikeRetention(EmbeddedKafkaBroker kafka) {
        kafka.createTopic("retention", 1);
        produce(kafka, "retention", 10);
        TopicPartition partition = new TopicPartition("retention", 0);
        assertThat(kafka.logStartOffset(partition)).isZero();
        kafka.deleteRecordsBefore(partition, 4);
        assertThat(kafka.logStartOffset(partition)).isEqualTo(4);
        assertThat(kafka.logEndOffset(partition)).isEqualTo(10);
    }

    @Test
    void sharesOneBrokerPerTestClass(EmbeddedKafkaBroker first, EmbeddedKafkaBroker second) {
        assertThat(first).isSameAs(second);
        assertThat(first.state()).isEqualTo(EmbeddedKafkaBroker.State.RUNNING);
    }

    @Test
    void keepsDataInAGivenDirectoryAcrossRestartsAndRemovesTemporaryOnes(@TempDir Path dir) {
        Path temporary;
        try (EmbeddedKafkaBroker broker =
                EmbeddedKafkaBroker.builder().dataDirectory(dir).build().start()) {
            broker.createTopic("durable", 1);
            produce(broker, "durable", 5);
        }
        try (EmbeddedKafkaBroker broker =
                EmbeddedKafkaBroker.builder().dataDirectory(dir).build().start()) {
            assertThat(consumeAll(broker, "durable", 5)).hasSize(5);
        }
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().build().start()) {
            temporary = broker.dataDirectory();
            assertThat(temporary).exists();
        }
        assertThat(Files.exists(temporary)).isFalse();
    }

    @Test
    void lifecycleIsExplicit() {
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().build();
        assertThatThrownBy(broker::bootstrapServers).isInstanceOf(IllegalStateException.class);
        broker.close();
        broker.close();
        assertThatThrownBy(broker::start)
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("CLOSED");
    }

    @Test
    void aBadBrokerPropertyFailsTheStartWithTheReason() {
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder()
                .brokerProperty("num.partitions", "many")
                .build();
        assertThatThrownBy(broker::start)
                .isInstanceOf(EmbeddedKafkaException.class)
                .hasMessageContaining("num.partitions");
        assertThat(broker.state()).isEqualTo(EmbeddedKafkaBroker.State.CLOSED);
        broker.close();
    }

    static void produce(EmbeddedKafkaBroker kafka, String topic, int count) {
        Map<String, Object> config = kafka.clientConfig();
        try (KafkaProducer<String, String> producer =
                new KafkaProducer<>(config, new StringSerializer(), new StringSerializer())) {
            for (int i = 0; i < count; i++) {
                producer.send(new ProducerRecord<>(topic, "k" + i, "v" + i));
            }
            producer.flush();
        }
    }

    static List<ConsumerRecord<String, String>> consumeAll(EmbeddedKafkaBroker kafka, String topic, int expected) {
        Map<String, Object> config = kafka.clientConfig();
        config.put(ConsumerConfig.GROUP_ID_CONFIG, "testkit-" + topic);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        List<ConsumerRecord<String, String>> records = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer =
                new KafkaConsumer<>(config, new StringDeserializer(), new StringDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (records.size() < expected && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(100)).forEach(records::add);
            }
        }
        assertThat(records.get(0).value().getBytes(StandardCharsets.UTF_8)).isNotEmpty();
        return records;
    }
}
