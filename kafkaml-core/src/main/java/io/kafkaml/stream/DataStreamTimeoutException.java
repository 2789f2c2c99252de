package io.kafkaml.stream;

import java.time.Duration;

/**
 * Thrown when a slice ends beyond what its partition holds and the missing records did not arrive within
 * the dataset's end timeout.
 *
 * <p>Thread safety: immutable once thrown (its fields are final); an instance describes one failure and is not reused.
 */
public class DataStreamTimeoutException extends DataStreamException {
    private static final long serialVersionUID = 1L;

    private final long position;
    private final long logEndOffset;

    public DataStreamTimeoutException(StreamSlice slice, long position, long logEndOffset, Duration timeout) {
        super(
                "Data stream slice " + slice + " is incomplete: read up to offset " + position + ", partition "
                        + slice.topicPartition() + " ends at offset " + logEndOffset
                        + (logEndOffset >= slice.endOffset()
                                ? " (its records are not yet readable: an open transaction holds them back)"
                                : ", and no record arrived for " + timeout.toMillis() + " ms"),
                slice);
        this.position = position;
        this.logEndOffset = logEndOffset;
    }

    /** The offset of the next record the reader expected. */
    public long position() {
        return position;
    }

    /** The partition's end offset when the reader gave up. */
    public long logEndOffset() {
        return logEndOffset;
    }
}
