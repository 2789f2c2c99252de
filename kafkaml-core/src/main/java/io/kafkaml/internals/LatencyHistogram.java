package io.kafkaml.internals;

import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.SynchronizedHistogram;

/**
 * The one histogram behind every latency percentile kafkaml reports ({@code InferenceStats}, the CLI's quickstart,
 * the benchmarks): an HdrHistogram with three significant decimal digits (a reported value is within 0.1% of the
 * recorded one) that resizes itself to any range, and HdrHistogram's percentile (the smallest recorded value, at
 * that precision, at or below which {@code percentile}% of the values lie). Not part of the public API.
 *
 * <p>Thread-safe: any thread may record while another reads.
 */
public final class LatencyHistogram {

    private final SynchronizedHistogram histogram = new SynchronizedHistogram(3);
    private final LongAdder totalNanos = new LongAdder();

    /** Records one latency in nanoseconds (a negative one, from a clock step, as 0). */
    public void recordNanos(long nanos) {
        long value = Math.max(0, nanos);
        histogram.recordValue(value);
        totalNanos.add(value);
    }

    /** The sum of the recorded latencies, in nanoseconds, exact (not rounded to the histogram's precision). */
    public long totalNanos() {
        return totalNanos.sum();
    }

    /** Records one latency in milliseconds, kept to the nanosecond. */
    public void recordMillis(double millis) {
        recordNanos(Math.round(millis * 1e6));
    }

    /** The number of latencies recorded. */
    public long count() {
        return histogram.getTotalCount();
    }

    /**
     * A percentile of the recorded latencies, in milliseconds; NaN when none is recorded.
     *
     * @param percentile in [0, 100]
     */
    public double percentileMillis(double percentile) {
        if (percentile < 0 || percentile > 100) {
            throw new IllegalArgumentException("percentile must be in [0, 100], was " + percentile);
        }
        return histogram.getTotalCount() == 0 ? Double.NaN : histogram.getValueAtPercentile(percentile) / 1e6;
    }
}
