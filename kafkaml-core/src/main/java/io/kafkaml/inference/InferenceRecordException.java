package io.kafkaml.inference;

/**
 * An input failed for a reason of its own and the {@link InferenceExceptionHandler} said FAIL (or its dead-letter
 * record could not be written either). Restarting cannot cure it — the input would fail again — so the deployment
 * is FAILED with this message, which names the input's topic, partition and offset and the cause.
 *
 * <p>Thread safety: immutable once thrown (its fields are final); an instance describes one failure and is not reused.
 */
public class InferenceRecordException extends InferenceException {
    private static final long serialVersionUID = 1L;

    private final String topic;
    private final int partition;
    private final long offset;

    public InferenceRecordException(String message, String topic, int partition, long offset, Throwable cause) {
        super(message, cause);
        this.topic = topic;
        this.partition = partition;
        this.offset = offset;
    }

    /** The input's topic. */
    public String topic() {
        return topic;
    }

    /** The input's partition. */
    public int partition() {
        return partition;
    }

    /** The input's offset. */
    public long offset() {
        return offset;
    }
}
