package io.kafkaml.stream;

/**
 * Thrown when a slice starts below its partition's log start offset: the topic's retention policy has
 * deleted some of its records. The slice is never read partially: the exception is thrown before the first
 * record of a pass, or, if retention strikes during a pass, instead of the next record.
 *
 * <p>Thread safety: immutable once thrown (its fields are final); an instance describes one failure and is not reused.
 */
public class DataStreamExpiredException extends DataStreamException {
    private static final long serialVersionUID = 1L;

    private final long logStartOffset;

    public DataStreamExpiredException(StreamSlice slice, long logStartOffset) {
        super(
                "Data stream slice " + slice + " has expired: partition " + slice.topicPartition()
                        + " now starts at offset " + logStartOffset + ", so records " + slice.startOffset() + ".."
                        + (logStartOffset - 1) + " were deleted by the topic's retention policy",
                slice);
        this.logStartOffset = logStartOffset;
    }

    /** The partition's log start offset when the expiry was seen. */
    public long logStartOffset() {
        return logStartOffset;
    }
}
