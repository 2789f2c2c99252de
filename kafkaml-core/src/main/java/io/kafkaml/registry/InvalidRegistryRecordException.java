package io.kafkaml.registry;

import java.util.Objects;

/**
 * A registry record that cannot be read as the entity its topic holds: not JSON, JSON of another shape, or values
 * the entity refuses (a name that is not valid, a missing required field). Anyone who may write to a registry topic
 * can put such a record there; the registry never returns part of it.
 *
 * <p>Reading that exact key ({@link Registry#model(String)}, {@link Registry#result(String)}, ...) throws it; a
 * listing ({@link Registry#models()}, {@link Registry#results()}, ...) leaves the record out and logs a warning with
 * the same message, so one bad record never hides the others. As Kafka's {@code RecordDeserializationException}, it
 * carries where the record is.
 *
 * <p>Thread safety: immutable once thrown (its fields are final); an instance describes one failure and is not reused.
 */
public class InvalidRegistryRecordException extends RegistryException {
    private static final long serialVersionUID = 1L;

    private final String topic;
    private final int partition;
    private final long offset;
    private final String key;

    /**
     * @param topic the registry topic
     * @param partition its partition (registry topics have one: 0)
     * @param offset the record's offset, or -1 when unknown
     * @param key the record's key
     * @param entity what the topic holds, e.g. {@code ModelDefinition}
     * @param reason why the record is not one, in words
     * @param cause the parser's or validator's exception, or {@code null}
     */
    public InvalidRegistryRecordException(
            String topic, int partition, long offset, String key, String entity, String reason, Throwable cause) {
        super(
                "Registry record '" + key + "' at " + topic + "-" + partition + (offset >= 0 ? "@" + offset : "")
                        + " is not a valid " + entity + ": " + reason,
                cause);
        this.topic = Objects.requireNonNull(topic, "topic");
        this.partition = partition;
        this.offset = offset;
        this.key = key;
    }

    /** The registry topic of the record. */
    public String topic() {
        return topic;
    }

    /** The partition of the record. */
    public int partition() {
        return partition;
    }

    /** The offset of the record, or -1 when unknown. */
    public long offset() {
        return offset;
    }

    /** The key of the record. */
    public String key() {
        return key;
    }
}
