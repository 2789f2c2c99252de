package io.kafkaml.training.internals;

import io.kafkaml.common.KafkaMlException;
import io.kafkaml.config.KafkaClientSupplier;
import io.kafkaml.internals.ClientConfigs;
import io.kafkaml.stream.StreamSlice;
import io.kafkaml.training.IncrementalSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads an unbounded topic in windows for an incremental training run, as a consumer group whose offsets are
 * committed only when the caller says a window is recorded ({@link #commit}). The topic's partitions are
 * <em>assigned</em> (the group holds no members), so a restarted trainer resumes at once from the committed offsets,
 * or from the offsets of its own checkpoint ({@link #seek}), which win: a checkpoint may be one window ahead of the
 * group when the trainer died between recording it and committing.
 *
 * <p>Partitions added to the topic while the run goes on are assigned too: looked for at the start of every window and
 * every 5 s while a window is empty (as the consumer's metadata knows them).
 *
 * <p>A window is described by its slices ({@code topic:partition:first:end}, end exclusive) and its record count; the
 * caller reads its records again through the slices (the same decoders and splits as a bounded stream). Records of a
 * poll beyond a full window are not lost: the consumer is sought back to the first of them.
 *
 * <p>Not thread-safe: one thread. {@link #close()} closes the consumer.
 */
final class WindowReader implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(WindowReader.class);
    private static final Duration POLL = Duration.ofMillis(100);
    private static final Duration LOOKUP_TIMEOUT = Duration.ofSeconds(30);

    /** A closed window: its slices, its record count, the offsets after it, and why it closed. */
    record Window(List<StreamSlice> slices, long records, Map<TopicPartition, Long> next, String closedBy) {}

    private final Consumer<byte[], byte[]> consumer;
    private final String topic;
    private final String groupId;
    private final IncrementalSpec spec;
    private final String name;
    private long lastRecordNanos = System.nanoTime();
    private long partitionsCheckedNanos = System.nanoTime();
    /** How often an empty window looks for partitions added to the topic (also at the start of every window). */
    private static final long PARTITION_CHECK_NANOS = 5_000_000_000L;

    WindowReader(
            Map<String, ?> clientConfig,
            KafkaClientSupplier clients,
            String topic,
            String groupId,
            IncrementalSpec spec,
            String name) {
        this.topic = topic;
        this.groupId = groupId;
        this.spec = spec;
        this.name = name;
        Map<String, Object> defaults = new HashMap<>();
        defaults.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, IsolationLevel.READ_COMMITTED.toString());
        defaults.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2000);
        defaults.put(ConsumerConfig.CLIENT_ID_CONFIG, "kafkaml-incremental-" + name);
        Map<String, Object> enforced = new HashMap<>();
        enforced.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        enforced.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        enforced.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        enforced.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false); // the sink's first record creates it
        Map<String, Object> config = ClientConfigs.consumer(clientConfig, defaults, enforced);
        config.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
        this.consumer = clients.consumer(config);
    }

    /**
     * Waits until the topic exists (Kafka-ML's online sink announces it before its first record creates it) and
     * assigns all its partitions.
     *
     * @return false if it did not appear within the stream timeout (never, for an indefinite run: it waits on)
     */
    boolean assign(BooleanSupplier cancelled) {
        long start = System.nanoTime();
        while (true) {
            if (cancelled.getAsBoolean()) {
                throw new java.util.concurrent.CancellationException();
            }
            List<PartitionInfo> partitions;
            try {
                partitions = consumer.partitionsFor(topic, Duration.ofSeconds(5));
            } catch (org.apache.kafka.common.errors.TimeoutException e) {
                partitions = List.of();
            }
            if (partitions != null && !partitions.isEmpty()) {
                List<TopicPartition> assigned = new ArrayList<>();
                partitions.forEach(p -> assigned.add(new TopicPartition(p.topic(), p.partition())));
                consumer.assign(assigned);
                log.info(
                        "[{}] Reading topic '{}' ({} partitions) in windows as consumer group '{}'",
                        name,
                        topic,
                        assigned.size(),
                        groupId);
                lastRecordNanos = System.nanoTime();
                return true;
            }
            if (!spec.indefinite()
                    && System.nanoTime() - start >= spec.streamTimeout().toNanos()) {
                return false;
            }
            try {
                Thread.sleep(100); // polling Kafka's metadata for a topic that does not exist yet: nothing to await
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new KafkaMlException("Interrupted while waiting for topic '" + topic + "'", e);
            }
        }
    }

    /**
     * Starts each assigned partition that has no committed offset in the group at its first record written at or
     * after {@code timestampMs} (Kafka's {@code offsetsForTimes}), or at its end when it has none: a new run reads the
     * records written since its control message, not older streams that share the topic (Kafka-ML's examples reuse
     * one topic, and its online sink sends the control message before its data). As {@link #start} with
     * {@link IncrementalSpec.StartFrom#CONTROL}.
     */
    Map<TopicPartition, Long> startAt(long timestampMs) {
        return start(IncrementalSpec.StartFrom.CONTROL, timestampMs);
    }

    /**
     * Starts each assigned partition that has no committed offset in the group where {@code from} says: at its first
     * record written at or after {@code timestampMs} (or its end when it has none) for
     * {@link IncrementalSpec.StartFrom#CONTROL}, at its first record held for {@code EARLIEST}, at its end for
     * {@code LATEST}. A partition the group has committed keeps its committed offset. The records that
     * {@code CONTROL} skips (older timestamps than the control record's: a re-sent stream, event-time timestamps,
     * producer clock skew) are counted per partition and logged at WARN with the way to read them. Blocking, at most
     * 30 s per lookup.
     *
     * @param timestampMs the control record's timestamp; below 0 (unknown), {@code CONTROL} starts as {@code EARLIEST}
     * @return where each partition without a committed offset starts
     * @throws KafkaMlException if the offsets cannot be looked up
     */
    Map<TopicPartition, Long> start(IncrementalSpec.StartFrom from, long timestampMs) {
        IncrementalSpec.StartFrom rule = from == IncrementalSpec.StartFrom.CONTROL && timestampMs < 0
                ? IncrementalSpec.StartFrom.EARLIEST
                : from;
        java.util.Set<TopicPartition> assigned = new java.util.HashSet<>(consumer.assignment());
        Map<TopicPartition, Long> query = new HashMap<>();
        Map<TopicPartition, Long> start = new TreeMap<>(java.util.Comparator.comparing(TopicPartition::toString));
        Map<TopicPartition, Long> skipped = new TreeMap<>(java.util.Comparator.comparing(TopicPartition::toString));
        try {
            Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(assigned, LOOKUP_TIMEOUT);
            for (TopicPartition partition : assigned) {
                if (committed == null || committed.get(partition) == null) {
                    query.put(partition, timestampMs);
                }
            }
            if (query.isEmpty()) {
                return start;
            }
            Map<TopicPartition, Long> beginnings = consumer.beginningOffsets(query.keySet(), LOOKUP_TIMEOUT);
            Map<TopicPartition, Long> ends = consumer.endOffsets(query.keySet(), LOOKUP_TIMEOUT);
            Map<TopicPartition, org.apache.kafka.clients.consumer.OffsetAndTimestamp> found =
                    rule == IncrementalSpec.StartFrom.CONTROL ? consumer.offsetsForTimes(query, LOOKUP_TIMEOUT) : null;
            for (TopicPartition partition : query.keySet()) {
                long offset = switch (rule) {
                    case EARLIEST -> beginnings.get(partition);
                    case LATEST -> ends.get(partition);
                    case CONTROL -> {
                        org.apache.kafka.clients.consumer.OffsetAndTimestamp at =
                                found == null ? null : found.get(partition);
                        yield at != null ? at.offset() : ends.get(partition);
                    }
                };
                consumer.seek(partition, offset);
                start.put(partition, offset);
                long before = offset - beginnings.get(partition);
                if (rule == IncrementalSpec.StartFrom.CONTROL && before > 0) {
                    skipped.put(partition, before);
                }
            }
        } catch (org.apache.kafka.common.KafkaException e) {
            throw new KafkaMlException(
                    "Cannot find where to start topic '" + topic + "' (startFrom " + rule + ", control message "
                            + "timestamp " + timestampMs + "): " + e.getMessage(),
                    e);
        }
        if (!skipped.isEmpty()) {
            log.warn(
                    "[{}] Consumer group '{}' has no committed offsets and starts topic '{}' at the control message "
                            + "(timestamp {}): skipping the records written before it, per partition {}. A re-sent "
                            + "stream, data with event-time timestamps or a producer clock behind the control "
                            + "message's lose records so: set the incremental startFrom to earliest (kafkaml train "
                            + "--start-from earliest, spec.incremental.startFrom) to read them",
                    name,
                    groupId,
                    topic,
                    timestampMs,
                    skipped);
        }
        log.info(
                "[{}] Consumer group '{}' has no committed offsets: reading topic '{}' from {} ({}): {}",
                name,
                groupId,
                topic,
                rule == IncrementalSpec.StartFrom.CONTROL
                        ? "the records written since the control message"
                        : rule == IncrementalSpec.StartFrom.EARLIEST ? "its first records" : "its end",
                rule == IncrementalSpec.StartFrom.CONTROL ? "timestamp " + timestampMs : "startFrom " + rule,
                start);
        return start;
    }

    /** Starts the assigned partitions at a checkpoint's offsets (the others at the group's committed offsets). */
    void seek(Map<TopicPartition, Long> offsets) {
        offsets.forEach((partition, offset) -> {
            if (consumer.assignment().contains(partition)) {
                consumer.seek(partition, offset);
            }
        });
    }

    /**
     * Assigns the partitions added to the topic since it was assigned (as the consumer's metadata knows them: within
     * its {@code metadata.max.age.ms}, 5 minutes by default); they start at the group's committed offsets, else at
     * their beginning. The partitions already assigned keep their positions.
     */
    private void addNewPartitions() {
        partitionsCheckedNanos = System.nanoTime();
        List<PartitionInfo> partitions;
        try {
            partitions = consumer.partitionsFor(topic, Duration.ofSeconds(5));
        } catch (org.apache.kafka.common.errors.TimeoutException e) {
            return; // the next check tries again
        }
        if (partitions == null || partitions.size() <= consumer.assignment().size()) {
            return;
        }
        java.util.Set<TopicPartition> all = new java.util.HashSet<>(consumer.assignment());
        partitions.forEach(p -> all.add(new TopicPartition(p.topic(), p.partition())));
        if (all.size() > consumer.assignment().size()) {
            log.info(
                    "[{}] Topic '{}' has {} partitions now (was {}): reading the new ones too",
                    name,
                    topic,
                    all.size(),
                    consumer.assignment().size());
            consumer.assign(all);
        }
    }

    /**
     * Reads the next window.
     *
     * @return the window, or {@code null} when the stream has been idle for the stream timeout with no record pending
     *     (the end of a bounded run; an indefinite run never gets {@code null})
     */
    Window next(BooleanSupplier cancelled) {
        Map<TopicPartition, long[]> ranges = new TreeMap<>(java.util.Comparator.comparing(TopicPartition::toString));
        long count = 0;
        long firstNanos = 0;
        addNewPartitions();
        while (true) {
            if (cancelled.getAsBoolean()) {
                throw new java.util.concurrent.CancellationException();
            }
            if (count == 0 && System.nanoTime() - partitionsCheckedNanos >= PARTITION_CHECK_NANOS) {
                addNewPartitions();
            }
            ConsumerRecords<byte[], byte[]> polled = consumer.poll(POLL);
            long now = System.nanoTime();
            boolean full = false;
            Map<TopicPartition, Long> rewind = new HashMap<>();
            for (ConsumerRecord<byte[], byte[]> record : polled) {
                TopicPartition partition = new TopicPartition(record.topic(), record.partition());
                if (full) {
                    rewind.merge(partition, record.offset(), Math::min);
                    continue;
                }
                if (count == 0) {
                    firstNanos = now;
                }
                long[] range = ranges.computeIfAbsent(partition, p -> new long[] {record.offset(), record.offset()});
                range[1] = record.offset();
                count++;
                lastRecordNanos = now;
                full = spec.windowRecords() > 0 && count >= spec.windowRecords();
            }
            rewind.forEach(consumer::seek);
            String closedBy = full
                    ? spec.windowRecords() + " records"
                    : count > 0
                                    && spec.windowTime() != null
                                    && now - firstNanos >= spec.windowTime().toNanos()
                            ? "window time " + spec.windowTime().toMillis() + " ms"
                            : count > 0
                                            && now - lastRecordNanos
                                                    >= spec.streamTimeout().toNanos()
                                    ? "no record for " + spec.streamTimeout().toMillis() + " ms"
                                    : null;
            if (closedBy != null) {
                List<StreamSlice> slices = new ArrayList<>();
                Map<TopicPartition, Long> next = new HashMap<>();
                ranges.forEach((partition, range) -> {
                    slices.add(StreamSlice.of(partition.topic(), partition.partition(), range[0], range[1] + 1));
                    next.put(partition, range[1] + 1);
                });
                // every assigned partition, also those with no record in this window: a checkpoint (and the commit)
                // then holds a position for each, and a restart never falls back to the group's reset (earliest)
                for (TopicPartition partition : consumer.assignment()) {
                    if (!next.containsKey(partition)) {
                        next.put(partition, consumer.position(partition, Duration.ofSeconds(30)));
                    }
                }
                return new Window(slices, count, next, closedBy);
            }
            if (count == 0
                    && !spec.indefinite()
                    && now - lastRecordNanos >= spec.streamTimeout().toNanos()) {
                return null;
            }
        }
    }

    /** Commits the offsets after a recorded window to the group (synchronously). */
    void commit(Map<TopicPartition, Long> next) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        next.forEach((partition, offset) -> offsets.put(partition, new OffsetAndMetadata(offset)));
        consumer.commitSync(offsets, Duration.ofSeconds(30));
    }

    @Override
    public void close() {
        consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(5)));
    }
}
