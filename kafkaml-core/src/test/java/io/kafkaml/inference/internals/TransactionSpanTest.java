package io.kafkaml.inference.internals;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/** Exactly once: what one transaction spanning several polls commits, rewinds and when it is due. */
class TransactionSpanTest {

    private static final TopicPartition P0 = new TopicPartition("in", 0);
    private static final TopicPartition P1 = new TopicPartition("in", 1);
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    private static List<ConsumerRecord<byte[], byte[]>> poll(TopicPartition partition, long from, int count) {
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (long offset = from; offset < from + count; offset++) {
            records.add(new ConsumerRecord<>(partition.topic(), partition.partition(), offset, null, new byte[] {1}));
        }
        return records;
    }

    @Test
    void theCommitIntervalIsBoundedByHalfTheChunkBudget() {
        assertThat(TransactionSpan.maxOpenNanos(100, 10_000 * MS)).isEqualTo(100 * MS);
        // transaction.timeout.ms of 1 s: a transaction never stays open longer than 500 ms
        assertThat(TransactionSpan.maxOpenNanos(60_000, 1_000 * MS)).isEqualTo(500 * MS);
        assertThat(TransactionSpan.maxOpenNanos(0, 10_000 * MS)).isZero();
    }

    @Test
    void fullPollsKeepItOpenUntilTheIntervalHasPassed() {
        TransactionSpan tx = new TransactionSpan(0);
        tx.polled(poll(P0, 0, 10), 10, 0);
        assertThat(tx.due(50 * MS, 100 * MS)).isFalse();
        assertThat(tx.pollNanos(50 * MS, 100 * MS, 500 * MS)).isEqualTo(50 * MS);
        tx.polled(poll(P0, 10, 10), 10, 60 * MS);
        assertThat(tx.due(99 * MS, 100 * MS)).isFalse();
        assertThat(tx.due(100 * MS, 100 * MS)).isTrue();
        assertThat(tx.pollNanos(150 * MS, 100 * MS, 500 * MS)).isZero();
    }

    @Test
    void aPollShorterThanTheBatchSizeMeansCaughtUpAndCommitsAtOnce() {
        TransactionSpan tx = new TransactionSpan(0);
        tx.polled(poll(P0, 0, 10), 10, 0);
        tx.polled(poll(P0, 10, 3), 10, MS);
        assertThat(tx.due(2 * MS, 100 * MS)).isTrue();
    }

    @Test
    void itCommitsTheNextOffsetOfEveryPartitionOfEveryPollAndRewindsToTheFirstRead() {
        TransactionSpan tx = new TransactionSpan(0);
        tx.polled(poll(P0, 5, 10), 10, 0);
        tx.processed(Map.of(P0, new OffsetAndMetadata(15)), 10);
        tx.polled(poll(P1, 40, 10), 10, MS);
        tx.processed(Map.of(P1, new OffsetAndMetadata(50)), 10);
        tx.polled(poll(P0, 15, 10), 10, 2 * MS);
        tx.processed(Map.of(P0, new OffsetAndMetadata(25)), 10);
        assertThat(tx.offsets())
                .containsOnly(Map.entry(P0, new OffsetAndMetadata(25)), Map.entry(P1, new OffsetAndMetadata(50)));
        assertThat(tx.firstOffsets()).containsOnly(Map.entry(P0, 5L), Map.entry(P1, 40L));
        assertThat(tx.recordsIn()).isEqualTo(30);
        assertThat(tx.polledAt()).containsExactly(0L, MS, 2 * MS);
        // a poll's offsets only ever move forward
        tx.processed(Map.of(P0, new OffsetAndMetadata(20)), 0);
        assertThat(tx.offsets()).containsEntry(P0, new OffsetAndMetadata(25));
    }

    @Test
    void lostPartitionsAreNeitherCommittedNorSoughtBack() {
        TransactionSpan tx = new TransactionSpan(0);
        tx.polled(poll(P0, 0, 10), 10, 0);
        tx.polled(poll(P1, 0, 10), 10, 0);
        tx.processed(Map.of(P0, new OffsetAndMetadata(10), P1, new OffsetAndMetadata(10)), 20);
        tx.forget(List.of(P1));
        assertThat(tx.offsets()).containsOnlyKeys(P0);
        assertThat(tx.firstOffsets()).containsOnlyKeys(P0);
    }
}
