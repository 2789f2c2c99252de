package io.kafkaml.dataset;

/**
 * The parts a data stream is split into by its control message's rates.
 *
 * <p>Thread safety: immutable, as every enum; safe to share between threads. Lifecycle: constants, no resources.
 */
public enum DataSplit {
    /** What the model is fitted on: the records not held out. */
    TRAIN,
    /** Held out at {@code validation_rate}, evaluated during training. */
    VALIDATION,
    /** Held out at {@code test_rate}, evaluated once at the end. */
    TEST
}
