package io.kafkaml.stream;

import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.InvalidOffsetException;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/**
 * One pass (epoch) over the records of a {@link StreamDataset}, in slice order. Obtained from
 * {@link StreamDataset#newPass()}; {@link #hasNext()} blocks while it waits for records.
 *
 * <p>Not thread-safe, like its dataset. A pass is superseded when its dataset starts a newer one, and
 * cannot be read after that or after the dataset is closed.
 */
public final class StreamPass implements Iterator<StreamRecord> {

    private final StreamDataset dataset;
    private final List<StreamSlice> slices;
    private final int number;
    private final KafkaConsumer<byte[], byte[]> consumer;

    private int sliceIndex = -1;
    private StreamSlice slice;
    private TopicPartition partition;
    private Iterator<ConsumerRecord<byte[], byte[]>> batch = Collections.emptyIterator();
    private StreamRecord next;
    private boolean sliceDone = true;
    private long recordsRead;
    private long lastProgressNanos;
    private long lastPosition;
    private boolean superseded;
    private RuntimeException failure;

    StreamPass(StreamDataset dataset, List<StreamSlice> slices, int number) {
        this.dataset = dataset;
        this.slices = slices;
        this.number = number;
        this.consumer = dataset.consumer();
    }

    /**
     * Whether another record follows, waiting for it if the partition does not hold it yet.
     *
     * @throws DataStreamExpiredException if retention deleted records of the current slice during the pass
     * @throws DataStreamTimeoutException if the records of a slice did not arrive within the end timeout
     * @throws IllegalStateException if the pass was superseded or its dataset closed
     */
    @Override
    public boolean hasNext() {
        if (next != null) {
            return true;
        }
        checkReadable();
        try {
            return advance();
        } catch (RuntimeException e) {
            failure = e;
            throw e;
        }
    }

    private boolean advance() {
        while (true) {
            while (batch.hasNext()) {
                ConsumerRecord<byte[], byte[]> record = batch.next();
                long offset = record.offset();
                if (offset >= slice.endOffset()) {
                    sliceDone = true;
                    batch = Collections.emptyIterator();
                    break;
                }
                if (offset >= slice.startOffset()) {
                    next = new StreamRecord(record.topic(), record.partition(), offset, record.timestamp(),
                            record.key(), record.value());
                    recordsRead++;
                    return true;
                }
            }
            if (!sliceDone && consumer.position(partition) >= slice.endOffset()) {
                sliceDone = true;
            }
            if (sliceDone && !startNextSlice()) {
                return false;
            }
            if (!sliceDone) {
                poll();
            }
        }
    }

    /** Returns the next record. */
    @Override
    public StreamRecord next() {
        if (!hasNext()) {
            throw new NoSuchElementException("Pass " + number + " of " + dataset.name() + " has no more records");
        }
        StreamRecord record = next;
        next = null;
        return record;
    }

    /** The number of records this pass has returned so far. */
    public long recordsRead() {
        return recordsRead;
    }

    /** The number of this pass: 1 for the first pass of its dataset. */
    public int number() {
        return number;
    }

    /** The slices this pass reads, open ends resolved. */
    public List<StreamSlice> slices() {
        return slices;
    }

    void supersede() {
        superseded = true;
    }

    private void checkReadable() {
        dataset.checkOpen();
        if (superseded) {
            throw new IllegalStateException("Pass " + number + " of " + dataset.name()
                    + " was superseded by a newer pass and can no longer be read");
        }
        if (failure != null) {
            throw new IllegalStateException("Pass " + number + " of " + dataset.name() + " failed earlier: "
                    + failure.getMessage(), failure);
        }
    }

    private boolean startNextSlice() {
        while (++sliceIndex < slices.size()) {
            slice = slices.get(sliceIndex);
            if (slice.size() == 0) {
                continue;
            }
            partition = slice.topicPartition();
            consumer.assign(Set.of(partition));
            consumer.seek(partition, slice.startOffset());
            batch = Collections.emptyIterator();
            sliceDone = false;
            lastProgressNanos = System.nanoTime();
            lastPosition = slice.startOffset();
            return true;
        }
        slice = null;
        partition = null;
        consumer.assign(Set.of());
        return false;
    }

    private void poll() {
        List<ConsumerRecord<byte[], byte[]>> records;
        try {
            records = consumer.poll(dataset.pollTimeout()).records(partition);
        } catch (InvalidOffsetException e) {
            long logStart = dataset.beginningOffsets(List.of(partition)).get(partition);
            throw new DataStreamExpiredException(slice, logStart);
        }
        long position = consumer.position(partition);
        if (!records.isEmpty() || position != lastPosition) {
            batch = records.iterator();
            lastProgressNanos = System.nanoTime();
            lastPosition = position;
        } else if (System.nanoTime() - lastProgressNanos > dataset.endTimeout().toNanos()) {
            long logEnd = dataset.endOffsets(List.of(partition)).get(partition);
            throw new DataStreamTimeoutException(slice, position, logEnd, dataset.endTimeout());
        }
    }
}
