package io.kafkaml.format;

/**
 * Decodes records of one format and configuration into rows of floats, written straight into arrays the
 * caller preallocates for a whole batch (no object per record).
 *
 * <pre>{@code
 * RecordDecoder decoder = RecordFormats.forName("RAW").newDecoder(message.inputConfig());
 * float[] features = new float[batch * decoder.featureCount()];
 * decoder.decodeFeatures(record.key(), record.value(), features, row * decoder.featureCount());
 * }</pre>
 *
 * <p>Errors are {@link RecordDecodeException}s that say what is wrong with the bytes; callers add where the
 * record is ({@link RecordDecodeException#at(String, int, long)}). Not thread-safe: use one decoder per thread.
 */
public interface RecordDecoder {

    /** The number of floats a record's features flatten to. */
    int featureCount();

    /** The shape of one record's features, as declared (for example {@code [28, 28]}); {@code []} for a scalar. */
    long[] featureShape();

    /** The number of floats a record's label flattens to; 0 when the configuration declares no label. */
    int labelCount();

    /** The shape of one record's label; {@code []} for a scalar. */
    long[] labelShape();

    /**
     * Decodes the features of a record into {@code features[offset .. offset + featureCount())}.
     *
     * @throws RecordDecodeException if the record does not hold features of this format and configuration
     */
    void decodeFeatures(byte[] key, byte[] value, float[] features, int offset);

    /**
     * Decodes the label of a record into {@code labels[offset .. offset + labelCount())}.
     *
     * @throws RecordDecodeException if the record holds no label, or one of the wrong form
     */
    void decodeLabels(byte[] key, byte[] value, float[] labels, int offset);
}
