package io.kafkaml.stream;

import io.kafkaml.config.KafkaClientSupplier;
import io.kafkaml.internals.ClientConfigs;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The records of a data stream, described by a list of {@link StreamSlice}s, read straight from Kafka as
 * many times as training needs (one {@link StreamPass} per epoch), with no copy kept on disk or in memory.
 *
 * <pre>{@code
 * try (StreamDataset dataset = StreamDataset.builder(Map.of("bootstrap.servers", "localhost:9092"))
 *         .slices(StreamSlice.parseList("hcopd:0:0:120,hcopd:1:0:119"))
 *         .build()) {
 *     for (int epoch = 0; epoch < 2; epoch++) {
 *         StreamPass pass = dataset.newPass();
 *         while (pass.hasNext()) {
 *             StreamRecord record = pass.next();
 *             // decode record.key() and record.value()
 *         }
 *     }
 * }
 * }</pre>
 *
 * <p><b>Order</b>: a pass reads the partitions of its slices at the same time and merges them in proportion
 * to their size, each partition's slices in the order given and in offset order (see {@link StreamPass} for
 * the exact rule). The order depends on nothing but the slices and the records: every pass returns the
 * same records in the same order.
 *
 * <p><b>Exactly the slices</b>: a pass returns every record whose offset lies in a slice and no other.
 * Offsets that hold no record (transaction markers, compacted records) are skipped; with the default
 * {@code isolation.level=read_committed}, so are records of aborted transactions.
 *
 * <p><b>Expiry</b>: before a pass returns its first record, it checks every slice against its partition's
 * log start offset; a slice that starts below it has lost records to retention and the pass throws
 * {@link DataStreamExpiredException} instead of reading part of it. Retention that strikes during a pass
 * ends it with the same exception.
 *
 * <p><b>Missing records</b>: a slice that ends beyond its partition's end waits for the records; if none
 * arrives for the {@linkplain Builder#endTimeout(Duration) end timeout} the pass throws
 * {@link DataStreamTimeoutException}. A topic or partition that does not exist is a
 * {@link DataStreamException}.
 *
 * <p><b>Memory</b> is bounded, whatever the size of the stream: at most
 * {@linkplain Builder#bufferRecordsPerPartition(int) a few thousand polled records} per partition wait to be
 * returned (a partition that has more is paused), plus the consumer's fetch buffers
 * ({@code fetch.max.bytes}, {@code max.partition.fetch.bytes}).
 *
 * <p><b>Client settings</b>: {@code bootstrap.servers} and any consumer or security setting, unprefixed or
 * with the {@code consumer.} prefix. The dataset reads with assigned partitions and never joins a consumer
 * group or commits offsets.
 *
 * <p><b>Threading</b>: not thread-safe; use a dataset from one thread at a time. It owns one
 * {@code KafkaConsumer}, driven by a fetch thread of its own ({@code kafkaml-stream-fetcher | client-id}) that
 * reads ahead while the caller handles the records already read. <b>Lifecycle</b>: {@link #close()} releases it; it is idempotent.
 */
public final class StreamDataset implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(StreamDataset.class);
    private static final AtomicInteger CLIENT_IDS = new AtomicInteger();

    private final List<StreamSlice> slices;
    private final Duration endTimeout;
    private final Duration pollTimeout;
    private final Duration metadataTimeout;
    private final String name;
    private final int bufferRecordsPerPartition;
    private final StreamFetcher fetcher;
    private List<StreamSlice> resolvedSlices;
    private StreamPass currentPass;
    private int passes;
    private boolean closed;

    private StreamDataset(Builder builder) {
        this.slices = List.copyOf(builder.slices);
        this.endTimeout = builder.endTimeout;
        this.pollTimeout = builder.pollTimeout;
        this.metadataTimeout = builder.metadataTimeout;
        this.bufferRecordsPerPartition = builder.bufferRecordsPerPartition;
        String clientId =
                builder.clientId != null ? builder.clientId : "kafkaml-stream-" + CLIENT_IDS.incrementAndGet();
        this.name = clientId;
        Map<String, Object> defaults = new HashMap<>();
        defaults.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, IsolationLevel.READ_COMMITTED.toString());
        defaults.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2000);
        defaults.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 4 * 1024 * 1024);
        // A slice that ends at its partition's end leaves a fetch waiting at the log end when it is read;
        // the broker holds that fetch for fetch.max.wait.ms (500 ms by default) and the next slice waits
        // behind it. A short wait keeps slice changes cheap.
        defaults.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 20);
        defaults.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        Map<String, Object> enforced = new HashMap<>();
        enforced.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        enforced.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
        enforced.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        Map<String, Object> config = ClientConfigs.consumer(builder.clientConfig, defaults, enforced);
        config.remove(ConsumerConfig.GROUP_ID_CONFIG);
        config.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
        this.fetcher = new StreamFetcher(
                builder.clients.consumer(config), clientId, pollTimeout, endTimeout, bufferRecordsPerPartition);
    }

    /**
     * Starts a dataset over a Kafka cluster.
     *
     * @param clientConfig {@code bootstrap.servers} and any consumer or security settings
     */
    public static Builder builder(Map<String, ?> clientConfig) {
        ClientConfigs.requireBootstrapServers(clientConfig);
        return new Builder(Map.copyOf(clientConfig));
    }

    /** The slices as given. */
    public List<StreamSlice> slices() {
        return slices;
    }

    /**
     * The slices with open ends resolved against the partitions' end offsets, as every pass reads them; the
     * slices as given until the first pass resolves them.
     */
    public List<StreamSlice> resolvedSlices() {
        return resolvedSlices != null ? resolvedSlices : slices;
    }

    /**
     * Starts a new pass over the stream from its first record. A pass started earlier is superseded: it can no
     * longer be read.
     *
     * @throws DataStreamExpiredException if a slice has lost records to retention; nothing is read
     * @throws DataStreamException if a topic or partition of a slice does not exist
     * @throws IllegalStateException if the dataset is closed
     */
    public StreamPass newPass() {
        if (closed) {
            throw new IllegalStateException("StreamDataset " + name + " is closed");
        }
        if (currentPass != null) {
            currentPass.supersede();
        }
        List<StreamSlice> toRead = resolve();
        checkNotExpired(toRead);
        passes++;
        currentPass = new StreamPass(this, toRead, passes, fetcher);
        log.debug("[{}] pass {} over {}", name, passes, toRead);
        return currentPass;
    }

    /**
     * Reads one whole pass, handing every record to {@code handler}.
     *
     * @return the number of records read
     */
    public long readPass(Consumer<StreamRecord> handler) {
        StreamPass pass = newPass();
        while (pass.hasNext()) {
            handler.accept(pass.next());
        }
        return pass.recordsRead();
    }

    /**
     * The number of offsets the slices span, an upper bound of the records a pass returns.
     *
     * @throws IllegalStateException if a slice is still open-ended (before the first pass)
     */
    public long offsetCount() {
        return resolvedSlices().stream().mapToLong(StreamSlice::size).sum();
    }

    /** The number of passes started. */
    public int passes() {
        return passes;
    }

    private List<StreamSlice> resolve() {
        if (resolvedSlices != null) {
            return resolvedSlices;
        }
        checkPartitionsExist();
        List<TopicPartition> open = slices.stream()
                .filter(StreamSlice::isOpenEnded)
                .map(StreamSlice::topicPartition)
                .distinct()
                .toList();
        Map<TopicPartition, Long> ends = open.isEmpty() ? Map.of() : endOffsets(open);
        List<StreamSlice> resolved = new ArrayList<>(slices.size());
        for (StreamSlice slice : slices) {
            if (slice.isOpenEnded()) {
                long end = Math.max(slice.startOffset(), ends.get(slice.topicPartition()));
                resolved.add(slice.withEndOffset(end));
            } else {
                resolved.add(slice);
            }
        }
        resolvedSlices = List.copyOf(resolved);
        return resolvedSlices;
    }

    private void checkPartitionsExist() {
        Set<String> topics = new LinkedHashSet<>();
        slices.forEach(slice -> topics.add(slice.topic()));
        for (String topic : topics) {
            List<PartitionInfo> partitions;
            try {
                partitions = fetcher.call(c -> c.partitionsFor(topic, metadataTimeout), metadataTimeout);
            } catch (TimeoutException e) {
                throw new DataStreamException(
                        "Could not read the metadata of topic '" + topic + "' within " + metadataTimeout.toMillis()
                                + " ms: " + e.getMessage(),
                        null,
                        e);
            }
            int count = partitions == null ? 0 : partitions.size();
            for (StreamSlice slice : slices) {
                if (slice.topic().equals(topic) && slice.partition() >= count) {
                    throw new DataStreamException(
                            count == 0
                                    ? "Data stream slice " + slice + " names topic '" + topic
                                            + "', which does not exist"
                                    : "Data stream slice " + slice + " names partition " + slice.partition()
                                            + " but topic '" + topic + "' has " + count + " partition"
                                            + (count == 1 ? "" : "s"),
                            slice);
                }
            }
        }
    }

    private void checkNotExpired(List<StreamSlice> toRead) {
        Map<TopicPartition, Long> starts = beginningOffsets(
                toRead.stream().map(StreamSlice::topicPartition).distinct().toList());
        for (StreamSlice slice : toRead) {
            long logStart = starts.get(slice.topicPartition());
            if (slice.size() > 0 && slice.startOffset() < logStart) {
                throw new DataStreamExpiredException(slice, logStart);
            }
        }
    }

    Map<TopicPartition, Long> beginningOffsets(Collection<TopicPartition> partitions) {
        return offsets(
                "log start offsets",
                partitions,
                (p, timeout) -> fetcher.call(c -> c.beginningOffsets(p, timeout), timeout));
    }

    Map<TopicPartition, Long> endOffsets(Collection<TopicPartition> partitions) {
        return offsets("end offsets", partitions, (p, timeout) -> fetcher.call(c -> c.endOffsets(p, timeout), timeout));
    }

    private Map<TopicPartition, Long> offsets(
            String what,
            Collection<TopicPartition> partitions,
            BiFunction<Collection<TopicPartition>, Duration, Map<TopicPartition, Long>> lookup) {
        try {
            return lookup.apply(partitions, metadataTimeout);
        } catch (TimeoutException e) {
            throw new DataStreamException(
                    "Could not read the " + what + " of " + partitions + " within " + metadataTimeout.toMillis()
                            + " ms: " + e.getMessage(),
                    null,
                    e);
        }
    }

    Duration endTimeout() {
        return endTimeout;
    }

    Duration pollTimeout() {
        return pollTimeout;
    }

    String name() {
        return name;
    }

    Duration metadataTimeout() {
        return metadataTimeout;
    }

    void checkOpen() {
        if (closed) {
            throw new IllegalStateException("StreamDataset " + name + " is closed");
        }
    }

    /** Closes the consumer. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        fetcher.close();
    }

    @Override
    public String toString() {
        return "StreamDataset{" + name + ", " + StreamSlice.formatList(resolvedSlices()) + "}";
    }

    /** Builds a {@link StreamDataset}; {@link #slices(List)} is required. */
    public static final class Builder {
        private final Map<String, ?> clientConfig;
        private List<StreamSlice> slices;
        private Duration endTimeout = Duration.ofSeconds(60);
        private Duration pollTimeout = Duration.ofMillis(200);
        private Duration metadataTimeout = Duration.ofSeconds(30);
        private String clientId;
        private int bufferRecordsPerPartition = 4096;
        private KafkaClientSupplier clients = KafkaClientSupplier.DEFAULT;

        private Builder(Map<String, ?> clientConfig) {
            this.clientConfig = clientConfig;
        }

        /** The slices to read, in the order a pass returns them. Required, at least one. */
        public Builder slices(List<StreamSlice> slices) {
            Objects.requireNonNull(slices, "slices");
            slices.forEach(slice -> Objects.requireNonNull(slice, "slices contains null"));
            this.slices = List.copyOf(slices);
            return this;
        }

        /** The slices to read, as the comma-separated text of a control message. */
        public Builder slices(String text) {
            return slices(StreamSlice.parseList(text));
        }

        /**
         * How long a pass waits for records of a slice that ends beyond its partition's end before it fails
         * with {@link DataStreamTimeoutException}; default 60 s.
         */
        public Builder endTimeout(Duration timeout) {
            this.endTimeout = positive(timeout, "endTimeout");
            return this;
        }

        /** The longest a single consumer poll blocks; default 200 ms. */
        public Builder pollTimeout(Duration timeout) {
            this.pollTimeout = positive(timeout, "pollTimeout");
            return this;
        }

        /** How long to wait for partition metadata and offsets; default 30 s. */
        public Builder metadataTimeout(Duration timeout) {
            this.metadataTimeout = positive(timeout, "metadataTimeout");
            return this;
        }

        /**
         * How many polled records of one partition may wait to be returned before the partition is paused;
         * default 4096. Bounds memory when partitions are read at different speeds.
         */
        public Builder bufferRecordsPerPartition(int records) {
            if (records < 1) {
                throw new IllegalArgumentException("bufferRecordsPerPartition must be >= 1, was " + records);
            }
            this.bufferRecordsPerPartition = records;
            return this;
        }

        /**
         * Where the dataset's consumer comes from; default {@link KafkaClientSupplier#DEFAULT} (a real
         * {@code KafkaConsumer}). Tests pass a supplier of a {@code MockConsumer}.
         */
        public Builder clientSupplier(KafkaClientSupplier clients) {
            this.clients = Objects.requireNonNull(clients, "clients");
            return this;
        }

        /** The consumer's client id; default {@code kafkaml-stream-N}. */
        public Builder clientId(String clientId) {
            this.clientId = Objects.requireNonNull(clientId, "clientId");
            return this;
        }

        /**
         * Creates the dataset and its consumer; no request is sent before the first pass.
         *
         * @throws IllegalStateException if no slices were given
         */
        public StreamDataset build() {
            if (slices == null || slices.isEmpty()) {
                throw new IllegalStateException("A StreamDataset needs at least one slice; none was set");
            }
            return new StreamDataset(this);
        }

        private static Duration positive(Duration duration, String name) {
            Objects.requireNonNull(duration, name);
            if (duration.isNegative() || duration.isZero()) {
                throw new IllegalArgumentException(name + " must be positive, was " + duration);
            }
            return duration;
        }
    }
}
