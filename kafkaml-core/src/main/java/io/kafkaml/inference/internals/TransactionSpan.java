package io.kafkaml.inference.internals;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Exactly once: one Kafka transaction of an inference replica, open across several polls, as Kafka Streams keeps one
 * open for {@code commit.interval.ms}. It remembers what a commit needs (the next offset of every partition it read)
 * and what an abort needs (the partitions it read, with the first offset read from each, to seek back to their
 * committed offsets), and the counts that become the replica's statistics once it commits.
 *
 * <p>When it is due ({@link #due}): once {@code kafkaml.inference.commit.interval.ms} has passed since it began, at
 * once when the last poll returned fewer inputs than the batch size (the replica has caught up with its input, so
 * waiting would only delay the predictions from {@code read_committed} readers), and never later than half the chunk
 * budget (the smaller of {@code max.poll.interval.ms} and {@code transaction.timeout.ms}, {@link PollChunks}). A
 * rebalance, a stop and a failure end it earlier (the replica commits or aborts it).
 *
 * <p>Not thread-safe: the replica's thread only.
 */
final class TransactionSpan {

    private final long startNanos;
    private final Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    private final Map<TopicPartition, Long> firstOffsets = new LinkedHashMap<>();
    private final List<Long> polledAt = new ArrayList<>();
    private long recordsIn;
    private boolean caughtUp;
    /** Predictions, dead-letter records and dropped inputs sent or decided in this transaction. */
    long out;

    long dead;
    long dropped;

    TransactionSpan(long startNanos) {
        this.startNanos = startNanos;
    }

    /**
     * The longest a transaction stays open: the commit interval, at most half the chunk budget (and at least 0).
     *
     * @param commitIntervalMs {@code kafkaml.inference.commit.interval.ms}
     * @param chunkBudgetNanos the smaller of {@code max.poll.interval.ms} and {@code transaction.timeout.ms}
     */
    static long maxOpenNanos(long commitIntervalMs, long chunkBudgetNanos) {
        return Math.max(0, Math.min(TimeUnit.MILLISECONDS.toNanos(commitIntervalMs), chunkBudgetNanos / 2));
    }

    long startNanos() {
        return startNanos;
    }

    /** A poll of {@code polled} inputs (taken at {@code nanos}) is being processed in this transaction. */
    void polled(List<ConsumerRecord<byte[], byte[]>> records, int batchSize, long nanos) {
        for (ConsumerRecord<byte[], byte[]> record : records) {
            firstOffsets.putIfAbsent(new TopicPartition(record.topic(), record.partition()), record.offset());
        }
        polledAt.add(nanos);
        caughtUp = records.size() < batchSize;
    }

    /** Inputs up to {@code next} (exclusive) of their partition were predicted (or dead-lettered) in it. */
    void processed(Map<TopicPartition, OffsetAndMetadata> next, long inputs) {
        next.forEach(
                (partition, offset) -> offsets.merge(partition, offset, (a, b) -> a.offset() >= b.offset() ? a : b));
        recordsIn += inputs;
    }

    /** Whether it should be committed now ({@code now} from {@code System.nanoTime()}). */
    boolean due(long now, long maxOpenNanos) {
        return caughtUp || now - startNanos >= maxOpenNanos;
    }

    /** How long the replica may wait in {@code poll()} before this transaction is due, at most {@code max}. */
    long pollNanos(long now, long maxOpenNanos, long max) {
        return Math.max(0, Math.min(max, startNanos + maxOpenNanos - now));
    }

    /** The offsets to send to the transaction: the next offset of every partition read. */
    Map<TopicPartition, OffsetAndMetadata> offsets() {
        return offsets;
    }

    /** The first offset read from each partition since it began: where an abort seeks back to at the latest. */
    Map<TopicPartition, Long> firstOffsets() {
        return firstOffsets;
    }

    /** Inputs processed in it. */
    long recordsIn() {
        return recordsIn;
    }

    /** When each of its polls was taken. */
    List<Long> polledAt() {
        return polledAt;
    }

    /** Whether it holds nothing yet (no poll, nothing to commit). */
    boolean isEmpty() {
        return polledAt.isEmpty();
    }

    /** Drops partitions taken away without a commit ({@code onPartitionsLost}). */
    void forget(Collection<TopicPartition> partitions) {
        partitions.forEach(offsets::remove);
        partitions.forEach(firstOffsets::remove);
    }
}
