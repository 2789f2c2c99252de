package io.kafkaml.dataset;

import java.util.Arrays;

/**
 * Kafka-ML's split of a bounded stream, reproduced exactly: {@code split_dataset} in Kafka-ML's
 * {@code model_training/tensorflow/mainTraining.py} (lines 227-264 at commit 5b4dc79), which works on the
 * {@code tf.data} dataset of the stream's records in slice order:
 *
 * <pre>
 * training_size   = int((1 - (validation_rate + test_rate)) * total_msg)
 * validation_size = int(validation_rate * total_msg)
 * test_size       = int(test_rate * total_msg)
 * train = dataset.take(training_size);  rest = dataset.skip(training_size)
 * both sizes &gt; 0:        test = rest.take(test_size); validation = rest.skip(test_size)
 * only validation_size &gt; 0: validation = rest          (no test)
 * only test_size &gt; 0:       test = rest                (no validation)
 * neither:                 no validation, no test (the rest, if any, is not used)
 * </pre>
 *
 * <p>{@code int()} truncates, and the arithmetic is IEEE 754 double as in Python, evaluated in the same order,
 * so the sizes are bit-for-bit Kafka-ML's (239 records at 0.1/0.1: 191 train, 23 test, 25 validation — the
 * validation split takes everything after the test split, not {@code validation_size}). Records past the end of
 * the stream simply do not exist: a split is shorter, as {@code take} on a short dataset is.
 */
final class KafkaMlSplit {

    /** The marker for a record Kafka-ML's split leaves unused. */
    static final byte UNUSED = (byte) DataSplit.values().length;

    private KafkaMlSplit() {}

    /**
     * The split of each record.
     *
     * @param records how many records the slices hold
     * @param totalMsg the control message's {@code total_msg}, which Kafka-ML's sizes are computed from
     * @return per record, a {@link DataSplit} ordinal or {@link #UNUSED}
     */
    static byte[] assign(int records, long totalMsg, double validationRate, double testRate) {
        int training = (int) Math.min(records, (long) ((1 - (validationRate + testRate)) * totalMsg));
        long validationSize = (long) (validationRate * totalMsg);
        long testSize = (long) (testRate * totalMsg);
        byte[] splits = new byte[records];
        Arrays.fill(splits, 0, training, (byte) DataSplit.TRAIN.ordinal());
        if (validationSize > 0 && testSize > 0) {
            int testEnd = (int) Math.min(records, training + testSize);
            Arrays.fill(splits, training, testEnd, (byte) DataSplit.TEST.ordinal());
            Arrays.fill(splits, testEnd, records, (byte) DataSplit.VALIDATION.ordinal());
        } else if (validationSize > 0) {
            Arrays.fill(splits, training, records, (byte) DataSplit.VALIDATION.ordinal());
        } else if (testSize > 0) {
            Arrays.fill(splits, training, records, (byte) DataSplit.TEST.ordinal());
        } else {
            Arrays.fill(splits, training, records, UNUSED);
        }
        return splits;
    }
}
