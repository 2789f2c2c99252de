package io.kafkaml.dataset;

/** What to do with a record that cannot be decoded. */
public enum BadRecordPolicy {
    /** Stop with a {@link io.kafkaml.format.RecordDecodeException} naming the record (default): never train on partial data. */
    FAIL,
    /** Leave the record out, log it with its location, and count it ({@link StreamDataSets#skippedRecords()}). */
    SKIP
}
