package io.kafkaml.format;

import io.kafkaml.common.KafkaMlException;

/**
 * Thrown when no {@link RecordFormat} on the class path has the requested name. The message lists those found.
 *
 * <p>Thread safety: immutable once thrown (its fields are final); an instance describes one failure and is not reused.
 */
public class UnknownFormatException extends KafkaMlException {
    private static final long serialVersionUID = 1L;

    public UnknownFormatException(String message) {
        super(message);
    }
}
