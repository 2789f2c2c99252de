package io.kafkaml.format;

/**
 * Writes numeric rows as the key and value of a record of one format, for data sinks. Not thread-safe.
 */
public interface RecordEncoder {

    /**
     * Encodes one record.
     *
     * @param features the feature row, flattened in the format's order
     * @param labels the label row, or {@code null} for a record without a label
     * @return the record's key (the label, or {@code null}) and value
     * @throws IllegalArgumentException if a row does not fit the configuration (length, range of the type)
     */
    EncodedRecord encode(double[] features, double[] labels);

    /**
     * A record's key and value bytes.
     *
     * @param key the key, {@code null} for none
     * @param value the value
     */
    record EncodedRecord(byte[] key, byte[] value) {}
}
