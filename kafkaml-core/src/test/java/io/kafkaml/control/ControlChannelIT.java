package io.kafkaml.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.common.KafkaMlException;
import io.kafkaml.stream.StreamSlice;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(EmbeddedKafkaExtension.class)
class ControlChannelIT {

    private static ControlMessage message(String deploymentId) {
        return ControlMessage.builder()
                .slices(List.of(StreamSlice.of("data", 0, 0, 10)))
                .inputFormat("RAW")
                .totalMessages(10)
                .deploymentId(deploymentId)
                .build();
    }

    @Test
    void findsAMessagePublishedBeforeTheWaitStarted(EmbeddedKafkaBroker kafka) {
        try (ControlChannel control = ControlChannel.create(kafka.clientConfig(), "control-before")) {
            control.publish(message("1"), Duration.ofSeconds(10));
            control.publish(message("2"), Duration.ofSeconds(10));
            assertThat(control.await("2", Duration.ofSeconds(10))).isEqualTo(message("2"));
            assertThat(control.await("1", Duration.ofSeconds(10))).isEqualTo(message("1"));
        }
    }

    @Test
    void findsAMessagePublishedWhileWaitingEvenOnATopicThatDidNotExistYet(EmbeddedKafkaBroker kafka) throws Exception {
        try (ControlChannel control = ControlChannel.create(kafka.clientConfig(), "control-later")) {
            CompletableFuture<ControlMessage> waiting =
                    CompletableFuture.supplyAsync(() -> control.await("gw-9", Duration.ofSeconds(30)));
            // nothing for it yet: it keeps waiting (checked for 700 ms), then both messages arrive
            org.awaitility.Awaitility.await()
                    .during(Duration.ofMillis(700))
                    .atMost(Duration.ofSeconds(10))
                    .until(() -> !waiting.isDone());
            control.publish(message("gw-8"), Duration.ofSeconds(10));
            control.publish(message("gw-9"), Duration.ofSeconds(10));
            assertThat(waiting.get(30, TimeUnit.SECONDS).deploymentId()).isEqualTo("gw-9");
        }
    }

    @Test
    void readsAKafkaMlStyleMessageWithAOneByteKey(EmbeddedKafkaBroker kafka) {
        kafka.createTopic(ControlChannel.DEFAULT_TOPIC, 1);
        send(kafka, ControlChannel.DEFAULT_TOPIC, new byte[] {0x07}, ControlMessageTest.KAFKA_ML_RAW);
        try (ControlChannel control = ControlChannel.create(kafka.clientConfig())) {
            ControlMessage message = control.await("7", Duration.ofSeconds(10));
            assertThat(message.slices())
                    .containsExactly(StreamSlice.of("hcopd", 0, 0, 120), StreamSlice.of("hcopd", 1, 0, 119));
            assertThat(message.totalMessages()).isEqualTo(239);
        }
    }

    @Test
    void skipsMalformedMessagesForOthersButFailsOnAMalformedOneForItsOwnDeployment(EmbeddedKafkaBroker kafka) {
        kafka.createTopic("control-bad", 1);
        send(kafka, "control-bad", new byte[] {1}, "not json at all");
        send(kafka, "control-bad", null, "{\"topic\": 12}");
        try (ControlChannel control = ControlChannel.create(kafka.clientConfig(), "control-bad")) {
            control.publish(message("3"), Duration.ofSeconds(10));
            assertThat(control.await("3", Duration.ofSeconds(10)).deploymentId())
                    .isEqualTo("3");
            assertThatThrownBy(() -> control.await("1", Duration.ofSeconds(10)))
                    .isInstanceOf(InvalidControlMessageException.class)
                    .hasMessageContaining("at control-bad-0@0: the value is not JSON");
            assertThatThrownBy(() -> control.await("4", Duration.ofMillis(1500)))
                    .isInstanceOf(ControlMessageTimeoutException.class)
                    .hasMessageContaining(
                            "No control message for deployment '4' arrived on topic 'control-bad' within 1500 ms")
                    .hasMessageContaining("2 malformed messages were skipped");
        }
    }

    @Test
    void aWaitReadsAtMostTheConfiguredNumberOfControlMessages(EmbeddedKafkaBroker kafka) {
        kafka.createTopic("control-flood", 1);
        Map<String, Object> limited = new java.util.HashMap<>(kafka.clientConfig());
        limited.put("kafkaml.max.control.messages", "5");
        try (ControlChannel control = ControlChannel.create(limited, "control-flood")) {
            for (int i = 0; i < 6; i++) {
                control.publish(message(String.valueOf(100 + i)), Duration.ofSeconds(10));
            }
            control.publish(message("9"), Duration.ofSeconds(10));
            // deployment 104's message is the 5th: found within the limit
            assertThat(control.await("104", Duration.ofSeconds(10)).deploymentId())
                    .isEqualTo("104");
            // deployment 9's is the 7th: the wait stops at the 6th, naming the setting
            assertThatThrownBy(() -> control.await("9", Duration.ofSeconds(10)))
                    .isInstanceOf(KafkaMlException.class)
                    .hasMessage("Read more than 5 control messages on topic 'control-flood' without the one deployment "
                            + "'9' accepts, the limit of kafkaml.max.control.messages (at control-flood-0@5): raise "
                            + "kafkaml.max.control.messages if the topic holds that many");
        }
    }

    private static void send(EmbeddedKafkaBroker kafka, String topic, byte[] key, String value) {
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(kafka.clientConfig(), new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(topic, key, value.getBytes(StandardCharsets.UTF_8)))
                    .get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
