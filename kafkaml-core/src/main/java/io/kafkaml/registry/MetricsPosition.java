package io.kafkaml.registry;

/**
 * Where a record is in the registry's metrics topic: a partition and an offset in it. A {@link TrainingResult} keeps
 * the position of its current run's first epoch record ({@link TrainingResult#metricsStart()}), so that
 * {@link Registry#epochs(String)} reads that partition from there instead of the whole topic.
 *
 * <p>Thread safety: immutable (a record of immutable values) and thread-safe. Lifecycle: a value, no resources.
 *
 * @param partition the partition of the metrics topic, {@code >= 0}
 * @param offset the offset in it, {@code >= 0}
 */
public record MetricsPosition(int partition, long offset) {

    /** Validates the position. */
    public MetricsPosition {
        if (partition < 0 || offset < 0) {
            throw new IllegalArgumentException("Bad metrics position " + partition + "@" + offset);
        }
    }
}
