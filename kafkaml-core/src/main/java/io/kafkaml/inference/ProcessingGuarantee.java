package io.kafkaml.inference;

/**
 * What an inference replica promises about each input's prediction.
 *
 * <p>Thread safety: immutable, as every enum; safe to share between threads. Lifecycle: constants, no resources.
 */
public enum ProcessingGuarantee {
    /**
     * Every input gets a prediction; after a crash some may get two (default). Offsets are committed only after
     * the predictions of a batch are acknowledged.
     */
    AT_LEAST_ONCE,
    /**
     * Every input gets exactly one prediction for {@code read_committed} readers: each batch's predictions and
     * offsets are committed in one Kafka transaction.
     */
    EXACTLY_ONCE
}
