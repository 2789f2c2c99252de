package io.kafkaml.training;

import io.kafkaml.registry.DeploymentStatus;
import java.time.Duration;

/** A launched training deployment. Thread-safe. */
public interface TrainingHandle {

    /** The deployment id. */
    String deploymentId();

    /** Asks the runners to stop; they end at their next batch and report CANCELLED. */
    void cancel();

    /**
     * Waits until the deployment ends.
     *
     * @return its final status, or empty if it has not ended within {@code timeout}
     */
    java.util.Optional<DeploymentStatus> await(Duration timeout);
}
