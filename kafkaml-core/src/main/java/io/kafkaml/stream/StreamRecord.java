package io.kafkaml.stream;

/**
 * One record of a data stream, as a {@link StreamPass} returns it: where it comes from, and its key and
 * value bytes ({@code null} when absent; a record without a key carries no label).
 *
 * <p>The arrays are those the Kafka consumer produced; they are not copied, so do not modify them.
 *
 * <p>Thread safety: the key and value arrays are the consumer's, not copied (this is the read path): the record may be
 * handed between threads, but nobody may modify the arrays. Lifecycle: a value, no resources.
 *
 * @param topic the record's topic
 * @param partition the record's partition
 * @param offset the record's offset
 * @param timestamp the record's timestamp in epoch milliseconds
 * @param key the key bytes, or {@code null}
 * @param value the value bytes, or {@code null}
 */
public record StreamRecord(String topic, int partition, long offset, long timestamp, byte[] key, byte[] value) {

    /** {@code topic-partition@offset}, for error messages. */
    public String location() {
        return topic + "-" + partition + "@" + offset;
    }

    @Override
    public String toString() {
        return "StreamRecord{" + location() + ", key " + (key == null ? "null" : key.length + " bytes") + ", value "
                + (value == null ? "null" : value.length + " bytes") + "}";
    }
}
