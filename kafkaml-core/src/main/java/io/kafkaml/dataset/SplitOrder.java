package io.kafkaml.dataset;

/** How records are assigned to {@link DataSplit}s. Both give exact counts and are deterministic. */
public enum SplitOrder {
    /**
     * A seeded random assignment: each split gets its share of records from anywhere in the stream (default).
     */
    SHUFFLED,
    /**
     * Kafka-ML's order: the first records of the stream are for training, the next for test, the last for
     * validation.
     */
    KAFKA_ML
}
