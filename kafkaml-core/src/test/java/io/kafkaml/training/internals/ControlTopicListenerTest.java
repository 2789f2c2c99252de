package io.kafkaml.training.internals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.config.KafkaClientSupplier;
import io.kafkaml.control.ControlMessage;
import io.kafkaml.control.ControlMessageTimeoutException;
import io.kafkaml.control.ControlTopicPosition;
import io.kafkaml.stream.StreamSlice;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/** The launcher's one control-topic reader, driven through a {@link MockConsumer}. */
class ControlTopicListenerTest {

    private static final String TOPIC = "control";
    private static final TopicPartition P0 = new TopicPartition(TOPIC, 0);

    private final MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest");
    private final CompletableFuture<ControlMessage> delivered = new CompletableFuture<>();

    ControlTopicListenerTest() {
        Node node = new Node(0, "localhost", 9092);
        consumer.updatePartitions(
                TOPIC, List.of(new PartitionInfo(TOPIC, 0, node, new Node[] {node}, new Node[] {node})));
        consumer.updateBeginningOffsets(Map.of(P0, 0L));
    }

    private ControlTopicListener listener() {
        return new ControlTopicListener(Map.of("bootstrap.servers", "unused:9092"), TOPIC, new KafkaClientSupplier() {
            @Override
            public Consumer<byte[], byte[]> consumer(Map<String, Object> config) {
                assertThat(config)
                        .containsEntry("isolation.level", "read_committed")
                        .containsEntry("allow.auto.create.topics", false);
                return consumer;
            }
        });
    }

    private static ControlMessage message(String deploymentId, String topic) {
        return ControlMessage.builder()
                .slices(List.of(StreamSlice.of(topic, 0, 0, 10)))
                .inputFormat("RAW")
                .totalMessages(10)
                .deploymentId(deploymentId)
                .build();
    }

    /** Puts the messages at offsets 0, 1, ... of the control topic once the listener has assigned it. */
    private void publishOnceAssigned(ControlMessage... messages) {
        consumer.schedulePollTask(new Runnable() {
            @Override
            public void run() {
                if (!consumer.assignment().contains(P0)) {
                    consumer.schedulePollTask(this);
                    return;
                }
                for (int offset = 0; offset < messages.length; offset++) {
                    consumer.addRecord(new ConsumerRecord<>(
                            TOPIC, 0, offset, messages[offset].keyBytes(), messages[offset].toJsonBytes()));
                }
            }
        });
    }

    /** Why the wait was given up (a cancellation reaches {@code get} unwrapped, so read it through handle). */
    private static Throwable failure(CompletableFuture<?> future) throws Exception {
        Throwable error = future.handle((value, e) -> e).get(30, TimeUnit.SECONDS);
        assertThat(error).as("the wait was given up").isNotNull();
        return error;
    }

    @Test
    void aMessagePublishedBeforeTheDeploymentIsIgnoredAndTheNextOneForItDelivered() throws Exception {
        publishOnceAssigned(message("7", "stale-data"), message("8", "other"), message("7", "fresh-data"));
        try (ControlTopicListener listener = listener()) {
            // the deployment was recorded when the topic ended at offset 1: the message at 0 is older
            listener.await(
                    "7",
                    new ControlTopicPosition(Map.of(0, 1L)),
                    false,
                    Duration.ofSeconds(30),
                    delivered::complete,
                    delivered::completeExceptionally);

            ControlMessage message = delivered.get(30, TimeUnit.SECONDS);
            assertThat(message.deploymentId()).isEqualTo("7");
            assertThat(message.slices()).containsExactly(StreamSlice.of("fresh-data", 0, 0, 10));
        }
    }

    @Test
    void aWaitWithoutItsMessageTimesOutWithTheDeploymentAndTopicNamed() throws Exception {
        publishOnceAssigned(message("8", "other"));
        try (ControlTopicListener listener = listener()) {
            listener.await(
                    "7",
                    ControlTopicPosition.BEGINNING,
                    false,
                    Duration.ofMillis(300),
                    delivered::complete,
                    delivered::completeExceptionally);

            assertThat(failure(delivered))
                    .isInstanceOf(ControlMessageTimeoutException.class)
                    .hasMessageContaining("7")
                    .hasMessageContaining(TOPIC);
        }
    }

    @Test
    void closingGivesUpEveryWaitAsCancelledAndClosesTheConsumer() throws Exception {
        ControlTopicListener listener = listener();
        listener.await(
                "7",
                ControlTopicPosition.BEGINNING,
                false,
                Duration.ofMinutes(5),
                delivered::complete,
                delivered::completeExceptionally);
        listener.close();

        assertThat(failure(delivered)).isInstanceOf(CancellationException.class).hasMessageContaining("'7'");
        assertThat(consumer.closed()).isTrue();
        assertThatThrownBy(() -> listener.await(
                        "9", ControlTopicPosition.BEGINNING, false, Duration.ofSeconds(1), m -> {}, e -> {}))
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void aKafkaMlKeyOfTheStringIdTwelveIsDeliveredToDeploymentTwelveAndAOneByteKeyIsAlwaysTheInteger()
            throws Exception {
        // Kafka-ML's sink.py with deployment_id='12' (a str): key '12'.encode('utf-8') = 0x3132, no deployment_id field
        byte[] key = "12".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] value = ("{\"topic\": \"points\", \"unsupervised_topic\": null, \"input_format\": \"JSON\", "
                        + "\"description\": \"points\", \"input_config\": {\"data_reshape\": \"2\"}, "
                        + "\"validation_rate\": 0.2, \"test_rate\": 0, \"total_msg\": null, "
                        + "\"dataset_restrictions\": {}, \"incremental\": true}")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        // Kafka-ML's bytes([53]) = 0x35: its deployment 53 only, never a kafkaml deployment "5" (review R7)
        assertThat(ControlMessage.deploymentIdsFromKey(new byte[] {0x35})).containsExactly("53");
        assertThat(ControlMessage.deploymentIdsFromKey(new byte[] {5})).containsExactly("5");
        assertThat(ControlMessage.deploymentIdsFromKey(key)).containsExactly("12594", "12");
        consumer.schedulePollTask(new Runnable() {
            @Override
            public void run() {
                if (!consumer.assignment().contains(P0)) {
                    consumer.schedulePollTask(this);
                    return;
                }
                consumer.addRecord(new ConsumerRecord<>(TOPIC, 0, 0, key, value));
            }
        });
        try (ControlTopicListener listener = listener()) {
            listener.await(
                    "12",
                    ControlTopicPosition.BEGINNING,
                    false,
                    Duration.ofSeconds(30),
                    delivered::complete,
                    delivered::completeExceptionally);

            ControlMessage message = delivered.get(30, TimeUnit.SECONDS);
            assertThat(message.deploymentId()).isEqualTo("12");
            assertThat(message.unboundedTopic()).contains("points");
        }
    }
}
