package io.kafkaml.internals;

import java.time.Duration;

/** A point in time computed once from a timeout; durations too long to add saturate. Not public API. */
public final class Deadline {
    private final long deadlineNanos;

    private Deadline(long deadlineNanos) {
        this.deadlineNanos = deadlineNanos;
    }

    /** A deadline {@code timeout} from now; a timeout beyond about 292 years means never. */
    public static Deadline after(Duration timeout) {
        long now = System.nanoTime();
        long nanos;
        try {
            nanos = timeout.toNanos();
        } catch (ArithmeticException e) {
            nanos = Long.MAX_VALUE;
        }
        long deadline = now + nanos;
        if (nanos > 0 && deadline < now) {
            deadline = Long.MAX_VALUE;
        }
        return new Deadline(deadline);
    }

    /** The time left, never negative. */
    public Duration remaining() {
        long left = deadlineNanos - System.nanoTime();
        return left <= 0 ? Duration.ZERO : Duration.ofNanos(left);
    }

    /** The time left, at most {@code cap}. */
    public Duration remainingAtMost(Duration cap) {
        Duration left = remaining();
        return left.compareTo(cap) < 0 ? left : cap;
    }

    /** Whether the deadline has passed. */
    public boolean expired() {
        return deadlineNanos - System.nanoTime() <= 0;
    }
}
