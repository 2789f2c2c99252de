package io.kafkaml.stream;

import io.kafkaml.common.KafkaMlException;

/**
 * Thrown when the records of a data stream cannot be read as its slices describe: a missing topic or
 * partition, an expired slice, a slice whose records never arrive.
 *
 * <p>Thread safety: immutable once thrown (its fields are final); an instance describes one failure and is not reused.
 */
public class DataStreamException extends KafkaMlException {
    private static final long serialVersionUID = 1L;

    private final StreamSlice slice;

    public DataStreamException(String message, StreamSlice slice) {
        super(message);
        this.slice = slice;
    }

    public DataStreamException(String message, StreamSlice slice, Throwable cause) {
        super(message, cause);
        this.slice = slice;
    }

    /** The slice that could not be read, or {@code null} if the failure concerns no single slice. */
    public StreamSlice slice() {
        return slice;
    }
}
