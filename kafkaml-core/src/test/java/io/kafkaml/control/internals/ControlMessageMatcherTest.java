package io.kafkaml.control.internals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.control.ControlMessage;
import io.kafkaml.control.ControlTopicPosition;
import io.kafkaml.control.InvalidControlMessageException;
import io.kafkaml.stream.StreamSlice;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

/** Which control message a deployment accepts, decided from the record's place in the control topic. */
class ControlMessageMatcherTest {

    static final ControlTopicPosition SINCE = new ControlTopicPosition(Map.of(0, 10L));

    static ControlMessage message(String topic) {
        return ControlMessage.builder()
                .slices(List.of(StreamSlice.of(topic, 0, 0, 5)))
                .inputFormat("JSON")
                .totalMessages(5)
                .deploymentId("7")
                .build();
    }

    static ConsumerRecord<byte[], byte[]> record(long offset, long timestamp, ControlMessage message) {
        return new ConsumerRecord<>(
                "control",
                0,
                offset,
                timestamp,
                TimestampType.CREATE_TIME,
                1,
                1,
                message.keyBytes(),
                message.toJsonBytes(),
                new RecordHeaders(),
                Optional.empty());
    }

    @Test
    void withoutReuseAMessageBeforeTheDeploymentIsIgnoredAndOneAfterIsAccepted() {
        ControlMessageMatcher matcher = new ControlMessageMatcher("7", SINCE, false);
        assertThat(matcher.offer(record(3, 100, message("stale")), message("stale")))
                .isEmpty();
        assertThat(matcher.readUpTo(Map.of(0, 11L))).isEmpty();
        assertThat(matcher.ignored()).isEqualTo(1);
        assertThat(matcher.offer(record(10, 50, message("fresh")), message("fresh")))
                .contains(message("fresh"));
    }

    @Test
    void withReuseTheNewestEarlierMessageIsAcceptedOnceTheReaderPassedTheDeployment() {
        ControlMessageMatcher matcher = new ControlMessageMatcher("7", SINCE, true);
        assertThat(matcher.offer(record(2, 100, message("old")), message("old")))
                .isEmpty();
        assertThat(matcher.offer(record(6, 200, message("newer")), message("newer")))
                .isEmpty();
        assertThat(matcher.readUpTo(Map.of(0, 7L)))
                .as("not yet read up to the deployment")
                .isEmpty();
        assertThat(matcher.readUpTo(Map.of(0, 10L))).contains(message("newer"));
    }

    @Test
    void withReuseAndNoEarlierMessageTheFirstLaterOneIsAccepted() {
        ControlMessageMatcher matcher = new ControlMessageMatcher("7", SINCE, true);
        assertThat(matcher.readUpTo(Map.of(0, 10L))).isEmpty();
        assertThat(matcher.offer(record(12, 5, message("later")), message("later")))
                .isEmpty();
        assertThat(matcher.offer(record(13, 6, message("latest")), message("latest")))
                .isEmpty();
        assertThat(matcher.readUpTo(Map.of(0, 14L))).contains(message("later"));
    }

    static ConsumerRecord<byte[], byte[]> record(int partition, long offset, long timestamp, ControlMessage message) {
        return new ConsumerRecord<>(
                "control",
                partition,
                offset,
                timestamp,
                TimestampType.CREATE_TIME,
                1,
                1,
                message.keyBytes(),
                message.toJsonBytes(),
                new RecordHeaders(),
                Optional.empty());
    }

    @Test
    void withReuseTheNewestEarlierMessageIsChosenAcrossPartitionsNotTheFirstFound() {
        // Partition 0 is read first and already shows a message after the deployment; partition 1, read later,
        // holds a newer earlier message than partition 0's: that one is the stream to reuse.
        ControlMessageMatcher matcher =
                new ControlMessageMatcher("7", new ControlTopicPosition(Map.of(0, 10L, 1, 5L)), true);
        assertThat(matcher.offer(record(0, 2, 100, message("p0-old")), message("p0-old")))
                .isEmpty();
        assertThat(matcher.offer(record(0, 10, 300, message("p0-after")), message("p0-after")))
                .isEmpty();
        assertThat(matcher.readUpTo(Map.of(0, 11L, 1, 0L)))
                .as("partition 1 not read up to the deployment yet")
                .isEmpty();
        assertThat(matcher.offer(record(1, 3, 200, message("p1-newer")), message("p1-newer")))
                .isEmpty();
        assertThat(matcher.offer(record(1, 4, 150, message("p1-last")), message("p1-last")))
                .isEmpty();
        // Within a partition the later offset wins (p1-last, timestamp 150), across partitions the newer timestamp:
        // p1-last (150) against p0-old (100).
        assertThat(matcher.readUpTo(Map.of(0, 11L, 1, 5L))).contains(message("p1-last"));
    }

    @Test
    void withReuseAMalformedFirstLaterMessageFailsOnlyWhenNoEarlierOneExists() {
        InvalidControlMessageException invalid = new InvalidControlMessageException("bad", "7", "control-0@11");
        ControlMessageMatcher none = new ControlMessageMatcher("7", SINCE, true);
        none.offerInvalid(record(11, 0, message("x")), invalid);
        assertThatThrownBy(() -> none.readUpTo(Map.of(0, 12L))).isSameAs(invalid);
        ControlMessageMatcher some = new ControlMessageMatcher("7", SINCE, true);
        some.offer(record(4, 0, message("old")), message("old"));
        some.offerInvalid(record(11, 0, message("x")), invalid);
        assertThat(some.readUpTo(Map.of(0, 12L))).contains(message("old"));
    }

    @Test
    void aMalformedStaleMessageIsIgnoredAndAMalformedFreshOneFailsTheWait() {
        ControlMessageMatcher matcher = new ControlMessageMatcher("7", SINCE, false);
        InvalidControlMessageException invalid = new InvalidControlMessageException("bad", "7", "control-0@3");
        matcher.offerInvalid(record(3, 0, message("x")), invalid);
        assertThat(matcher.ignored()).isEqualTo(1);
        assertThatThrownBy(() -> matcher.offerInvalid(record(11, 0, message("x")), invalid))
                .isSameAs(invalid);
    }

    @Test
    void positionsRoundTripAndAMissingPartitionCountsFromZero() {
        ControlTopicPosition position = ControlTopicPosition.parse("1:3,0:15");
        assertThat(position.format()).isEqualTo("0:15,1:3");
        assertThat(ControlTopicPosition.parse(position.format())).isEqualTo(position);
        assertThat(position.isAtOrAfter(2, 0)).isTrue();
        assertThat(position.isAtOrAfter(0, 14)).isFalse();
        assertThat(ControlTopicPosition.parse("")).isEqualTo(ControlTopicPosition.BEGINNING);
        assertThatThrownBy(() -> ControlTopicPosition.parse("0-15"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'0-15'");
    }

    @Test
    void kafkaMlsOnlineControlMessageParsesAsAnUnboundedStream() throws Exception {
        Path dir = Path.of(System.getProperty("kafkaml.shared.cases", "../../shared/cases"), "online-control-message");
        byte[] key = Files.readAllBytes(dir.resolve("control-message.key"));
        ControlMessage online = ControlMessage.parse(key, Files.readAllBytes(dir.resolve("control-message.json")));
        assertThat(online.incremental()).isTrue();
        assertThat(online.unboundedTopic()).contains("automl");
        assertThat(online.slices()).isEmpty();
        assertThat(online.totalMessages()).isEqualTo(-1);
        assertThat(online.deploymentId()).isEqualTo("1");
        assertThat(ControlMessage.peekDeploymentId(key, "not json".getBytes(StandardCharsets.UTF_8)))
                .contains("1");
        // Without the incremental flag a bare topic name is still a broken slice list.
        assertThatThrownBy(() -> ControlMessage.fromJson(
                        "{\"topic\":\"automl\",\"input_format\":\"RAW\"," + "\"total_msg\":3,\"deployment_id\":\"1\"}"))
                .isInstanceOf(InvalidControlMessageException.class);
    }
}
