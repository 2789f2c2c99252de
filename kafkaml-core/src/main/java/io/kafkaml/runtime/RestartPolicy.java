package io.kafkaml.runtime;

import io.kafkaml.config.KafkaMlConfig;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * How often a {@link Supervisor} restarts a failing runner: after the {@code n}-th failure it waits
 * {@code min(initialBackoff * 2^(n-1), maxBackoff)} and starts a new runner, unless more than {@code maxRestarts}
 * failures fall within the sliding {@code window}; then it gives up and the unit is FAILED. The scheme is that of
 * Erlang/OTP supervisors (intensity and period) with the exponential backoff of Kafka's own clients
 * ({@code retry.backoff.ms}, {@code retry.backoff.max.ms}).
 *
 * <p>The settings can be given with the other client settings (a {@code --config} file, or
 * {@code KAFKAML_CLIENT_KAFKAML_RESTART_MAX} and so on in a container) under the keys below; {@link #fromConfig}
 * reads them, naming the key and the value in its error.
 *
 * <pre>{@code
 * RestartPolicy policy = RestartPolicy.DEFAULT.withMaxRestarts(3).withBackoff(Duration.ofMillis(200), Duration.ofSeconds(5));
 * }</pre>
 *
 * <p>Thread safety: immutable (a record of immutable values) and thread-safe. Lifecycle: a value, no resources.
 *
 * @param maxRestarts the most restarts within {@code window}; 0 means a failure is final at once
 * @param window the sliding window in which restarts are counted
 * @param initialBackoff the wait before the first restart
 * @param maxBackoff the longest wait before a restart
 */
public record RestartPolicy(int maxRestarts, Duration window, Duration initialBackoff, Duration maxBackoff) {

    /** {@value}: the most restarts within the window (int, default 5, at least 0). */
    public static final String MAX_RESTARTS_CONFIG = KafkaMlConfig.RESTART_MAX_CONFIG;
    /** {@value}: the window in which restarts are counted, in milliseconds (long, default 600000 = 10 min). */
    public static final String WINDOW_MS_CONFIG = KafkaMlConfig.RESTART_WINDOW_MS_CONFIG;
    /** {@value}: the wait before the first restart, in milliseconds (long, default 1000). */
    public static final String BACKOFF_MS_CONFIG = KafkaMlConfig.RESTART_BACKOFF_MS_CONFIG;
    /** {@value}: the longest wait before a restart, in milliseconds (long, default 30000). */
    public static final String BACKOFF_MAX_MS_CONFIG = KafkaMlConfig.RESTART_BACKOFF_MAX_MS_CONFIG;

    /** 5 restarts in 10 minutes, backoff from 1 s doubling to 30 s. */
    public static final RestartPolicy DEFAULT =
            new RestartPolicy(5, Duration.ofMinutes(10), Duration.ofSeconds(1), Duration.ofSeconds(30));

    /** Validates the fields. */
    public RestartPolicy {
        if (maxRestarts < 0) {
            throw new IllegalArgumentException("maxRestarts must be >= 0, was " + maxRestarts);
        }
        requirePositive(window, "window");
        requirePositive(initialBackoff, "initialBackoff");
        requirePositive(maxBackoff, "maxBackoff");
        if (maxBackoff.compareTo(initialBackoff) < 0) {
            throw new IllegalArgumentException(
                    "maxBackoff (" + maxBackoff + ") must not be below initialBackoff (" + initialBackoff + ")");
        }
    }

    private static void requirePositive(Duration duration, String name) {
        Objects.requireNonNull(duration, name);
        if (duration.isNegative()) {
            throw new IllegalArgumentException(name + " must not be negative, was " + duration);
        }
    }

    /** This policy with another restart budget. */
    public RestartPolicy withMaxRestarts(int restarts) {
        return new RestartPolicy(restarts, window, initialBackoff, maxBackoff);
    }

    /** This policy with another window. */
    public RestartPolicy withWindow(Duration newWindow) {
        return new RestartPolicy(maxRestarts, newWindow, initialBackoff, maxBackoff);
    }

    /** This policy with other backoffs. */
    public RestartPolicy withBackoff(Duration initial, Duration max) {
        return new RestartPolicy(maxRestarts, window, initial, max);
    }

    /** The wait before the {@code restart}-th restart (1-based). */
    public Duration backoff(int restart) {
        return new io.kafkaml.internals.Backoff(initialBackoff, maxBackoff, 0).delay(restart);
    }

    /**
     * The policy the settings give (parsed and validated by {@link KafkaMlConfig}, whose defaults are those of
     * {@link #DEFAULT}).
     *
     * @throws org.apache.kafka.common.config.ConfigException naming the key and the value when one is invalid
     */
    public static RestartPolicy fromConfig(Map<String, ?> config) {
        KafkaMlConfig settings = new KafkaMlConfig(config);
        return new RestartPolicy(
                settings.getInt(MAX_RESTARTS_CONFIG),
                Duration.ofMillis(settings.getLong(WINDOW_MS_CONFIG)),
                Duration.ofMillis(settings.getLong(BACKOFF_MS_CONFIG)),
                Duration.ofMillis(settings.getLong(BACKOFF_MAX_MS_CONFIG)));
    }
}
