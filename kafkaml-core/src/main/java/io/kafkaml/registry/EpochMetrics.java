package io.kafkaml.registry;

import java.util.Map;

/**
 * One epoch of training, as it is published while the model trains.
 *
 * @param epoch the epoch number, from 1
 * @param loss the training loss (the score DL4J reports at the end of the epoch)
 * @param validation validation metrics by name ({@code accuracy}, {@code f1}, {@code mse}, ...), empty without
 *     a validation split
 * @param millis the epoch's duration
 */
public record EpochMetrics(int epoch, double loss, Map<String, Double> validation, long millis) {

    /** Copies the metrics. */
    public EpochMetrics {
        validation = validation == null ? Map.of() : Map.copyOf(validation);
    }
}
