package io.kafkaml.internals;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The one exponential backoff of kafkaml, for everything that waits before trying again: restarting a failed
 * runner ({@code RestartPolicy}), and the always-on control-topic readers (control logger, training's control
 * listener) after a failed read. The {@code n}-th wait (from 1) is {@code min(initial * 2^(n-1), max)}, times a
 * random factor in {@code [1 - jitter, 1 + jitter]} (capped at {@code max}) so that clients failing together do
 * not retry together: Kafka's own client backoff ({@code retry.backoff.ms}, {@code retry.backoff.max.ms}, jitter
 * 0.2, KIP-580). Not part of the public API.
 *
 * @param initial the first wait, 0 or more (0: no wait at all)
 * @param max the longest wait, at least {@code initial}
 * @param jitter the random share of each wait, in [0, 1); 0 for exact waits
 */
public record Backoff(Duration initial, Duration max, double jitter) {

    /** The jitter of Kafka's client backoff. */
    public static final double KAFKA_JITTER = 0.2;

    /** Validates. */
    public Backoff {
        Objects.requireNonNull(initial, "initial");
        Objects.requireNonNull(max, "max");
        if (initial.isNegative() || max.compareTo(initial) < 0) {
            throw new IllegalArgumentException("Backoff needs 0 <= initial <= max, was " + initial + " and " + max);
        }
        if (jitter < 0 || jitter >= 1) {
            throw new IllegalArgumentException("jitter must be in [0, 1), was " + jitter);
        }
    }

    /** The wait before the {@code attempt}-th retry (1-based; 0 or less counts as 1). */
    public Duration delay(int attempt) {
        Duration delay = initial;
        for (int i = 1; i < attempt && !delay.isZero() && delay.compareTo(max) < 0; i++) {
            delay = delay.multipliedBy(2);
        }
        if (delay.compareTo(max) > 0) {
            delay = max;
        }
        if (jitter > 0) {
            double factor = ThreadLocalRandom.current().nextDouble(1 - jitter, 1 + jitter);
            long nanos = (long) Math.min(delay.toNanos() * factor, (double) max.toNanos());
            delay = Duration.ofNanos(nanos);
        }
        return delay;
    }

    /**
     * Sleeps {@link #delay(int) delay(attempt)}.
     *
     * @return false if interrupted (the interrupt flag is set again), true otherwise
     */
    public boolean sleep(int attempt) {
        try {
            Thread.sleep(delay(attempt).toMillis());
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
