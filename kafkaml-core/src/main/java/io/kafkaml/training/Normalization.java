package io.kafkaml.training;

/**
 * Feature normalization fitted on the training split only, stored with the model and applied at inference.
 *
 * <p>Thread safety: immutable, as every enum; safe to share between threads. Lifecycle: constants, no resources.
 */
public enum Normalization {
    /** Features as they are. */
    NONE,
    /** Zero mean, unit variance per feature. */
    STANDARDIZE,
    /** Scaled to [0, 1] per feature. */
    MIN_MAX
}
