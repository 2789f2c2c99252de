package io.kafkaml.dataset;

/**
 * How records are assigned to {@link DataSplit}s. Both are deterministic.
 *
 * <p>Thread safety: immutable, as every enum; safe to share between threads. Lifecycle: constants, no resources.
 */
public enum SplitOrder {
    /**
     * A seeded random assignment (default): validation and test get {@code round(N × rate)} records each, from
     * anywhere in the stream, and train the rest.
     */
    SHUFFLED,
    /**
     * Kafka-ML's split, sizes and order exactly as its trainer computes them ({@code split_dataset} in
     * {@code model_training/tensorflow/mainTraining.py}): the first {@code int((1 - (v + t)) × total_msg)}
     * records of the stream train, the next {@code int(t × total_msg)} test, and every record after them
     * validates (when both rates are non-zero; with one rate, all records after training go to that split). On
     * the HCOPD example (239 records, 0.1/0.1) that is 191 / 23 test / 25 validation, where {@link #SHUFFLED}
     * gives 191 / 24 / 24.
     */
    KAFKA_ML
}
