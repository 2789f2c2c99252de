package io.kafkaml.sink;

import io.kafkaml.common.KafkaMlException;

/**
 * Thrown when a data sink could not deliver its records or its control message. After it, the sink sends no
 * control message: a deployment never trains on data that did not all arrive.
 *
 * <p>Thread safety: immutable once thrown (its fields are final); an instance describes one failure and is not reused.
 */
public class DataSinkException extends KafkaMlException {
    private static final long serialVersionUID = 1L;

    public DataSinkException(String message) {
        super(message);
    }

    public DataSinkException(String message, Throwable cause) {
        super(message, cause);
    }
}
