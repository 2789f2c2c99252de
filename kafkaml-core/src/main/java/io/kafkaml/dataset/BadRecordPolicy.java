package io.kafkaml.dataset;

/**
 * What to do with a record that cannot be decoded.
 *
 * <p>Thread safety: immutable, as every enum; safe to share between threads. Lifecycle: constants, no resources.
 */
public enum BadRecordPolicy {
    /** Stop with a {@link io.kafkaml.format.RecordDecodeException} naming the record (default): never train on partial data. */
    FAIL,
    /** Leave the record out, log it with its location, and count it ({@link StreamDataSets#skippedRecords()}). */
    SKIP
}
