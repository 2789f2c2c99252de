package io.kafkaml;

import io.kafkaml.registry.EpochMetrics;
import java.util.Objects;

/**
 * One epoch of one model of a training deployment, as {@link Training#progress()} publishes it while the model
 * trains. The registry's metrics topic holds the same record ({@link Results#epochs(String)}). Immutable.
 *
 * @param deploymentId the training deployment
 * @param model the model's name
 * @param metrics the epoch's number (from 1), training loss, validation metrics and duration
 * @param totalEpochs the epochs the model trains at most (early stopping may end it sooner)
 */
public record TrainingProgress(String deploymentId, String model, EpochMetrics metrics, int totalEpochs) {

    /** Checks that no field is missing. */
    public TrainingProgress {
        Objects.requireNonNull(deploymentId, "deploymentId");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(metrics, "metrics");
    }

    /** The result id of this model in this deployment ({@code deploymentId.model}), as in the registry. */
    public String resultId() {
        return deploymentId + "." + model;
    }
}
