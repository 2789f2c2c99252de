package io.kafkaml.format;

import io.kafkaml.common.KafkaMlException;

/**
 * Thrown when a record's bytes do not hold what its format and configuration say. Carries the reason and,
 * once known, where the record is: topic, partition and offset.
 *
 * <p>Thread safety: thrown by one decoding thread; {@link #at} returns a new exception rather than changing this one.
 * Lifecycle: describes one failure, not reused.
 */
public class RecordDecodeException extends KafkaMlException {
    private static final long serialVersionUID = 1L;

    private final String reason;
    private final String topic;
    private final int partition;
    private final long offset;

    /** A decode error whose location is not known yet. */
    public RecordDecodeException(String reason) {
        this(reason, null, -1, -1, null);
    }

    /** A decode error whose location is not known yet, caused by {@code cause}. */
    public RecordDecodeException(String reason, Throwable cause) {
        this(reason, null, -1, -1, cause);
    }

    private RecordDecodeException(String reason, String topic, int partition, long offset, Throwable cause) {
        super(
                topic == null
                        ? reason
                        : "Cannot decode record " + topic + "-" + partition + "@" + offset + ": " + reason,
                cause);
        this.reason = reason;
        this.topic = topic;
        this.partition = partition;
        this.offset = offset;
    }

    /** The same error, located at a record. */
    public RecordDecodeException at(String recordTopic, int recordPartition, long recordOffset) {
        RecordDecodeException located =
                new RecordDecodeException(reason, recordTopic, recordPartition, recordOffset, getCause());
        located.setStackTrace(getStackTrace());
        return located;
    }

    /** What is wrong with the record, without its location. */
    public String reason() {
        return reason;
    }

    /** The record's topic, or {@code null} if not located. */
    public String topic() {
        return topic;
    }

    /** The record's partition, or -1 if not located. */
    public int partition() {
        return partition;
    }

    /** The record's offset, or -1 if not located. */
    public long offset() {
        return offset;
    }
}
