package io.kafkaml.dataset;

import io.kafkaml.config.KafkaClientSupplier;
import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.control.ControlMessage;
import io.kafkaml.format.RecordDecodeException;
import io.kafkaml.format.RecordDecoder;
import io.kafkaml.format.RecordFormat;
import io.kafkaml.format.RecordFormats;
import io.kafkaml.stream.DataStreamException;
import io.kafkaml.stream.StreamDataset;
import io.kafkaml.stream.StreamRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.preprocessor.DataNormalization;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The data stream a control message announces, as DL4J {@code DataSetIterator}s for its train, validation
 * and test splits.
 *
 * <pre>{@code
 * try (StreamDataSets data = StreamDataSets.builder(Map.of("bootstrap.servers", "localhost:9092"), message)
 *         .batchSize(10).shuffle(true).seed(42).oneHotLabels(2)
 *         .build()) {
 *     network.fit(data.train(), 100);
 *     Evaluation evaluation = network.evaluate(data.test());
 * }
 * }</pre>
 *
 * <p><b>Decoding</b>: the format is the message's {@code input_format}, found with
 * {@link RecordFormats}, configured by its {@code input_config}. Features are flattened to
 * {@code [batch, featureCount]} floats (or laid out for a model with {@link Builder#inputLayout}); labels are
 * {@code [batch, labelCount]}, or one-hot {@code [batch, classes]} with {@link Builder#oneHotLabels(int)} (for
 * MCXENT/NLL losses), or class indices {@code [batch, labelCount]} checked against the number of classes with
 * {@link Builder#classIndexLabels(int)} (for SPARSE_MCXENT); with either, a label that is not a class index is a
 * bad record. Bad records follow the {@link BadRecordPolicy} (FAIL by default); every error names the
 * record's topic, partition and offset.
 *
 * <p><b>Splits</b>: the stream's N records are split into exactly {@code round(N × validation_rate)}
 * validation and {@code round(N × test_rate)} test records, the rest for training, by a seeded random
 * assignment or in Kafka-ML's order (train → test → validation); see {@link SplitOrder}. The assignment
 * depends only on N and the seed, so every epoch and every iterator agrees on it. N is the message's
 * {@code total_msg}: if the slices hold another number of records, reading fails with a
 * {@link DataStreamException} that says so, unless {@link Builder#strictRecordCount(boolean)} is off, in which
 * case the records are counted first.
 *
 * <p><b>Memory and epochs</b>: when the decoded stream fits the {@linkplain Builder#cacheBudgetBytes(long)
 * cache budget} (256 MiB by default), the first use reads and decodes it once and every later epoch, and the
 * other splits, are served from memory; shuffling is then a full seeded permutation per epoch. Otherwise each
 * iterator reads the stream again on every epoch through its own {@link StreamDataset}, with bounded memory
 * whatever the length of the stream, skipping the records of other splits without decoding them; shuffling
 * then uses a seeded buffer of {@linkplain Builder#shuffleBufferRows(int) rows}.
 *
 * <p><b>Threading</b>: not thread-safe; use the object and its iterators from one thread.
 * <b>Lifecycle</b>: nothing is read before the first iterator is used; {@link #close()} closes the
 * iterators' consumers and is idempotent.
 */
public final class StreamDataSets implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(StreamDataSets.class);
    private static final int LOGGED_BAD_RECORDS = 10;
    private static final AtomicInteger IDS = new AtomicInteger();

    private final Map<String, ?> clientConfig;
    private final KafkaClientSupplier clients;
    private final ControlMessage message;
    private final RecordFormat format;
    private final RecordDecoder decoder;
    final int batchSize;
    final boolean shuffle;
    final long seed;
    final int shuffleBufferRows;
    private final SplitOrder splitOrder;
    final int oneHotClasses;
    final int indexClasses;
    private final long cacheBudgetBytes;
    private final BadRecordPolicy badRecordPolicy;
    private final java.util.function.BiConsumer<StreamRecord, RecordDecodeException> badRecordHandler;
    private final boolean strictRecordCount;
    private final Duration endTimeout;
    private final String name;
    final int featureCount;
    final int outcomes;
    /** Lays batches out for the model, or {@code null} for flat rows. */
    final io.kafkaml.model.InputLayout.Binding binding;

    private final List<StreamDataset> datasets = new ArrayList<>();

    private long recordCount = -1;
    private byte[] splitOf;
    private Cache cache;
    private boolean prepared;
    private long skipped;
    private boolean closed;
    /** Bytes this instance holds of the JVM-wide cache reservation ({@link #CACHE_RESERVED}), released on close. */
    private long reservedBytes;

    /**
     * Bytes reserved by the caches of every open {@code StreamDataSets} in this JVM: together they stay within half
     * the heap (two trainings at once, a semi-supervised run's labelled and unlabelled streams), each also within its
     * own {@code cacheBudgetBytes}.
     */
    static final java.util.concurrent.atomic.AtomicLong CACHE_RESERVED = new java.util.concurrent.atomic.AtomicLong();

    private DataNormalization normalizer;
    private boolean cacheNormalized;
    private int cacheVersion;
    /**
     * Each split's cached rows as batches of {@link #batchSize} rows in split order, built once by the first iterator
     * that reads them unshuffled and shared by the split's iterators: every epoch then feeds the same batch objects
     * (no copy, no allocation). At most one copy of the cached rows, counted in {@link #cacheBytes}; dropped when the
     * rows change ({@link #normalize}) and on {@link #close()}.
     */
    private final Map<DataSplit, List<org.nd4j.linalg.dataset.DataSet>> batches = new EnumMap<>(DataSplit.class);

    private StreamDataSets(Builder builder) {
        this.clientConfig = builder.clientConfig;
        this.clients = builder.clients;
        this.message = builder.message;
        this.format = builder.format != null ? builder.format : RecordFormats.forName(message.inputFormat());
        // records larger than kafkaml.max.record.bytes are bad records, refused before they are parsed
        this.decoder = RecordFormats.bounded(
                format.newDecoder(message.inputConfig()), KafkaMlConfig.maxRecordBytes(clientConfig));
        this.batchSize = builder.batchSize;
        this.shuffle = builder.shuffle;
        this.seed = builder.seed;
        this.shuffleBufferRows = builder.shuffleBufferRows;
        this.splitOrder = builder.splitOrder;
        this.oneHotClasses = builder.oneHotClasses;
        this.indexClasses = builder.indexClasses;
        this.cacheBudgetBytes = builder.cacheBudgetBytes;
        this.badRecordPolicy = builder.badRecordPolicy;
        this.badRecordHandler = builder.badRecordHandler;
        this.strictRecordCount = builder.strictRecordCount;
        this.endTimeout = builder.endTimeout;
        this.name = "deployment " + message.deploymentId() + " (" + IDS.incrementAndGet() + ")";
        this.binding = builder.inputLayout == null ? null : builder.inputLayout.bind(decoder.featureShape());
        this.featureCount = decoder.featureCount();
        if ((oneHotClasses > 0 || indexClasses > 0) && decoder.labelCount() < 1) {
            throw new IllegalArgumentException((oneHotClasses > 0 ? "oneHotLabels" : "classIndexLabels")
                    + " needs class-index labels, but the " + message.inputFormat() + " input_config declares none");
        }
        // k class indices per record (one per time step of a sequence) become k one-hot rows, [k, classes] in C
        // order, or stay k indices for a loss that takes indices
        this.outcomes = oneHotClasses > 0 ? oneHotClasses * decoder.labelCount() : decoder.labelCount();
        this.labelScratch = new float[Math.max(1, decoder.labelCount())];
        if ((long) batchSize * Math.max(featureCount, outcomes) > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("A batch of " + batchSize + " rows of " + featureCount
                    + " features does not fit in one array; use a smaller batch size");
        }
    }

    /**
     * Starts a builder.
     *
     * @param clientConfig {@code bootstrap.servers} and any consumer or security settings
     * @param message the control message that announces the stream
     */
    public static Builder builder(Map<String, ?> clientConfig, ControlMessage message) {
        return new Builder(clientConfig, message);
    }

    /** The iterator over the training split. Each call returns a new iterator. */
    public StreamDataSetIterator train() {
        return iterator(DataSplit.TRAIN);
    }

    /** The iterator over the validation split. */
    public StreamDataSetIterator validation() {
        return iterator(DataSplit.VALIDATION);
    }

    /** The iterator over the test split. */
    public StreamDataSetIterator test() {
        return iterator(DataSplit.TEST);
    }

    /** An iterator over one split. */
    public StreamDataSetIterator iterator(DataSplit split) {
        checkOpen();
        return new StreamDataSetIterator(this, Objects.requireNonNull(split, "split"));
    }

    /** The control message the stream was announced with. */
    public ControlMessage controlMessage() {
        return message;
    }

    /** The number of floats per feature row. */
    public int featureCount() {
        return featureCount;
    }

    /** The number of floats per label row (the number of classes times the labels per record with one-hot labels). */
    public int labelCount() {
        return outcomes;
    }

    /** The shape of one record's features as the format declares it (for example {@code [28, 28]}). */
    public long[] featureShape() {
        return decoder.featureShape();
    }

    /** The number of records in the stream; reads it first if the record count is not strict. */
    public long recordCount() {
        prepare();
        return recordCount;
    }

    /** The number of records assigned to a split (bad records included). */
    public long splitSize(DataSplit split) {
        prepare();
        long count = 0;
        for (byte s : splitOf) {
            if (s == split.ordinal()) {
                count++;
            }
        }
        return count;
    }

    /** The number of bad records left out so far under {@link BadRecordPolicy#SKIP}. */
    public long skippedRecords() {
        return skipped;
    }

    /** Whether the decoded stream is held in memory (known once an iterator has been used). */
    public boolean cached() {
        return cache != null;
    }

    /**
     * Normalizes the features of every split with {@code normalizer} (fitted beforehand, normally on the
     * training split). When the stream is cached the cached features are transformed once, so epochs pay
     * nothing for it; otherwise each batch is transformed as it is read.
     */
    public void normalize(DataNormalization fitted) {
        checkOpen();
        if (this.normalizer != null) {
            throw new IllegalStateException("The features are already normalized");
        }
        this.normalizer = Objects.requireNonNull(fitted, "normalizer");
        normalizeCache();
    }

    private void normalizeCache() {
        if (normalizer == null || cache == null || cacheNormalized || featureCount == 0) {
            return;
        }
        int rows = cache.features.length / featureCount;
        if (rows > 0) {
            INDArray features = io.kafkaml.internals.NdArrays.fromFloats(cache.features, rows, featureCount);
            normalizer.transform(features);
            features.data().asNioFloat().get(cache.features, 0, rows * featureCount);
        }
        cacheNormalized = true;
        cacheVersion++;
        batches.clear();
    }

    /** The shared batches of {@code split} built so far (see {@link #batches}); iterators append the next one. */
    List<org.nd4j.linalg.dataset.DataSet> batches(DataSplit split) {
        return batches.computeIfAbsent(split, s -> new ArrayList<>());
    }

    /** Changes whenever the cached rows change, so that iterators drop batches built from older rows. */
    int cacheVersion() {
        return cacheVersion;
    }

    /** The normalizer to apply to each streamed batch, or {@code null} (none, or already applied to the cache). */
    DataNormalization batchNormalizer() {
        return cache != null ? null : normalizer;
    }

    /** Closes the consumers of the iterators. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        datasets.forEach(StreamDataset::close);
        datasets.clear();
        cache = null;
        batches.clear();
        release(reservedBytes);
        reservedBytes = 0;
    }

    /**
     * Reserves {@code bytes} of the JVM-wide cache budget, half of {@code maxHeapBytes} for all caches together.
     *
     * @return whether the reservation was made (then {@link #release(long)} it once the cache is dropped)
     */
    static boolean reserve(long bytes, long maxHeapBytes) {
        long limit = maxHeapBytes == Long.MAX_VALUE ? Long.MAX_VALUE : maxHeapBytes / 2;
        while (true) {
            long held = CACHE_RESERVED.get();
            if (bytes > limit - held) {
                return false;
            }
            if (CACHE_RESERVED.compareAndSet(held, held + bytes)) {
                return true;
            }
        }
    }

    /** Gives back a reservation made with {@link #reserve(long, long)}. */
    static void release(long bytes) {
        if (bytes > 0) {
            CACHE_RESERVED.addAndGet(-bytes);
        }
    }

    void checkOpen() {
        if (closed) {
            throw new IllegalStateException("StreamDataSets of " + name + " is closed");
        }
    }

    /** Counts the records if needed, assigns the splits, and fills the cache if it fits. */
    void prepare() {
        checkOpen();
        if (prepared) {
            return;
        }
        if (strictRecordCount) {
            recordCount = message.totalMessages();
        } else {
            try (StreamDataset counter = newDataset()) {
                recordCount = counter.readPass(record -> {});
            }
            if (recordCount != message.totalMessages()) {
                log.warn(
                        "[{}] The slices hold {} records; the control message says total_msg = {}. Using {}.",
                        name,
                        recordCount,
                        message.totalMessages(),
                        recordCount);
            }
        }
        if (recordCount > Integer.MAX_VALUE - 8) {
            throw new DataStreamException(
                    "The stream of " + name + " holds " + recordCount
                            + " records, more than one split assignment can index",
                    null);
        }
        splitOf = assignSplits(
                (int) recordCount,
                message.totalMessages(),
                message.validationRate(),
                message.testRate(),
                splitOrder,
                seed);
        prepared = true;
        long cacheBytes = cacheBytes(recordCount, featureCount, outcomes, batchSize);
        long budget =
                effectiveCacheBudget(cacheBudgetBytes, Runtime.getRuntime().maxMemory());
        boolean fits = budget > 0
                && cacheBytes <= budget
                && recordCount * Math.max(featureCount, outcomes) <= Integer.MAX_VALUE - 8;
        if (fits && reserve(cacheBytes, Runtime.getRuntime().maxMemory())) {
            reservedBytes = cacheBytes;
            try {
                cache = fillCache();
                normalizeCache();
            } catch (RuntimeException | Error e) {
                cache = null;
                release(reservedBytes);
                reservedBytes = 0;
                throw e;
            }
        } else if (fits) {
            log.info(
                    "[{}] Streaming {} records from Kafka on every epoch: their {} bytes decoded fit this stream's "
                            + "budget, but the caches of other streams in this JVM hold {} of the {} bytes (half the "
                            + "heap) all caches may take together",
                    name,
                    recordCount,
                    cacheBytes,
                    CACHE_RESERVED.get(),
                    Runtime.getRuntime().maxMemory() / 2);
        } else {
            log.info(
                    "[{}] Streaming {} records from Kafka on every epoch ({} bytes decoded would exceed the cache "
                            + "budget of {} bytes: the smaller of cacheBudgetBytes {} and half the heap)",
                    name,
                    recordCount,
                    cacheBytes,
                    budget,
                    cacheBudgetBytes);
        }
    }

    /**
     * The memory a cache of {@code records} rows takes at its peak, every copy counted: the decoded features and
     * labels (float32, heap), a byte per row marking bad records, the per-split row indexes (an int per row, and
     * the int per row of the array they are gathered in), the off-heap copy a normalizer transforms (float32 per
     * feature; counted whether or not one comes: it is fitted, on the cached rows, after this decision), and the
     * batches built once for every later epoch ({@link #batches}: the rows again as float32 off-heap, plus
     * {@value #BATCH_OVERHEAD_BYTES} bytes per batch of {@code batchSize} rows for its {@code DataSet}, arrays and
     * buffers; counted whether or not the stream is shuffled).
     */
    static long cacheBytes(long records, int featureCount, int outcomes, int batchSize) {
        long rowBytes = 4L * (featureCount + outcomes) + 1 + 4 + 4 + 4L * featureCount + 4L * (featureCount + outcomes);
        long batchCount = (records + batchSize - 1) / batchSize;
        return records * rowBytes + batchCount * BATCH_OVERHEAD_BYTES;
    }

    /** What a built batch costs beyond its rows: the DataSet, two INDArrays, their buffers and shape information. */
    static final long BATCH_OVERHEAD_BYTES = 1_024;

    /**
     * The cache budget in force: {@code cacheBudgetBytes}, at most half of {@code maxHeapBytes} (the JVM's
     * {@code -Xmx}, {@link Runtime#maxMemory()}), so that a stream a default budget would cache never fills a small
     * heap: it is read from Kafka on every epoch instead.
     */
    static long effectiveCacheBudget(long cacheBudgetBytes, long maxHeapBytes) {
        return maxHeapBytes == Long.MAX_VALUE ? cacheBudgetBytes : Math.min(cacheBudgetBytes, maxHeapBytes / 2);
    }

    /**
     * The split of each record of a stream, as every {@code StreamDataSets} built with the same order and seed
     * assigns them: element {@code i} is the split of the {@code i}-th record in stream order (for a one-partition
     * stream, the order the records were sent). Lets code outside kafkaml (plain DL4J from memory, a test, a
     * comparison) reproduce exactly the split a training deployment trains and tests on.
     *
     * @param records the number of records N in the stream
     * @param validationRate the control message's {@code validation_rate}: {@code round(N × rate)} records
     *     ({@link SplitOrder#KAFKA_ML}: see there)
     * @param testRate the control message's {@code test_rate}: {@code round(N × rate)} records
     * @param seed the seed of the assignment ({@link Builder#seed(long)}; a training deployment's seed)
     * @return N splits, a new array; with {@link SplitOrder#KAFKA_ML} ({@code total_msg} = N) an element is
     *     {@code null} for a record Kafka-ML's split leaves unused (only when both rates are 0 after truncation)
     * @throws IllegalArgumentException if {@code records} is negative or the rates leave no room for training
     */
    public static DataSplit[] splitAssignment(
            int records, double validationRate, double testRate, SplitOrder order, long seed) {
        if (records < 0 || validationRate < 0 || testRate < 0 || validationRate + testRate > 1) {
            throw new IllegalArgumentException("Cannot split " + records + " records at validation rate "
                    + validationRate + " and test rate " + testRate);
        }
        byte[] splits =
                assignSplits(records, records, validationRate, testRate, Objects.requireNonNull(order, "order"), seed);
        DataSplit[] all = DataSplit.values();
        DataSplit[] result = new DataSplit[records];
        for (int i = 0; i < records; i++) {
            result[i] = splits[i] == KafkaMlSplit.UNUSED ? null : all[splits[i]];
        }
        return result;
    }

    private static byte[] assignSplits(
            int n, long totalMsg, double validationRate, double testRate, SplitOrder splitOrder, long seed) {
        if (splitOrder == SplitOrder.KAFKA_ML) {
            return KafkaMlSplit.assign(n, totalMsg, validationRate, testRate);
        }
        int validation = (int) Math.round(n * validationRate);
        int test = (int) Math.round(n * testRate);
        int train = n - validation - test;
        byte[] splits = new byte[n];
        java.util.Arrays.fill(splits, 0, train, (byte) DataSplit.TRAIN.ordinal());
        java.util.Arrays.fill(splits, train, train + validation, (byte) DataSplit.VALIDATION.ordinal());
        java.util.Arrays.fill(splits, train + validation, n, (byte) DataSplit.TEST.ordinal());
        Random random = new Random(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            byte swap = splits[i];
            splits[i] = splits[j];
            splits[j] = swap;
        }
        return splits;
    }

    private Cache fillCache() {
        int n = (int) recordCount;
        Cache filled = new Cache(n, featureCount, outcomes);
        byte[] bad = new byte[n];
        long begin = System.nanoTime();
        try (StreamDataset dataset = newDataset()) {
            RecordCursor cursor = new RecordCursor(dataset);
            StreamRecord record;
            while ((record = cursor.next()) != null) {
                int row = cursor.index();
                if (!decodeRow(record, filled.features, row * featureCount, filled.labels, row * outcomes)) {
                    bad[row] = 1;
                }
            }
            cursor.checkComplete();
        }
        for (DataSplit split : DataSplit.values()) {
            int[] rows = new int[n];
            int count = 0;
            for (int i = 0; i < n; i++) {
                if (splitOf[i] == split.ordinal() && bad[i] == 0) {
                    rows[count++] = i;
                }
            }
            filled.rows.put(split, java.util.Arrays.copyOf(rows, count));
        }
        log.info(
                "[{}] Read and decoded {} records into memory in {} ms; later epochs read no Kafka",
                name,
                n,
                (System.nanoTime() - begin) / 1_000_000);
        return filled;
    }

    Cache cache() {
        return cache;
    }

    StreamDataset newDataset() {
        StreamDataset dataset = StreamDataset.builder(clientConfig)
                .slices(message.slices())
                .endTimeout(endTimeout)
                .clientSupplier(clients)
                .build();
        datasets.add(dataset);
        return dataset;
    }

    void release(StreamDataset dataset) {
        datasets.remove(dataset);
        dataset.close();
    }

    byte splitOf(int index) {
        return splitOf[index];
    }

    private final float[] labelScratch;

    /**
     * Decodes a record's features and labels (one-hot or checked class indices when configured) into the given
     * arrays.
     *
     * @return false if the record is bad and the policy is SKIP
     * @throws RecordDecodeException located at the record, if the record is bad and the policy is FAIL
     */
    boolean decodeRow(StreamRecord record, float[] features, int featureOffset, float[] labels, int labelOffset) {
        try {
            decoder.decodeFeatures(record.key(), record.value(), features, featureOffset);
            if (oneHotClasses > 0 || indexClasses > 0) {
                int classes = Math.max(oneHotClasses, indexClasses);
                decoder.decodeLabels(record.key(), record.value(), labelScratch, 0);
                if (oneHotClasses > 0) {
                    java.util.Arrays.fill(labels, labelOffset, labelOffset + outcomes, 0f);
                }
                for (int k = 0; k < labelScratch.length; k++) {
                    float label = labelScratch[k];
                    int index = (int) label;
                    if (index != label || index < 0 || index >= classes) {
                        throw new RecordDecodeException("label " + label + " is not a class index in [0, " + classes
                                + ") (the model has " + classes + " outputs)");
                    }
                    if (indexClasses > 0) {
                        labels[labelOffset + k] = index;
                    } else {
                        labels[labelOffset + k * oneHotClasses + index] = 1f;
                    }
                }
            } else if (outcomes > 0) {
                decoder.decodeLabels(record.key(), record.value(), labels, labelOffset);
            }
            return true;
        } catch (RecordDecodeException e) {
            RecordDecodeException located = e.at(record.topic(), record.partition(), record.offset());
            if (badRecordPolicy == BadRecordPolicy.FAIL) {
                throw located;
            }
            skipped++;
            if (badRecordHandler != null) {
                badRecordHandler.accept(record, located);
            }
            if (skipped <= LOGGED_BAD_RECORDS) {
                log.warn("[{}] Skipping a bad record ({} so far): {}", name, skipped, located.getMessage());
            } else if (skipped == LOGGED_BAD_RECORDS + 1) {
                log.warn("[{}] More bad records are being skipped; only their count is reported from now on", name);
            }
            return false;
        }
    }

    /**
     * Walks a pass of a dataset, numbering records and checking their count against the stream's size.
     */
    final class RecordCursor {
        private final io.kafkaml.stream.StreamPass pass;
        private int index = -1;

        RecordCursor(StreamDataset dataset) {
            this.pass = dataset.newPass();
        }

        /** The next record, or {@code null} at the end of the pass. */
        StreamRecord next() {
            if (!pass.hasNext()) {
                return null;
            }
            StreamRecord record = pass.next();
            index++;
            if (index >= recordCount) {
                throw countMismatch("more than " + recordCount);
            }
            return record;
        }

        /** The number of the record last returned, from 0. */
        int index() {
            return index;
        }

        /** Fails if the pass ended before the stream's size. */
        void checkComplete() {
            if (index + 1 != recordCount) {
                throw countMismatch(String.valueOf(index + 1));
            }
        }

        private DataStreamException countMismatch(String found) {
            return new DataStreamException(
                    "The slices " + io.kafkaml.stream.StreamSlice.formatList(message.slices())
                            + " of " + name + " hold " + found + " records, but the control message says total_msg = "
                            + message.totalMessages()
                            + (strictRecordCount
                                    ? "; records are missing or foreign records were "
                                            + "written into the slices (set strictRecordCount(false) to train on what the slices hold)"
                                    : ""),
                    null);
        }
    }

    /** The decoded stream, held in memory: rows in stream order and, per split, the rows that belong to it. */
    static final class Cache {
        final float[] features;
        final float[] labels;
        final Map<DataSplit, int[]> rows = new EnumMap<>(DataSplit.class);

        Cache(int n, int featureCount, int outcomes) {
            this.features = new float[n * featureCount];
            this.labels = new float[n * outcomes];
        }
    }

    /** Builds {@link StreamDataSets}; every setting has a default. */
    public static final class Builder {
        private final Map<String, ?> clientConfig;
        private final ControlMessage message;
        private RecordFormat format;
        private int batchSize = 32;
        private boolean shuffle;
        private long seed = 42;
        private int shuffleBufferRows = 10_000;
        private SplitOrder splitOrder = SplitOrder.SHUFFLED;
        private int oneHotClasses;
        private int indexClasses;
        private long cacheBudgetBytes = 256L * 1024 * 1024;
        private BadRecordPolicy badRecordPolicy = BadRecordPolicy.FAIL;
        private java.util.function.BiConsumer<StreamRecord, RecordDecodeException> badRecordHandler;
        private boolean strictRecordCount = true;
        private Duration endTimeout = Duration.ofSeconds(60);
        private io.kafkaml.model.InputLayout inputLayout;
        private KafkaClientSupplier clients = KafkaClientSupplier.DEFAULT;

        private Builder(Map<String, ?> clientConfig, ControlMessage message) {
            this.clientConfig = Map.copyOf(Objects.requireNonNull(clientConfig, "clientConfig"));
            this.message = Objects.requireNonNull(message, "message");
        }

        /** Rows per batch; default 32. */
        public Builder batchSize(int batchSize) {
            if (batchSize < 1) {
                throw new IllegalArgumentException("batchSize must be >= 1, was " + batchSize);
            }
            this.batchSize = batchSize;
            return this;
        }

        /** Whether to shuffle the rows of each epoch (seeded, so reproducible); default false. */
        public Builder shuffle(boolean shuffle) {
            this.shuffle = shuffle;
            return this;
        }

        /** The seed of the split assignment and of shuffling; default 42. */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Rows in the shuffle buffer when streaming (not cached); default 10,000. */
        public Builder shuffleBufferRows(int rows) {
            if (rows < 1) {
                throw new IllegalArgumentException("shuffleBufferRows must be >= 1, was " + rows);
            }
            this.shuffleBufferRows = rows;
            return this;
        }

        /** How records are assigned to splits; default {@link SplitOrder#SHUFFLED}. */
        public Builder splitOrder(SplitOrder order) {
            this.splitOrder = Objects.requireNonNull(order, "order");
            return this;
        }

        /**
         * Turns class-index labels into one-hot rows of {@code classes} (for a softmax output with an MCXENT or NLL
         * loss): a scalar label becomes {@code classes} values; k labels per record (one per time step) become
         * k × {@code classes}, step after step. Replaces {@link #classIndexLabels(int)}.
         */
        public Builder oneHotLabels(int classes) {
            if (classes < 2) {
                throw new IllegalArgumentException("oneHotLabels needs at least 2 classes, was " + classes);
            }
            this.oneHotClasses = classes;
            this.indexClasses = 0;
            return this;
        }

        /**
         * Keeps class-index labels as indices, {@code [batch, 1]} for a scalar label ({@code [batch, k]} for k per
         * record), checking that each is an integer in {@code [0, classes)} (for a loss that takes indices, DL4J's
         * {@code SPARSE_MCXENT}). Replaces
         * {@link #oneHotLabels(int)}.
         */
        public Builder classIndexLabels(int classes) {
            if (classes < 2) {
                throw new IllegalArgumentException("classIndexLabels needs at least 2 classes, was " + classes);
            }
            this.indexClasses = classes;
            this.oneHotClasses = 0;
            return this;
        }

        /**
         * The most memory the decoded stream may take to be held for later epochs (every copy counted: heap rows,
         * split indexes, the normalizer's off-heap copy, the batches built once for every epoch), at most half the
         * JVM's maximum heap; 0 disables; default 256 MiB.
         */
        public Builder cacheBudgetBytes(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("cacheBudgetBytes must be >= 0, was " + bytes);
            }
            this.cacheBudgetBytes = bytes;
            return this;
        }

        /**
         * Called on the reading thread with each bad record left out under {@link BadRecordPolicy#SKIP} and the error
         * that names it, each time a pass meets it (once when the stream is cached; once per pass otherwise: the
         * caller keeps what it needs by topic, partition and offset); default none.
         */
        public Builder badRecordHandler(java.util.function.BiConsumer<StreamRecord, RecordDecodeException> handler) {
            this.badRecordHandler = handler;
            return this;
        }

        /** What to do with a record that cannot be decoded; default {@link BadRecordPolicy#FAIL}. */
        public Builder badRecordPolicy(BadRecordPolicy policy) {
            this.badRecordPolicy = Objects.requireNonNull(policy, "policy");
            return this;
        }

        /**
         * Whether the slices must hold exactly {@code total_msg} records (default true). When false, the records
         * are counted first and a difference is logged.
         */
        public Builder strictRecordCount(boolean strict) {
            this.strictRecordCount = strict;
            return this;
        }

        /** How long a read waits for records of a slice beyond the log end; default 60 s. */
        public Builder endTimeout(Duration timeout) {
            this.endTimeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        /**
         * Lays every batch out for a model that takes {@code layout} (usually
         * {@code model.summary().inputLayout()}): images {@code [batch, c, h, w]} or {@code [batch, h, w, c]},
         * sequences {@code [batch, f, t]} or {@code [batch, t, f]}, and per-step labels for a per-step output, as
         * {@link io.kafkaml.model.InputLayout.Binding} does in kafkaml's own training and serving. Default: flat
         * {@code [batch, featureCount]} rows. {@link StreamDataSets#normalize} still applies to the flat rows,
         * before the layout; fit a normalizer on the iterators of a {@code StreamDataSets} built without a layout.
         *
         * @throws io.kafkaml.model.InputShapeException from {@link #build()} if the stream's records do not fit
         */
        public Builder inputLayout(io.kafkaml.model.InputLayout layout) {
            this.inputLayout = Objects.requireNonNull(layout, "layout");
            return this;
        }

        /**
         * Where the consumers that read the stream come from; default {@link KafkaClientSupplier#DEFAULT}.
         * Tests pass a supplier of a {@code MockConsumer}.
         */
        public Builder clientSupplier(KafkaClientSupplier clients) {
            this.clients = Objects.requireNonNull(clients, "clients");
            return this;
        }

        /** The format to decode with, instead of the one the message's {@code input_format} names. */
        public Builder format(RecordFormat format) {
            this.format = Objects.requireNonNull(format, "format");
            return this;
        }

        /**
         * Creates the object; nothing is read yet.
         *
         * @throws io.kafkaml.format.UnknownFormatException if the message's format is not on the class path
         * @throws io.kafkaml.format.InvalidFormatConfigException if its {@code input_config} is bad
         */
        public StreamDataSets build() {
            return new StreamDataSets(this);
        }
    }
}
