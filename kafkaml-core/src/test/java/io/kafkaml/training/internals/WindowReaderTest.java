package io.kafkaml.training.internals;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.config.KafkaClientSupplier;
import io.kafkaml.stream.StreamSlice;
import io.kafkaml.training.IncrementalSpec;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/** Windows of an unbounded topic, against a {@link MockConsumer}. */
class WindowReaderTest {

    private static final TopicPartition P0 = new TopicPartition("t", 0);
    private final MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest");

    private WindowReader reader(IncrementalSpec spec) {
        Node node = new Node(0, "localhost", 9092);
        consumer.updatePartitions("t", List.of(new PartitionInfo("t", 0, node, new Node[] {node}, new Node[] {node})));
        consumer.updateBeginningOffsets(Map.of(P0, 0L));
        KafkaClientSupplier clients = new KafkaClientSupplier() {
            @Override
            public Consumer<byte[], byte[]> consumer(Map<String, Object> config) {
                assertThat(config)
                        .containsEntry("group.id", "g")
                        .containsEntry("enable.auto.commit", false)
                        .containsEntry("allow.auto.create.topics", false);
                return consumer;
            }
        };
        WindowReader reader =
                new WindowReader(Map.of("bootstrap.servers", "unused:9092"), clients, "t", "g", spec, "test");
        assertThat(reader.assign(() -> false)).isTrue();
        return reader;
    }

    private void add(long from, long to) {
        for (long offset = from; offset < to; offset++) {
            consumer.addRecord(new ConsumerRecord<>("t", 0, offset, new byte[] {1}, new byte[] {2}));
        }
    }

    @Test
    void aFullWindowLeavesTheRestOfThePollForTheNextWindow() {
        WindowReader reader = reader(IncrementalSpec.builder().windowRecords(3).build());
        add(0, 5); // one poll returns 5 records: the window takes 3
        WindowReader.Window first = reader.next(() -> false);
        assertThat(first.records()).isEqualTo(3);
        assertThat(first.slices()).containsExactly(StreamSlice.of("t", 0, 0, 3));
        assertThat(first.next()).containsEntry(P0, 3L);
        assertThat(consumer.position(P0)).isEqualTo(3); // sought back: a real consumer fetches 3 and 4 again
        add(3, 6);
        WindowReader.Window second = reader.next(() -> false);
        assertThat(second.slices()).containsExactly(StreamSlice.of("t", 0, 3, 6));
        reader.commit(second.next());
        assertThat(consumer.committed(java.util.Set.of(P0)).get(P0).offset()).isEqualTo(6);
    }

    @Test
    void aWindowByTimeClosesAfterItsTimeAndAnIdleStreamEndsABoundedRun() {
        WindowReader reader = reader(IncrementalSpec.builder()
                .windowRecords(0)
                .windowTime(Duration.ofMillis(50))
                .streamTimeout(Duration.ofMillis(200))
                .build());
        add(0, 2);
        WindowReader.Window window = reader.next(() -> false);
        assertThat(window.records()).isEqualTo(2);
        assertThat(window.closedBy()).startsWith("window time");
        assertThat(reader.next(() -> false)).isNull(); // nothing for the stream timeout: the run ends
    }

    @Test
    void aPauseClosesThePartialWindowOfAWindowByRecords() {
        WindowReader reader = reader(IncrementalSpec.builder()
                .windowRecords(100)
                .streamTimeout(Duration.ofMillis(100))
                .build());
        add(0, 7);
        WindowReader.Window window = reader.next(() -> false);
        assertThat(window.records()).isEqualTo(7);
        assertThat(window.closedBy()).startsWith("no record for");
    }

    @Test
    void aCheckpointsOffsetsWinOverTheGroupsCommittedOnes() {
        WindowReader reader = reader(IncrementalSpec.builder().windowRecords(2).build());
        reader.seek(Map.of(P0, 4L));
        add(0, 6); // a consumer at 4 returns 4 and 5 only
        WindowReader.Window window = reader.next(() -> false);
        assertThat(window.slices()).containsExactly(StreamSlice.of("t", 0, 4, 6));
    }
}
