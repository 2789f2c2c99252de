package io.kafkaml.training;

import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.EpochMetrics;
import io.kafkaml.registry.TrainingResult;

/**
 * Follows training in-process. Methods are called on the trainer's thread: keep them short. Every default
 * does nothing.
 */
public interface TrainingListener {

    /** A deployment changed status. */
    default void onDeploymentStatus(String deploymentId, DeploymentStatus status, String error) {
    }

    /** A model finished an epoch. */
    default void onEpoch(String deploymentId, String model, EpochMetrics metrics, int totalEpochs) {
    }

    /** A model's training ended (finished, failed or cancelled). */
    default void onResult(TrainingResult result) {
    }
}
