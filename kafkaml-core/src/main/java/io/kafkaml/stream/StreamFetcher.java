package io.kafkaml.stream;

import io.kafkaml.common.KafkaMlException;
import io.kafkaml.internals.Deadline;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.InvalidOffsetException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The thread that owns a {@link StreamDataset}'s consumer: it fetches the records of the current pass while
 * the reader decodes the ones already fetched, so that fetching and decoding overlap. Records reach the reader
 * through one queue per lane (partition), already cut to the lane's slices; a lane holding too many records
 * is paused until the reader catches up. Every other use of the consumer (metadata, offsets) is run on this
 * thread too, through {@link #call}. Not part of the public API.
 */
final class StreamFetcher implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(StreamFetcher.class);

    private final Consumer<byte[], byte[]> consumer;
    private final String name;
    private final Duration pollTimeout;
    private final Duration endTimeout;
    final int laneBufferRecords;
    private final BlockingQueue<Runnable> commands = new LinkedBlockingQueue<>();
    private final Thread thread;
    private final AtomicBoolean nudged = new AtomicBoolean();
    private volatile boolean closing;
    private Pass active;

    StreamFetcher(
            Consumer<byte[], byte[]> consumer,
            String name,
            Duration pollTimeout,
            Duration endTimeout,
            int laneBufferRecords) {
        this.consumer = consumer;
        this.name = name;
        this.pollTimeout = pollTimeout;
        this.endTimeout = endTimeout;
        this.laneBufferRecords = laneBufferRecords;
        this.thread = new Thread(this, "kafkaml-stream-fetcher | " + name);
        this.thread.setDaemon(true);
        this.thread.start();
    }

    /**
     * Runs {@code action} with the consumer on the fetch thread and returns its result.
     *
     * @throws RuntimeException what the action threw
     */
    <T> T call(Function<Consumer<byte[], byte[]>, T> action, Duration timeout) {
        if (closing) {
            throw new IllegalStateException("StreamDataset " + name + " is closed");
        }
        CompletableFuture<T> result = new CompletableFuture<>();
        commands.add(() -> {
            for (int attempt = 1; ; attempt++) {
                try {
                    result.complete(action.apply(consumer));
                    return;
                } catch (WakeupException e) {
                    if (attempt == 3) {
                        result.completeExceptionally(e);
                        return;
                    }
                    // a wakeup meant for poll() hit this call instead: the flag is now clear, try again
                } catch (RuntimeException | Error e) {
                    result.completeExceptionally(e);
                    return;
                }
            }
        });
        consumer.wakeup();
        try {
            return result.get(timeout.toMillis() + 5_000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaMlException("Interrupted while waiting for the fetcher of " + name, e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new KafkaMlException("The fetcher of " + name + " failed: " + e.getCause(), e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            throw new KafkaMlException(
                    "The fetcher of " + name + " did not answer within " + timeout.toMillis() + " ms", e);
        }
    }

    /** Starts fetching a new pass; the previous pass, if any, is abandoned. */
    void start(Pass pass, Duration timeout) {
        call(
                c -> {
                    begin(pass);
                    return null;
                },
                timeout);
    }

    /** Asks the fetch thread to look at the lanes again (a paused lane may be resumed). */
    void nudge() {
        if (nudged.compareAndSet(false, true)) {
            consumer.wakeup();
        }
    }

    /** Stops the thread and closes the consumer. */
    void close() {
        closing = true;
        consumer.wakeup();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(15));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void run() {
        try {
            while (!closing) {
                try {
                    step();
                } catch (WakeupException e) {
                    // a command, a nudge or close is waiting
                } catch (InvalidOffsetException e) {
                    failActive(expired(e));
                } catch (DataStreamException e) {
                    failActive(e);
                } catch (KafkaException | IllegalStateException e) {
                    if (closing) {
                        break;
                    }
                    failActive(new DataStreamException(
                            "Reading the data stream of " + name + " failed: " + e.getMessage(), null, e));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            closeConsumer();
        }
    }

    private void step() throws InterruptedException {
        Runnable command;
        while ((command = commands.poll()) != null) {
            command.run();
        }
        nudged.set(false);
        if (active == null || active.finished()) {
            command = commands.poll(pollTimeout.toMillis(), TimeUnit.MILLISECONDS);
            if (command != null) {
                command.run();
            }
            return;
        }
        active.updatePauses();
        ConsumerRecords<byte[], byte[]> records = consumer.poll(pollTimeout);
        active.distribute(records);
        active.afterPoll();
    }

    private void closeConsumer() {
        try {
            consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
        } catch (RuntimeException e) {
            log.warn("[{}] Closing the consumer failed", name, e);
        }
        Runnable command;
        while ((command = commands.poll()) != null) {
            command.run(); // callers get "closed" errors from the closed consumer rather than waiting
        }
    }

    private RuntimeException expired(InvalidOffsetException e) {
        try {
            return expiredOrFailed(e);
        } catch (RuntimeException lookup) {
            return new DataStreamException(
                    "Reading the data stream of " + name + " failed: " + e.getMessage(), null, e);
        }
    }

    private RuntimeException expiredOrFailed(InvalidOffsetException e) {
        if (active != null) {
            for (TopicPartition partition : e.partitions()) {
                Lane lane = active.lanes.get(partition);
                if (lane != null && lane.slice != null) {
                    long logStart = consumer.beginningOffsets(List.of(partition), endTimeout)
                            .get(partition);
                    if (logStart > consumer.position(partition)) {
                        return new DataStreamExpiredException(lane.slice, logStart);
                    }
                }
            }
        }
        return new DataStreamException("Reading the data stream of " + name + " failed: " + e.getMessage(), null, e);
    }

    private void failActive(RuntimeException failure) {
        if (active != null) {
            for (Lane lane : active.lanes.values()) {
                lane.queue.add(new Item(null, 0, 0, -1, failure));
            }
            active.failed = true;
            consumer.pause(consumer.assignment());
        }
    }

    private void begin(Pass pass) {
        active = pass;
        consumer.assign(pass.lanes.keySet());
        consumer.resume(pass.lanes.keySet());
        for (Lane lane : pass.lanes.values()) {
            lane.startSlice(0);
        }
    }

    /** A pass's lanes, by partition, as the fetch thread drives them. */
    final class Pass {
        final Map<TopicPartition, Lane> lanes = new LinkedHashMap<>();
        final List<Lane> laneList;
        volatile boolean failed;

        Pass(List<Lane> laneList) {
            this.laneList = List.copyOf(laneList);
            laneList.forEach(lane -> lanes.put(lane.partition, lane));
        }

        boolean finished() {
            if (failed) {
                return true;
            }
            for (Lane lane : lanes.values()) {
                if (!lane.done) {
                    return false;
                }
            }
            return true;
        }

        void updatePauses() {
            for (Lane lane : lanes.values()) {
                if (lane.done) {
                    continue;
                }
                int buffered = lane.buffered.get();
                if (!lane.paused && buffered >= laneBufferRecords) {
                    consumer.pause(Set.of(lane.partition));
                    lane.paused = true;
                } else if (lane.paused && buffered <= laneBufferRecords / 2) {
                    consumer.resume(Set.of(lane.partition));
                    lane.paused = false;
                    lane.stallDeadline = Deadline.after(endTimeout);
                }
            }
        }

        void distribute(ConsumerRecords<byte[], byte[]> records) {
            for (TopicPartition partition : records.partitions()) {
                Lane lane = lanes.get(partition);
                if (lane != null) {
                    lane.accept(records.records(partition));
                }
            }
        }

        void afterPoll() {
            for (Lane lane : lanes.values()) {
                if (lane.done) {
                    continue;
                }
                long position = consumer.position(lane.partition);
                if (position >= lane.slice.endOffset()) {
                    lane.startSlice(lane.sliceIndex + 1);
                } else if (lane.paused || position != lane.lastPosition) {
                    lane.lastPosition = position;
                    lane.stallDeadline = Deadline.after(endTimeout);
                } else if (lane.stallDeadline.expired()) {
                    long logEnd = consumer.endOffsets(List.of(lane.partition), endTimeout)
                            .get(lane.partition);
                    throw new DataStreamTimeoutException(lane.slice, position, logEnd, endTimeout);
                }
            }
        }
    }

    /**
     * The slices of one partition. The fetch thread cuts polled records to the current slice and moves from
     * slice to slice; the reader takes the cut chunks from the queue.
     */
    final class Lane {
        final TopicPartition partition;
        final List<StreamSlice> slices;
        final BlockingQueue<Item> queue = new LinkedBlockingQueue<>();
        final AtomicInteger buffered = new AtomicInteger();
        // fetch thread only
        int sliceIndex;
        StreamSlice slice;
        boolean done;
        boolean paused;
        long lastPosition;
        Deadline stallDeadline;

        Lane(TopicPartition partition, List<StreamSlice> slices) {
            this.partition = partition;
            this.slices = slices;
        }

        void startSlice(int index) {
            sliceIndex = index;
            while (sliceIndex < slices.size() && slices.get(sliceIndex).size() == 0) {
                sliceIndex++;
            }
            if (sliceIndex >= slices.size()) {
                slice = null;
                done = true;
                consumer.pause(Set.of(partition));
                paused = true;
                queue.add(Item.END);
                return;
            }
            slice = slices.get(sliceIndex);
            consumer.seek(partition, slice.startOffset());
            lastPosition = slice.startOffset();
            stallDeadline = Deadline.after(endTimeout);
        }

        void accept(List<ConsumerRecord<byte[], byte[]>> records) {
            if (done) {
                return;
            }
            int from = 0;
            while (from < records.size() && records.get(from).offset() < slice.startOffset()) {
                from++;
            }
            int to = from;
            while (to < records.size() && records.get(to).offset() < slice.endOffset()) {
                to++;
            }
            if (to > from) {
                buffered.addAndGet(to - from);
                queue.add(new Item(records, from, to, sliceIndex, null));
                stallDeadline = Deadline.after(endTimeout);
            }
            if (to < records.size()) {
                startSlice(sliceIndex + 1); // a record at or past the slice's end: the slice is complete
            }
        }
    }

    /**
     * A chunk of records of one slice ({@code records[from, to)}), the end of a lane ({@link #END}), or a
     * failure that ends the pass.
     */
    record Item(
            List<ConsumerRecord<byte[], byte[]>> records, int from, int to, int sliceIndex, RuntimeException failure) {
        static final Item END = new Item(List.of(), 0, 0, -1, null);
    }

    /** Creates the lanes of a pass over {@code slices}: one per partition, in order of first appearance. */
    Pass newPass(List<StreamSlice> slices) {
        Map<TopicPartition, List<StreamSlice>> grouped = new LinkedHashMap<>();
        for (StreamSlice slice : slices) {
            grouped.computeIfAbsent(slice.topicPartition(), tp -> new ArrayList<>())
                    .add(slice);
        }
        List<Lane> lanes = new ArrayList<>();
        grouped.forEach((partition, laneSlices) -> lanes.add(new Lane(partition, laneSlices)));
        return new Pass(lanes);
    }
}
