package io.kafkaml.internals;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;

/** Manual assignment of every partition of a topic, picking up partitions added later. Not thread-safe. */
public final class TopicPartitions {

    private TopicPartitions() {}

    /**
     * Adds the partitions of {@code topic} that {@code assigned} lacks to it, assigns them all to
     * {@code consumer} and seeks the new ones to their beginning. Does nothing when the topic's metadata cannot be
     * read within {@code timeout} (the broker may not be reachable yet: the caller tries again later).
     */
    public static void assignNew(
            Consumer<?, ?> consumer, String topic, Set<TopicPartition> assigned, Duration timeout) {
        List<PartitionInfo> partitions;
        try {
            partitions = consumer.partitionsFor(topic, timeout);
        } catch (TimeoutException e) {
            return;
        }
        if (partitions == null || partitions.size() == assigned.size()) {
            return;
        }
        Set<TopicPartition> fresh = new HashSet<>();
        for (PartitionInfo info : partitions) {
            TopicPartition partition = new TopicPartition(info.topic(), info.partition());
            if (assigned.add(partition)) {
                fresh.add(partition);
            }
        }
        consumer.assign(assigned);
        consumer.seekToBeginning(fresh);
    }
}
