package io.kafkaml.training;

import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.EpochMetrics;
import io.kafkaml.registry.TrainingResult;

/**
 * Follows training in-process. Methods are called on the trainer's thread: keep them short. Every default
 * does nothing. A method that throws is logged as a warning and changes nothing: the training goes on.
 *
 * <p>Thread safety: with several deployments (or training threads) an implementation is called from several threads
 * at once and must be thread-safe. Lifecycle: called from when it is registered until the deployment's last event
 * (a terminal status).
 */
public interface TrainingListener {

    /**
     * The deployment's status, derived from its results ({@link io.kafkaml.registry.Deployment#derivedFrom}), changed
     * as this runner sees it after writing one of its models' results. With one runner per model (Kubernetes Jobs) a
     * runner may end before its deployment does.
     */
    default void onDeploymentStatus(String deploymentId, DeploymentStatus status, String error) {}

    /** A model finished an epoch: every epoch, in order (the registry's metrics topic gets the same record). */
    default void onEpoch(String deploymentId, String model, EpochMetrics metrics, int totalEpochs) {}

    /**
     * A batch of the training split was read from the stream (or the runner's cache) and fitted by every active model
     * of the deployment: {@code records} examples in it. Called once per batch, so keep it very short.
     */
    default void onBatch(String deploymentId, int epoch, int records) {}

    /** A model's training ended (finished, failed or cancelled). */
    default void onResult(TrainingResult result) {}
}
