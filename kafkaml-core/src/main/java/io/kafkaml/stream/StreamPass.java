package io.kafkaml.stream;

import io.kafkaml.common.KafkaMlException;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * One pass (epoch) over the records of a {@link StreamDataset}. Obtained from {@link StreamDataset#newPass()};
 * {@link #hasNext()} blocks while it waits for records. The dataset's fetch thread reads ahead while the
 * caller handles the records already read.
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
    private final StreamFetcher fetcher;
    private final StreamFetcher.Pass fetchPass;
    private final Lane[] lanes;

    private StreamRecord next;
    private long recordsRead;
    private boolean started;
    private boolean finished;
    private boolean superseded;
    private RuntimeException failure;

    StreamPass(StreamDataset dataset, List<StreamSlice> slices, int number, StreamFetcher fetcher) {
        this.dataset = dataset;
        this.slices = slices;
        this.number = number;
        this.fetcher = fetcher;
        this.fetchPass = fetcher.newPass(slices);
        this.lanes = fetchPass.laneList.stream().map(Lane::new).toArray(Lane[]::new);
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
                started = true;
                fetcher.start(fetchPass, dataset.metadataTimeout());
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
            throw new IllegalStateException(
                    "Pass " + number + " of " + dataset.name() + " failed earlier: " + failure.getMessage(), failure);
        }
    }

    private boolean advance() {
        Lane best = null;
        double bestProgress = Double.MAX_VALUE;
        for (Lane lane : lanes) {
            ConsumerRecord<byte[], byte[]> head = lane.head();
            if (head != null) {
                double progress = lane.progress(head.offset());
                if (progress < bestProgress) {
                    bestProgress = progress;
                    best = lane;
                }
            }
        }
        if (best == null) {
            finished = true;
            return false;
        }
        ConsumerRecord<byte[], byte[]> record = best.take();
        next = new StreamRecord(
                record.topic(), record.partition(), record.offset(), record.timestamp(), record.key(), record.value());
        recordsRead++;
        return true;
    }

    /** The reader's side of a lane: the chunk being read and the lane's progress through its slices. */
    private final class Lane {
        final StreamFetcher.Lane fetched;
        final long[] spanBefore;
        final double totalSpan;
        StreamFetcher.Item chunk;
        int index;
        boolean done;

        Lane(StreamFetcher.Lane fetched) {
            this.fetched = fetched;
            this.spanBefore = new long[fetched.slices.size()];
            long span = 0;
            for (int i = 0; i < spanBefore.length; i++) {
                spanBefore[i] = span;
                span += fetched.slices.get(i).size();
            }
            this.totalSpan = Math.max(1, span);
        }

        /** The lane's next record, waiting for the fetch thread if needed; {@code null} once the lane is done. */
        ConsumerRecord<byte[], byte[]> head() {
            while (!done) {
                if (chunk != null && index < chunk.to()) {
                    return chunk.records().get(index);
                }
                StreamFetcher.Item item = take(fetched);
                if (item == StreamFetcher.Item.END) {
                    done = true;
                } else if (item.failure() != null) {
                    throw item.failure();
                } else {
                    chunk = item;
                    index = item.from();
                }
            }
            return null;
        }

        ConsumerRecord<byte[], byte[]> take() {
            ConsumerRecord<byte[], byte[]> record = chunk.records().get(index++);
            if (fetched.buffered.decrementAndGet() == fetcher.laneBufferRecords / 2) {
                fetcher.nudge();
            }
            return record;
        }

        double progress(long offset) {
            StreamSlice slice = fetched.slices.get(chunk.sliceIndex());
            return (spanBefore[chunk.sliceIndex()] + (offset - slice.startOffset())) / totalSpan;
        }

        private StreamFetcher.Item take(StreamFetcher.Lane lane) {
            try {
                while (true) {
                    StreamFetcher.Item item =
                            lane.queue.poll(dataset.pollTimeout().toMillis(), TimeUnit.MILLISECONDS);
                    if (item != null) {
                        return item;
                    }
                    checkReadable();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new KafkaMlException("Interrupted while reading pass " + number + " of " + dataset.name(), e);
            }
        }
    }
}
