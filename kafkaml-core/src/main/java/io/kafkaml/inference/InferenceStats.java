package io.kafkaml.inference;

import io.kafkaml.inference.internals.InferenceCounters;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of an inference deployment, shared by its replicas: records in and out, dead-lettered inputs,
 * batches, and the processing time of every batch (poll returned to offsets committed) in one HdrHistogram.
 * A read-only view: the deployment's replicas update the counters behind it.
 *
 * <p>Thread safety: thread-safe; every method may be called from any thread while the replicas run. Lifecycle:
 * created with its deployment ({@link LocalInference#stats()}) and valid for as long as the caller holds it; the
 * counts stop changing once the deployment is closed.
 */
public final class InferenceStats {

    private final InferenceCounters counters;
    private final LongAdder recordsIn;
    private final LongAdder recordsOut;
    private final LongAdder deadLettered;
    private final LongAdder dropped;
    private final LongAdder batches;
    private final LongAdder commits;
    private final LongAdder decodeNanos;
    private final LongAdder predictNanos;
    private final LongAdder sendNanos;
    private final LongAdder commitNanos;

    /** Counters that stay at zero (nothing writes them); a deployment's come from {@link LocalInference#stats()}. */
    public InferenceStats() {
        this(new InferenceCounters());
    }

    InferenceStats(InferenceCounters counters) {
        this.counters = counters;
        this.recordsIn = counters.recordsIn;
        this.recordsOut = counters.recordsOut;
        this.deadLettered = counters.deadLettered;
        this.dropped = counters.dropped;
        this.batches = counters.batches;
        this.commits = counters.commits;
        this.decodeNanos = counters.decodeNanos;
        this.predictNanos = counters.predictNanos;
        this.sendNanos = counters.sendNanos;
        this.commitNanos = counters.commitNanos;
    }

    /** Inputs consumed and handled (predicted or dead-lettered). */
    public long recordsIn() {
        return recordsIn.sum();
    }

    /** Predictions written. */
    public long recordsOut() {
        return recordsOut.sum();
    }

    /**
     * Inputs that failed for a reason of their own (undecodable, a model error on that row, a prediction the producer
     * refused) whose dead-letter record was written (acknowledged, or committed with its transaction).
     */
    public long deadLettered() {
        return deadLettered.sum();
    }

    /**
     * Inputs that failed for a reason of their own and were dropped (logged, not written anywhere) because no
     * dead-letter topic is set and the {@link InferenceExceptionHandler} said CONTINUE. At least once, counted when
     * the input is dropped, before its offset is committed (a replica that dies before the commit drops it again
     * after the restart, so the count may exceed the distinct inputs dropped); exactly once, counted when the
     * transaction that skips it commits.
     */
    public long dropped() {
        return dropped.sum();
    }

    /** Batches committed. */
    public long batches() {
        return batches.sum();
    }

    /**
     * Offset commits: at least once, commits sent (each covers the batches acknowledged since the last); exactly once,
     * transactions committed (each covers the polls of {@code kafkaml.inference.commit.interval.ms} at most).
     */
    public long commits() {
        return commits.sum();
    }

    /**
     * Where batch time went, in microseconds per input: decoding, the forward pass, encoding and sending the
     * predictions, and waiting for acknowledgements and the offset commit (or the transaction).
     */
    public Map<String, Double> microsPerRecord() {
        double records = Math.max(1, recordsIn());
        Map<String, Double> stages = new LinkedHashMap<>();
        stages.put("decode", decodeNanos.sum() / 1e3 / records);
        stages.put("predict", predictNanos.sum() / 1e3 / records);
        stages.put("send", sendNanos.sum() / 1e3 / records);
        stages.put("commit", commitNanos.sum() / 1e3 / records);
        return stages;
    }

    /**
     * A percentile of the processing time of every batch since the deployment started, in milliseconds (HdrHistogram,
     * three significant digits); NaN before the first.
     *
     * @param percentile in [0, 100]
     */
    public double batchLatencyMillis(double percentile) {
        return counters.latencies.percentileMillis(percentile);
    }

    /**
     * The processing time of every batch since the deployment started, summed, in nanoseconds: with
     * {@link #batches()}, the total of a Micrometer {@code FunctionTimer} ({@code io.kafkaml.metrics.InferenceMetrics}).
     */
    public long batchTimeTotalNanos() {
        return counters.latencies.totalNanos();
    }

    /** One line: the counters, then the batch time percentiles, or "no batches" before the first. */
    @Override
    public String toString() {
        String counts = "in " + recordsIn() + ", out " + recordsOut() + ", dead-lettered " + deadLettered()
                + ", dropped " + dropped() + ", batches " + batches();
        double p50 = batchLatencyMillis(50);
        if (Double.isNaN(p50)) {
            return counts + ", no batches";
        }
        return counts + ", batch p50 " + String.format(java.util.Locale.ROOT, "%.2f", p50) + " ms, p99 "
                + String.format(java.util.Locale.ROOT, "%.2f", batchLatencyMillis(99)) + " ms";
    }
}
