package io.kafkaml.model;

import io.kafkaml.common.KafkaMlException;

/**
 * Thrown when a model definition cannot be built into a network; the message gives DL4J's reason.
 *
 * <p>Thread safety: immutable once thrown (its fields are final); an instance describes one failure and is not reused.
 */
public class InvalidModelException extends KafkaMlException {
    private static final long serialVersionUID = 1L;

    public InvalidModelException(String message) {
        super(message);
    }

    public InvalidModelException(String message, Throwable cause) {
        super(message, cause);
    }
}
