package io.kafkaml.inference.internals;

import io.kafkaml.internals.LatencyHistogram;
import java.util.concurrent.atomic.LongAdder;

/**
 * The mutable counters behind an {@code io.kafkaml.inference.InferenceStats}, written by the replicas of one
 * deployment and read through that public view. Thread-safe (adders and a concurrent histogram); lives as long as
 * its deployment.
 */
public final class InferenceCounters {
    /** Inputs consumed and handled. */
    public final LongAdder recordsIn = new LongAdder();
    /** Predictions written. */
    public final LongAdder recordsOut = new LongAdder();
    /** Dead-letter records written. */
    public final LongAdder deadLettered = new LongAdder();
    /** Failed inputs dropped (no dead-letter topic). */
    public final LongAdder dropped = new LongAdder();
    /** Batches committed. */
    public final LongAdder batches = new LongAdder();
    /** Offset commits: commits sent (at least once) or transactions committed (exactly once). */
    public final LongAdder commits = new LongAdder();
    /** Nanoseconds spent decoding. */
    public final LongAdder decodeNanos = new LongAdder();
    /** Nanoseconds spent in the forward pass. */
    public final LongAdder predictNanos = new LongAdder();
    /** Nanoseconds spent encoding and sending predictions. */
    public final LongAdder sendNanos = new LongAdder();
    /** Nanoseconds spent waiting for acknowledgements and the commit. */
    public final LongAdder commitNanos = new LongAdder();
    /** Every batch's processing time (poll returned to offsets committed). */
    public final LatencyHistogram latencies = new LatencyHistogram();

    /** Records one batch's processing time. */
    public void recordLatency(long nanos) {
        latencies.recordNanos(nanos);
    }
}
