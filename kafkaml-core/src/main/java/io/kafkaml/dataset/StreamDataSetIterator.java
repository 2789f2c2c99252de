package io.kafkaml.dataset;

import io.kafkaml.internals.NdArrays;
import io.kafkaml.stream.StreamDataset;
import io.kafkaml.stream.StreamRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Random;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.DataSetPreProcessor;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.dataset.api.preprocessor.DataNormalization;

/**
 * A DL4J {@link DataSetIterator} over one split of a data stream, made by {@link StreamDataSets}.
 *
 * <p>Each {@link #next(int)} decodes (or, when the stream is cached, copies) rows straight into two float
 * arrays reused from batch to batch and creates one features and one labels {@link INDArray} from them: no
 * object per record (cached unshuffled batches: see <em>Shared batches</em>). {@link #reset()} starts a new epoch: from memory when cached, otherwise by seeking the
 * stream back; {@link #resetSupported()} is true. With shuffling on, every epoch has its own seeded order, so
 * a training run can be repeated exactly.
 *
 * <p><b>Shared batches.</b> When the split is cached, not shuffled, read in the iterator's own batch size and no
 * {@link #setPreProcessor pre-processor} is set, {@link #next()} returns the same {@link DataSet} objects every
 * epoch, shared by every iterator of the split (built once; their off-heap copy is counted in the cache budget), as
 * DL4J's {@code ExistingDataSetIterator} does: treat them as read-only (a {@code DataSet} changed in place, e.g. by
 * {@code normalizer.transform(batch)}, changes the cached rows for every later epoch). Set a pre-processor on the
 * iterator instead: with one, each batch is a fresh copy.
 *
 * <p>Not thread-safe; {@link #asyncSupported()} is false, so DL4J does not read it from a second thread.
 */
public final class StreamDataSetIterator implements DataSetIterator {
    private static final long serialVersionUID = 1L;

    private final transient StreamDataSets owner;
    private final DataSplit split;
    private transient DataSetPreProcessor preProcessor;
    private transient boolean started;
    private transient int epoch;
    private transient float[] batchFeatures = new float[0];
    private transient float[] batchLabels = new float[0];
    private transient int pendingRows;
    /** The index of the next batch in {@link StreamDataSets#batches}, or MAX_VALUE when this epoch does not track it. */
    private transient int batchIndex;

    private transient int prebuiltVersion;
    private transient Random random;

    // served from the cache
    private transient int[] order;
    private transient int position;

    // streamed from Kafka
    private transient StreamDataset dataset;
    private transient StreamDataSets.RecordCursor cursor;
    private transient boolean exhausted;
    private transient float[] bufferFeatures;
    private transient float[] bufferLabels;
    private transient int buffered;

    StreamDataSetIterator(StreamDataSets owner, DataSplit split) {
        this.owner = owner;
        this.split = split;
    }

    /** The split this iterator reads. */
    public DataSplit split() {
        return split;
    }

    /** The number of epochs started: 1 after the first row is read, +1 per {@link #reset()}. */
    public int epoch() {
        return epoch;
    }

    @Override
    public boolean hasNext() {
        ensureStarted();
        if (pendingRows > 0) {
            return true;
        }
        ensureCapacity(1);
        if (nextRowInto(0)) {
            pendingRows = 1;
            return true;
        }
        return false;
    }

    @Override
    public DataSet next() {
        return next(owner.batchSize);
    }

    @Override
    public DataSet next(int num) {
        if (num < 1) {
            throw new IllegalArgumentException("num must be >= 1, was " + num);
        }
        if (!hasNext()) {
            throw new NoSuchElementException("The " + split + " split has no more rows in this epoch");
        }
        StreamDataSets.Cache cache = owner.cache();
        boolean reusable = cache != null && !owner.shuffle && num == owner.batchSize && preProcessor == null;
        if (prebuiltVersion != owner.cacheVersion()) {
            prebuiltVersion = owner.cacheVersion(); // the rows changed (normalized): the owner dropped its batches
            batchIndex = Integer.MAX_VALUE;
        }
        if (!reusable) {
            batchIndex = Integer.MAX_VALUE; // another size or order this epoch: rows and batches no longer line up
        }
        List<DataSet> prebuilt = reusable ? owner.batches(split) : null;
        if (reusable && batchIndex < prebuilt.size()) {
            // Cached and not shuffled: every epoch has the same batches, built once (as DataSet.batchBy would) and
            // shared by the split's iterators; their off-heap copy is counted in the cache budget.
            DataSet batch = prebuilt.get(batchIndex++);
            position += batch.numExamples() - (pendingRows > 0 ? 1 : 0);
            pendingRows = 0;
            return batch;
        }
        ensureCapacity(num);
        int rows = pendingRows;
        while (rows < num && nextRowInto(rows)) {
            rows++;
        }
        pendingRows = 0;
        int featureCount = owner.featureCount;
        int outcomes = owner.outcomes;
        INDArray features = NdArrays.fromFloats(batchFeatures, rows, featureCount);
        INDArray labels = outcomes == 0 ? null : NdArrays.fromFloats(batchLabels, rows, outcomes);
        DataSet dataSet = new DataSet(features, labels);
        DataNormalization normalizer = owner.batchNormalizer();
        if (normalizer != null) {
            normalizer.preProcess(dataSet);
        }
        if (owner.binding != null) {
            // after the normalizer, which works on flat rows; the same layout code as training and serving
            dataSet = new DataSet(
                    owner.binding.features(dataSet.getFeatures()), owner.binding.labels(dataSet.getLabels()));
        }
        if (preProcessor != null) {
            preProcessor.preProcess(dataSet);
        }
        if (reusable && batchIndex == prebuilt.size()) {
            prebuilt.add(dataSet);
            batchIndex++;
        }
        return dataSet;
    }

    /** Grows the batch arrays to {@code rows}, keeping their rows: {@link #hasNext()} may have read one already. */
    private void ensureCapacity(int rows) {
        if (batchFeatures.length < rows * owner.featureCount || batchLabels.length < rows * owner.outcomes) {
            int capacity = Math.max(rows, owner.batchSize);
            batchFeatures = java.util.Arrays.copyOf(batchFeatures, capacity * owner.featureCount);
            batchLabels = java.util.Arrays.copyOf(batchLabels, capacity * owner.outcomes);
        }
    }

    private void ensureStarted() {
        owner.checkOpen();
        if (!started) {
            started = true;
            owner.prepare();
            startEpoch();
        }
    }

    private void startEpoch() {
        epoch++;
        pendingRows = 0;
        batchIndex = 0;
        random = new Random(owner.seed * 1_000_003L + epoch * 31L + split.ordinal());
        StreamDataSets.Cache cache = owner.cache();
        if (cache != null) {
            int[] rows = cache.rows.get(split);
            order = owner.shuffle ? permutation(rows) : rows;
            position = 0;
            return;
        }
        if (dataset == null) {
            dataset = owner.newDataset();
        }
        cursor = owner.new RecordCursor(dataset);
        exhausted = false;
        buffered = 0;
        if (owner.shuffle && bufferFeatures == null) {
            bufferFeatures = new float[owner.shuffleBufferRows * owner.featureCount];
            bufferLabels = new float[owner.shuffleBufferRows * owner.outcomes];
        }
    }

    private int[] permutation(int[] rows) {
        int[] shuffled = rows.clone();
        for (int i = shuffled.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int swap = shuffled[i];
            shuffled[i] = shuffled[j];
            shuffled[j] = swap;
        }
        return shuffled;
    }

    /** Writes the next row of this split into batch row {@code slot}; false at the end of the epoch. */
    private boolean nextRowInto(int slot) {
        int featureCount = owner.featureCount;
        int outcomes = owner.outcomes;
        StreamDataSets.Cache cache = owner.cache();
        if (cache != null) {
            if (position >= order.length) {
                return false;
            }
            int row = order[position++];
            System.arraycopy(cache.features, row * featureCount, batchFeatures, slot * featureCount, featureCount);
            System.arraycopy(cache.labels, row * outcomes, batchLabels, slot * outcomes, outcomes);
            return true;
        }
        if (!owner.shuffle) {
            return readRow(batchFeatures, slot * featureCount, batchLabels, slot * outcomes);
        }
        while (buffered < owner.shuffleBufferRows
                && readRow(bufferFeatures, buffered * featureCount, bufferLabels, buffered * outcomes)) {
            buffered++;
        }
        if (buffered == 0) {
            return false;
        }
        int chosen = random.nextInt(buffered);
        System.arraycopy(bufferFeatures, chosen * featureCount, batchFeatures, slot * featureCount, featureCount);
        System.arraycopy(bufferLabels, chosen * outcomes, batchLabels, slot * outcomes, outcomes);
        buffered--;
        System.arraycopy(bufferFeatures, buffered * featureCount, bufferFeatures, chosen * featureCount, featureCount);
        System.arraycopy(bufferLabels, buffered * outcomes, bufferLabels, chosen * outcomes, outcomes);
        return true;
    }

    /** Reads the stream up to the next good record of this split and decodes it; false at the end. */
    private boolean readRow(float[] features, int featureOffset, float[] labels, int labelOffset) {
        if (exhausted) {
            return false;
        }
        StreamRecord record;
        while ((record = cursor.next()) != null) {
            if (owner.splitOf(cursor.index()) == split.ordinal()
                    && owner.decodeRow(record, features, featureOffset, labels, labelOffset)) {
                return true;
            }
        }
        cursor.checkComplete();
        exhausted = true;
        return false;
    }

    @Override
    public int inputColumns() {
        return owner.featureCount;
    }

    @Override
    public int totalOutcomes() {
        return owner.outcomes;
    }

    @Override
    public boolean resetSupported() {
        return true;
    }

    @Override
    public boolean asyncSupported() {
        return false;
    }

    /** Starts the next epoch from the first row of the split. */
    @Override
    public void reset() {
        owner.checkOpen();
        if (!started) {
            ensureStarted();
            return;
        }
        startEpoch();
    }

    @Override
    public int batch() {
        return owner.batchSize;
    }

    @Override
    public void setPreProcessor(DataSetPreProcessor preProcessor) {
        this.preProcessor = preProcessor;
    }

    @Override
    public DataSetPreProcessor getPreProcessor() {
        return preProcessor;
    }

    /** The class names {@code "0"}, {@code "1"}, ... with one-hot or class-index labels; otherwise {@code null}. */
    @Override
    public List<String> getLabels() {
        int classes = Math.max(owner.oneHotClasses, owner.indexClasses);
        if (classes == 0) {
            return null;
        }
        List<String> labels = new ArrayList<>(classes);
        for (int i = 0; i < classes; i++) {
            labels.add(String.valueOf(i));
        }
        return labels;
    }
}
