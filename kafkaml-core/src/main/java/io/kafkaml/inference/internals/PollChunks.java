package io.kafkaml.inference.internals;

/**
 * How an inference replica keeps within {@code max.poll.interval.ms}: a poll's records are processed in chunks; when
 * half the interval has passed since the poll, the rest is sought back and polled again
 * ({@link #overdue(long)}); a chunk that took more than a quarter of the interval halves the chunk size, and a full
 * chunk that took less than a sixteenth doubles it, up to the batch size (so a slow spell — a busy host, a GC — does
 * not leave the replica on small batches for good). The two thresholds are a factor 4 apart, so a doubled chunk
 * (at most an eighth) is not halved straight back.
 *
 * <p>Not thread-safe: the replica's thread only.
 */
final class PollChunks {

    private final int maxSize;
    private final long intervalNanos;
    private int size;

    /**
     * @param maxSize the largest chunk: the replica's batch size ({@code max.poll.records}), at least 1
     * @param intervalNanos the consumer's {@code max.poll.interval.ms}, in nanoseconds
     */
    PollChunks(int maxSize, long intervalNanos) {
        if (maxSize < 1 || intervalNanos <= 0) {
            throw new IllegalArgumentException(
                    "maxSize must be >= 1 and the interval > 0, were " + maxSize + " and " + intervalNanos + " ns");
        }
        this.maxSize = maxSize;
        this.intervalNanos = intervalNanos;
        this.size = maxSize;
    }

    /** The number of records to process in the next chunk. */
    int size() {
        return size;
    }

    /** Whether so much time has passed since the poll that the rest of its records must be polled again. */
    boolean overdue(long nanosSincePoll) {
        return nanosSincePoll > intervalNanos / 2;
    }

    /**
     * Adapts the chunk size to a chunk of {@code records} that took {@code nanos}.
     *
     * @return +1 if the size grew, -1 if it shrank, 0 if it is unchanged
     */
    int took(int records, long nanos) {
        if (nanos > intervalNanos / 4 && size > 1) {
            size = Math.max(1, size / 2);
            return -1;
        }
        if (nanos < intervalNanos / 16 && records >= size && size < maxSize) {
            size = (int) Math.min(maxSize, 2L * size);
            return 1;
        }
        return 0;
    }
}
