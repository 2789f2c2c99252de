package io.kafkaml.stream;

import io.kafkaml.internals.Deadline;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.InvalidOffsetException;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/**
 * One pass (epoch) over the records of a {@link StreamDataset}. Obtained from {@link StreamDataset#newPass()};
 * {@link #hasNext()} blocks while it waits for records.
 *
 * <p><b>Order</b>: the slices of one partition form a <em>lane</em>, read in the order the slices were given
 * and each slice in offset order. Lanes are read at the same time and merged in proportion to their size:
 * the next record is always the next one of the lane that is least far through its share of the stream
 * (the fraction of its offsets already passed), ties going to the lane whose partition was named first. The
 * order depends only on the slices and the records, never on timing, so every pass returns the same records
 * in the same order; and partitions that hold different kinds of records (Kafka-ML's sinks key records by
 * label, so each label tends to have a partition of its own) are mixed evenly through the pass.
 *
 * <p>Not thread-safe, like its dataset. A pass is superseded when its dataset starts a newer one, and cannot
 * be read after that or after the dataset is closed.
 */
public final class StreamPass implements Iterator<StreamRecord> {

    private final StreamDataset dataset;
    private final List<StreamSlice> slices;
    private final int number;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Lane[] lanes;
    private final Map<TopicPartition, Lane> laneByPartition = new LinkedHashMap<>();
    private final int laneBufferRecords;

    private StreamRecord next;
    private long recordsRead;
    private boolean started;
    private boolean finished;
    private boolean superseded;
    private RuntimeException failure;

    StreamPass(StreamDataset dataset, List<StreamSlice> slices, int number) {
        this.dataset = dataset;
        this.slices = slices;
        this.number = number;
        this.consumer = dataset.consumer();
        this.laneBufferRecords = dataset.laneBufferRecords();
        Map<TopicPartition, List<StreamSlice>> grouped = new LinkedHashMap<>();
        for (StreamSlice slice : slices) {
            grouped.computeIfAbsent(slice.topicPartition(), tp -> new ArrayList<>()).add(slice);
        }
        this.lanes = new Lane[grouped.size()];
        int i = 0;
        for (Map.Entry<TopicPartition, List<StreamSlice>> entry : grouped.entrySet()) {
            lanes[i] = new Lane(entry.getKey(), entry.getValue());
            laneByPartition.put(entry.getKey(), lanes[i]);
            i++;
        }
    }

    /**
     * Whether another record follows, waiting for it if the partition does not hold it yet.
     *
     * @throws DataStreamExpiredException if retention deleted records of a slice during the pass
     * @throws DataStreamTimeoutException if the records of a slice did not arrive within the end timeout
     * @throws IllegalStateException if the pass was superseded, failed earlier, or its dataset is closed
     */
    @Override
    public boolean hasNext() {
        if (next != null) {
            return true;
        }
        if (finished) {
            return false;
        }
        checkReadable();
        try {
            if (!started) {
                start();
            }
            return advance();
        } catch (RuntimeException e) {
            failure = e;
            throw e;
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

    private void start() {
        started = true;
        consumer.assign(laneByPartition.keySet());
        consumer.resume(laneByPartition.keySet());
        for (Lane lane : lanes) {
            lane.startSlice(0);
        }
    }

    private boolean advance() {
        while (true) {
            Lane best = null;
            double bestProgress = Double.MAX_VALUE;
            boolean waiting = false;
            for (Lane lane : lanes) {
                ConsumerRecord<byte[], byte[]> head = lane.head();
                if (head == null) {
                    if (!lane.done) {
                        waiting = true;
                        break;
                    }
                    continue;
                }
                double progress = lane.progress(head.offset());
                if (progress < bestProgress) {
                    bestProgress = progress;
                    best = lane;
                }
            }
            if (!waiting) {
                if (best == null) {
                    finish();
                    return false;
                }
                ConsumerRecord<byte[], byte[]> record = best.take();
                next = new StreamRecord(record.topic(), record.partition(), record.offset(), record.timestamp(),
                        record.key(), record.value());
                recordsRead++;
                return true;
            }
            poll();
        }
    }

    private void finish() {
        finished = true;
        consumer.pause(consumer.assignment());
    }

    private void poll() {
        ConsumerRecords<byte[], byte[]> records;
        try {
            records = consumer.poll(dataset.pollTimeout());
        } catch (InvalidOffsetException e) {
            for (TopicPartition partition : e.partitions()) {
                Lane lane = laneByPartition.get(partition);
                if (lane != null && lane.slice != null) {
                    long logStart = dataset.beginningOffsets(List.of(partition)).get(partition);
                    if (logStart > consumer.position(partition)) {
                        throw new DataStreamExpiredException(lane.slice, logStart);
                    }
                }
            }
            throw new DataStreamException("Reading the data stream failed: " + e.getMessage(), null, e);
        }
        for (TopicPartition partition : records.partitions()) {
            Lane lane = laneByPartition.get(partition);
            if (lane != null) {
                lane.add(records.records(partition));
            }
        }
        for (Lane lane : lanes) {
            lane.checkProgress();
        }
    }

    /** The slices of one partition, read in turn, with the records polled for it and not yet returned. */
    private final class Lane {
        final TopicPartition partition;
        final List<StreamSlice> laneSlices;
        final double totalSpan;
        final ArrayDeque<List<ConsumerRecord<byte[], byte[]>>> chunks = new ArrayDeque<>();
        int chunkIndex;
        int buffered;
        int sliceIndex;
        StreamSlice slice;
        long spanBefore;
        boolean done;
        boolean paused;
        long lastPosition;
        Deadline stallDeadline;

        Lane(TopicPartition partition, List<StreamSlice> laneSlices) {
            this.partition = partition;
            this.laneSlices = laneSlices;
            this.totalSpan = Math.max(1, laneSlices.stream().mapToLong(StreamSlice::size).sum());
        }

        /** Moves to slice {@code index} (skipping empty ones), or marks the lane done. */
        void startSlice(int index) {
            if (slice != null) {
                spanBefore += slice.size();
            }
            sliceIndex = index;
            while (sliceIndex < laneSlices.size() && laneSlices.get(sliceIndex).size() == 0) {
                sliceIndex++;
            }
            chunks.clear();
            chunkIndex = 0;
            buffered = 0;
            if (sliceIndex >= laneSlices.size()) {
                slice = null;
                done = true;
                consumer.pause(Set.of(partition));
                paused = true;
                return;
            }
            slice = laneSlices.get(sliceIndex);
            consumer.seek(partition, slice.startOffset());
            lastPosition = slice.startOffset();
            stallDeadline = Deadline.after(dataset.endTimeout());
            if (paused) {
                consumer.resume(Set.of(partition));
                paused = false;
            }
        }

        /**
         * The next record of the current slice, moving on to the lane's next slice when this one is read;
         * {@code null} when the lane is done or needs a poll.
         */
        ConsumerRecord<byte[], byte[]> head() {
            while (!done) {
                if (!chunks.isEmpty()) {
                    ConsumerRecord<byte[], byte[]> record = chunks.peekFirst().get(chunkIndex);
                    if (record.offset() < slice.endOffset()) {
                        return record;
                    }
                    startSlice(sliceIndex + 1);
                } else if (consumer.position(partition) >= slice.endOffset()) {
                    startSlice(sliceIndex + 1);
                } else {
                    return null;
                }
            }
            return null;
        }

        ConsumerRecord<byte[], byte[]> take() {
            List<ConsumerRecord<byte[], byte[]>> chunk = chunks.peekFirst();
            ConsumerRecord<byte[], byte[]> record = chunk.get(chunkIndex++);
            if (chunkIndex == chunk.size()) {
                chunks.pollFirst();
                chunkIndex = 0;
            }
            buffered--;
            if (paused && buffered <= laneBufferRecords / 2) {
                consumer.resume(Set.of(partition));
                paused = false;
            }
            return record;
        }

        /** The fraction of the lane's offsets passed once {@code offset} is returned. */
        double progress(long offset) {
            return (spanBefore + (offset - slice.startOffset())) / totalSpan;
        }

        void add(List<ConsumerRecord<byte[], byte[]>> records) {
            if (done || records.isEmpty()) {
                return;
            }
            chunks.addLast(records);
            buffered += records.size();
            stallDeadline = Deadline.after(dataset.endTimeout());
            if (!paused && buffered >= laneBufferRecords) {
                consumer.pause(Set.of(partition));
                paused = true;
            }
        }

        /** Fails the pass if this lane waits for records that have not come for the end timeout. */
        void checkProgress() {
            if (done || !chunks.isEmpty()) {
                return;
            }
            long position = consumer.position(partition);
            if (position != lastPosition) {
                lastPosition = position;
                stallDeadline = Deadline.after(dataset.endTimeout());
            } else if (stallDeadline.expired()) {
                long logEnd = dataset.endOffsets(List.of(partition)).get(partition);
                throw new DataStreamTimeoutException(slice, position, logEnd, dataset.endTimeout());
            }
        }
    }
}
