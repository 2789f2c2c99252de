package io.kafkaml.registry;

import java.util.Map;

/**
 * One epoch of training, as it is published while the model trains; for an incremental (windowed) run, one window.
 *
 * <p>Thread safety: immutable (a record; its collections are copied or unmodifiable) and thread-safe. Lifecycle: a
 * value, no resources.
 *
 * @param epoch the epoch number, from 1
 * @param loss the training loss (the score DL4J reports at the end of the epoch)
 * @param validation validation metrics by name ({@code accuracy}, {@code f1}, {@code mse}, ...), empty without
 *     a validation split
 * @param millis the epoch's duration
 * @param records for a window of an incremental run, the valid records of the window (trained on or held out;
 *     never the bad ones); for a semi-supervised round, the labelled and pseudo-labelled records it trained on; else 0
 * @param prequential for a window of an incremental run, the metrics of the model as it was before the window, on
 *     all the window's records (prequential, test-then-train evaluation); empty otherwise
 * @param badRecords for a window of an incremental run, the records left out as bad (they cannot be decoded, or
 *     their label is not a class index) since the previous window's record, windows with no valid record included:
 *     skipped, and written to the run's dead-letter topic when it has one ({@link
 *     io.kafkaml.training.IncrementalSpec#deadLetterTopic()}); else 0
 */
public record EpochMetrics(
        int epoch,
        double loss,
        Map<String, Double> validation,
        long millis,
        long records,
        Map<String, Double> prequential,
        long badRecords) {

    /** Copies the metrics. */
    public EpochMetrics {
        validation = validation == null ? Map.of() : Map.copyOf(validation);
        prequential = prequential == null ? Map.of() : Map.copyOf(prequential);
        if (records < 0) {
            throw new IllegalArgumentException("records must be >= 0, was " + records);
        }
        if (badRecords < 0) {
            throw new IllegalArgumentException("badRecords must be >= 0, was " + badRecords);
        }
    }

    /** One epoch or window without bad records (the form of earlier versions). */
    public EpochMetrics(
            int epoch,
            double loss,
            Map<String, Double> validation,
            long millis,
            long records,
            Map<String, Double> prequential) {
        this(epoch, loss, validation, millis, records, prequential, 0);
    }

    /** One epoch of a bounded run. */
    public EpochMetrics(int epoch, double loss, Map<String, Double> validation, long millis) {
        this(epoch, loss, validation, millis, 0, Map.of(), 0);
    }
}
