package io.kafkaml.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.config.KafkaClientSupplier;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/** A dataset's passes over its slices, read through a {@link MockConsumer} on the dataset's fetch thread. */
class StreamDatasetMockConsumerTest {

    private static final TopicPartition P0 = new TopicPartition("data", 0);
    private static final TopicPartition P1 = new TopicPartition("data", 1);

    private final MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("none");

    StreamDatasetMockConsumerTest() {
        Node node = new Node(0, "localhost", 9092);
        consumer.updatePartitions(
                "data",
                List.of(
                        new PartitionInfo("data", 0, node, new Node[] {node}, new Node[] {node}),
                        new PartitionInfo("data", 1, node, new Node[] {node}, new Node[] {node})));
        consumer.updateEndOffsets(Map.of(P0, 10L, P1, 10L));
    }

    /** Adds ten records to each partition once it is assigned (MockConsumer refuses records before that). */
    private void feedTenRecordsPerPartition() {
        Set<TopicPartition> fed = new HashSet<>();
        consumer.schedulePollTask(new Runnable() {
            @Override
            public void run() {
                for (TopicPartition partition : consumer.assignment()) {
                    if (fed.add(partition)) {
                        IntStream.range(0, 10)
                                .forEach(offset -> consumer.addRecord(new ConsumerRecord<>(
                                        "data",
                                        partition.partition(),
                                        offset,
                                        null,
                                        (partition.partition() + ":" + offset).getBytes(StandardCharsets.UTF_8))));
                    }
                }
                if (fed.size() < 2) {
                    consumer.schedulePollTask(this);
                }
            }
        });
    }

    private StreamDataset dataset(List<StreamSlice> slices) {
        return StreamDataset.builder(Map.of("bootstrap.servers", "unused:9092"))
                .slices(slices)
                .clientSupplier(new KafkaClientSupplier() {
                    @Override
                    public Consumer<byte[], byte[]> consumer(Map<String, Object> config) {
                        assertThat(config)
                                .containsEntry("isolation.level", "read_committed")
                                .containsEntry("enable.auto.commit", false)
                                .doesNotContainKey("group.id");
                        return consumer;
                    }
                })
                .build();
    }

    @Test
    void aPassReturnsExactlyTheSlicesRecordsWithPartitionsMergedInProportionToTheirSize() {
        consumer.updateBeginningOffsets(Map.of(P0, 0L, P1, 0L));
        feedTenRecordsPerPartition();
        List<String> read = new ArrayList<>();
        try (StreamDataset dataset =
                dataset(List.of(StreamSlice.of("data", 1, 2, 5), StreamSlice.of("data", 0, 7, 10)))) {
            long count = dataset.readPass(r ->
                    read.add(r.partition() + "@" + r.offset() + "=" + new String(r.value(), StandardCharsets.UTF_8)));

            assertThat(count).isEqualTo(6);
        }
        // two lanes of three records each, merged one for one; each lane in offset order (StreamPass's rule)
        assertThat(read).containsExactly("1@2=1:2", "0@7=0:7", "1@3=1:3", "0@8=0:8", "1@4=1:4", "0@9=0:9");
        assertThat(consumer.closed()).isTrue();
    }

    @Test
    void aSliceBelowTheLogStartOffsetIsExpiredAndNothingIsRead() {
        consumer.updateBeginningOffsets(Map.of(P0, 4L, P1, 0L));
        try (StreamDataset dataset = dataset(List.of(StreamSlice.of("data", 0, 0, 10)))) {
            assertThatThrownBy(dataset::newPass)
                    .isInstanceOf(DataStreamExpiredException.class)
                    .hasMessageContaining("data:0:0:10");
        }
    }

    @Test
    void aSliceNamingAMissingPartitionIsRefusedWithTheTopicsPartitionCount() {
        consumer.updateBeginningOffsets(Map.of(P0, 0L, P1, 0L));
        try (StreamDataset dataset = dataset(List.of(StreamSlice.of("data", 3, 0, 10)))) {
            assertThatThrownBy(dataset::newPass)
                    .isInstanceOf(DataStreamException.class)
                    .hasMessageContaining("names partition 3 but topic 'data' has 2 partitions");
        }
    }
}
