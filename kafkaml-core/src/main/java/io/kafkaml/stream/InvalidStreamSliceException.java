package io.kafkaml.stream;

import io.kafkaml.common.KafkaMlException;

/**
 * Thrown when the text of a stream slice, or of a list of them, is malformed. The message quotes it.
 *
 * <p>Thread safety: immutable once thrown (its fields are final); an instance describes one failure and is not reused.
 */
public class InvalidStreamSliceException extends KafkaMlException {
    private static final long serialVersionUID = 1L;

    private final String text;

    public InvalidStreamSliceException(String message, String text) {
        super(message);
        this.text = text;
    }

    /** The text that could not be parsed. */
    public String text() {
        return text;
    }
}
