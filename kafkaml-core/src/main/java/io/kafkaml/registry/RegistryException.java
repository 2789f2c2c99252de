package io.kafkaml.registry;

import io.kafkaml.common.KafkaMlException;

/**
 * Thrown when the registry cannot read or write its topics, or holds a record it cannot read.
 *
 * <p>Thread safety: immutable once thrown (its fields are final); an instance describes one failure and is not reused.
 */
public class RegistryException extends KafkaMlException {
    private static final long serialVersionUID = 1L;

    public RegistryException(String message) {
        super(message);
    }

    public RegistryException(String message, Throwable cause) {
        super(message, cause);
    }
}
