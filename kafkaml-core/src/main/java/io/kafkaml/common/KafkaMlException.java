package io.kafkaml.common;

/**
 * The root of every exception kafkaml throws on purpose. Subclasses carry the context of the failure (the
 * slice, the record's topic, partition and offset, the deployment id) in fields as well as in the message.
 *
 * <p>Thread safety: immutable once thrown (its fields are final); an instance describes one failure and is not reused.
 */
public class KafkaMlException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public KafkaMlException(String message) {
        super(message);
    }

    public KafkaMlException(String message, Throwable cause) {
        super(message, cause);
    }
}
