package io.kafkaml.inference;

import io.kafkaml.common.KafkaMlException;

/**
 * Thrown when an inference deployment cannot start or a replica cannot deliver its predictions.
 *
 * <p>Thread safety: immutable once thrown (its fields are final); an instance describes one failure and is not reused.
 */
public class InferenceException extends KafkaMlException {
    private static final long serialVersionUID = 1L;

    public InferenceException(String message) {
        super(message);
    }

    public InferenceException(String message, Throwable cause) {
        super(message, cause);
    }
}
