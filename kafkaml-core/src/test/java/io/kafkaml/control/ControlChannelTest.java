package io.kafkaml.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.common.KafkaMlException;
import io.kafkaml.stream.StreamSlice;
import io.kafkaml.testing.InMemoryKafka;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.Test;

/** The control channel on {@code MockProducer}/{@code MockConsumer}s sharing an in-memory log: no broker. */
class ControlChannelTest {

    private static final Map<String, Object> CONFIG = Map.of("bootstrap.servers", "in-memory:9092");
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final InMemoryKafka kafka = new InMemoryKafka();

    private ControlChannel channel(String topic) {
        return ControlChannel.create(CONFIG, topic, kafka);
    }

    /** A control message as Kafka-ML's sink writes it: no deployment_id in the JSON, the id in the key (one byte). */
    private static ProducerRecord<byte[], byte[]> kafkaMlMessage(String topic, int deploymentId, String dataTopic) {
        String json = "{\"topic\": \"" + dataTopic + ":0:0:10\", \"input_format\": \"RAW\", \"input_config\": "
                + "{\"data_type\": \"float32\", \"label_type\": \"uint8\", \"data_reshape\": \"3\"}, "
                + "\"validation_rate\": 0.1, \"test_rate\": 0.1, \"total_msg\": 10, \"description\": \"from Kafka-ML\"}";
        return new ProducerRecord<>(topic, new byte[] {(byte) deploymentId}, json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aWaitFindsAKafkaMlMessageSentBeforeOrWhileItWaitsAndTheStateCountsIt() throws Exception {
        kafka.createTopic("control", 2, Map.of());
        try (ControlChannel control = channel("control");
                Producer<byte[], byte[]> kafkaMl = kafka.producer(Map.of())) {
            kafkaMl.send(kafkaMlMessage("control", 7, "seven"));
            assertThat(control.await("7", TIMEOUT).slices()).containsExactly(StreamSlice.of("seven", 0, 0, 10));

            CompletableFuture<ControlMessage> waiting =
                    CompletableFuture.supplyAsync(() -> control.await("9", TIMEOUT));
            kafkaMl.send(kafkaMlMessage("control", 8, "eight"));
            kafkaMl.send(kafkaMlMessage("control", 9, "nine"));
            ControlMessage nine = waiting.get(20, TimeUnit.SECONDS);
            assertThat(nine.deploymentId()).isEqualTo("9");
            assertThat(nine.slices()).containsExactly(StreamSlice.of("nine", 0, 0, 10));

            ControlTopicState state = control.readState(TIMEOUT);
            assertThat(state.maxNumericDeploymentId()).isEqualTo(9);
            assertThat(state.end().endOffsets())
                    .isEqualTo(Map.of(
                            0, kafka.endOffset(new org.apache.kafka.common.TopicPartition("control", 0)),
                            1, kafka.endOffset(new org.apache.kafka.common.TopicPartition("control", 1))));
            assertThat(state.end().endOffsets().values().stream()
                            .mapToLong(Long::longValue)
                            .sum())
                    .isEqualTo(3);
        }
    }

    @Test
    void kafkaMlsDeployment53KeyedAsByte0x35NeverReachesADeploymentFiveButAKeyOfSeveralDigitsReadsAsText()
            throws Exception {
        kafka.createTopic("shared", 1, Map.of());
        try (ControlChannel control = channel("shared");
                Producer<byte[], byte[]> kafkaMl = kafka.producer(Map.of())) {
            kafkaMl.send(kafkaMlMessage("shared", 53, "fifty-three")); // key 0x35, the ASCII digit '5'
            ProducerRecord<byte[], byte[]> twelve = kafkaMlMessage("shared", 0, "twelve");
            kafkaMl.send(
                    new ProducerRecord<>( // deployment_id='12' as a str: key 0x3132
                            "shared", "12".getBytes(StandardCharsets.UTF_8), twelve.value()));
            kafkaMl.send(kafkaMlMessage("shared", 5, "five"));

            // deployment "5" reads past 53's message (it would have started on "fifty-three") to its own
            assertThat(control.await("5", TIMEOUT).slices()).containsExactly(StreamSlice.of("five", 0, 0, 10));
            assertThat(control.await("53", TIMEOUT).slices()).containsExactly(StreamSlice.of("fifty-three", 0, 0, 10));
            ControlMessage text = control.await("12", TIMEOUT);
            assertThat(text.deploymentId()).isEqualTo("12");
            assertThat(text.slices()).containsExactly(StreamSlice.of("twelve", 0, 0, 10));
        }
    }

    @Test
    void aWaitWithNothingForItTimesOutNamingTheDeploymentAndTopic() {
        kafka.createTopic("quiet", 1, Map.of());
        try (ControlChannel control = channel("quiet")) {
            assertThatThrownBy(() -> control.await("5", Duration.ofMillis(300)))
                    .isInstanceOf(ControlMessageTimeoutException.class)
                    .hasMessageContaining("'5'")
                    .hasMessageContaining("quiet");
        }
    }

    @Test
    void deploymentIdsClaimedByTwoChannelsAtOnceAreNeverTheSame() throws Exception {
        try (ControlChannel first = channel("control");
                ControlChannel second = channel("control")) {
            List<CompletableFuture<Long>> claims = List.of(
                    CompletableFuture.supplyAsync(() -> first.claimDeploymentId(0, "a", TIMEOUT)),
                    CompletableFuture.supplyAsync(() -> second.claimDeploymentId(0, "b", TIMEOUT)),
                    CompletableFuture.supplyAsync(() -> first.claimDeploymentId(0, "a", TIMEOUT)),
                    CompletableFuture.supplyAsync(() -> second.claimDeploymentId(0, "b", TIMEOUT)));
            List<Long> ids =
                    claims.stream().map(CompletableFuture::join).sorted().toList();
            assertThat(ids).containsExactly(1L, 2L, 3L, 4L);
            assertThat(first.claimDeploymentId(10, "a", TIMEOUT)).isEqualTo(11);
            assertThat(second.maxClaimedDeploymentId(TIMEOUT)).isEqualTo(11);
            // an explicit id another owner claimed is refused, the same owner's is accepted
            assertThatThrownBy(() -> second.recordDeploymentId(11, "b", TIMEOUT))
                    .isInstanceOf(io.kafkaml.registry.DuplicateEntityException.class)
                    .hasMessageContaining("registry 'a'");
            first.recordDeploymentId(11, "a", TIMEOUT);
        }
        // the claims topic: one partition, compacted, claims kept a day before compaction may drop one
        assertThat(kafka.partitionCount("control-deployment-ids")).isEqualTo(1);
        assertThat(kafka.topicConfigs("control-deployment-ids"))
                .containsEntry(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT)
                .containsEntry(
                        TopicConfig.MIN_COMPACTION_LAG_MS_CONFIG,
                        String.valueOf(ControlChannel.CLAIM_COMPACTION_LAG_MS));
        assertThat(kafka.openClients()).isZero();
    }

    @Test
    void aClaimsTopicOfSeveralPartitionsOrWhoseClaimsExpireIsRefused() {
        kafka.createTopic("wide-deployment-ids", 2, Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, "compact"));
        kafka.createTopic("expiring-deployment-ids", 1, Map.of(TopicConfig.RETENTION_MS_CONFIG, "1000"));
        try (ControlChannel wide = channel("wide");
                ControlChannel expiring = channel("expiring")) {
            assertThatThrownBy(() -> wide.claimDeploymentId(0, "a", TIMEOUT))
                    .isInstanceOf(KafkaMlException.class)
                    .hasMessageContaining("'wide-deployment-ids' has 2 partitions");
            assertThatThrownBy(() -> expiring.claimDeploymentId(0, "a", TIMEOUT))
                    .isInstanceOf(KafkaMlException.class)
                    .hasMessageContaining("cleanup.policy=delete and retention.ms=1000");
        }
    }
}
