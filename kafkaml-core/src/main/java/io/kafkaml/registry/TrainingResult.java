package io.kafkaml.registry;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What training one model of a deployment produced (the paper's step E): a bounded summary, updated while it trains.
 * The history of every epoch is not here: it is one record per epoch in the registry's metrics topic
 * ({@link Registry#epochs(String)}), so a result's size does not grow with the length of a run.
 *
 * <p>One owner: the runner (or worker) training the model writes its result; a launcher that cancels, or a watcher
 * that sees the worker's pod die, may end it for the worker. Its {@link #status()} moves only along
 * {@link DeploymentStatus#isValidTransition}; the deployment's status is derived from its results
 * ({@link Deployment#derivedFrom}).
 *
 * <p>Thread safety: immutable and thread-safe (a record; its lists and maps are copied), except that {@link
 * #confusionMatrix()} is the array it was built with, not a copy: do not modify it. Lifecycle: a value, no resources.
 *
 * @param id the result id, {@code deploymentId.model}
 * @param deploymentId the deployment
 * @param model the model's name
 * @param status where the training of this model stands
 * @param epochs deprecated: empty in results the runtime writes (the history is in the metrics topic, read it with
 *     {@link Registry#epochs(String)}); results written by earlier versions still carry it
 * @param testMetrics the test metrics, once trained (empty without a test split)
 * @param confusionMatrix the test confusion matrix of a classifier ({@code [actual][predicted]}), or {@code null}
 * @param trainingMillis the training time so far, in milliseconds
 * @param artifact the id of the trained model's artifact, once stored
 * @param normalizerArtifact the id of the fitted feature normalizer's artifact, when training normalized features
 * @param error the reason training failed or was cancelled, or {@code null}
 * @param updatedAt when it last changed
 * @param epochCount how many epochs have finished
 * @param lastEpoch the metrics of the last finished epoch, or {@code null} before the first
 * @param bestEpoch the metrics of the best epoch so far by the watched metric (the early-stopping metric when one is
 *     set, otherwise the validation loss, otherwise the training loss), or {@code null} before the first
 * @param metricsStart where the current run's first epoch record is in the metrics topic (JSON
 *     {@code metricsStart: {partition, offset}}), so that {@link Registry#epochs(String)} reads only from there;
 *     {@code null} before the first epoch is acknowledged and in results written before 0.2 (then the whole topic is
 *     read)
 * @param metricsEnd where the run's last epoch record is in the metrics topic (JSON {@code metricsEnd}); set only by
 *     the runner itself on its terminal record, once every epoch of the run is acknowledged there, so that
 *     {@link Registry#epochs(String)} stops there; {@code null} otherwise, also for a result ended by another party
 *     ({@link #ended}: a cancelled or OOM-killed worker may have appended epochs after its last summary), whose
 *     history is then read to the partition's end
 */
public record TrainingResult(
        String id,
        String deploymentId,
        String model,
        DeploymentStatus status,
        List<EpochMetrics> epochs,
        Map<String, Double> testMetrics,
        long[][] confusionMatrix,
        long trainingMillis,
        String artifact,
        String normalizerArtifact,
        String error,
        Instant updatedAt,
        int epochCount,
        EpochMetrics lastEpoch,
        EpochMetrics bestEpoch,
        MetricsPosition metricsStart,
        MetricsPosition metricsEnd) {

    /** Validates and copies the fields. */
    public TrainingResult {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(deploymentId, "deploymentId");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(status, "status");
        epochs = epochs == null ? List.of() : List.copyOf(epochs);
        testMetrics = testMetrics == null ? Map.of() : Map.copyOf(testMetrics);
        if (epochCount < 0) {
            throw new IllegalArgumentException("epochCount must be >= 0, was " + epochCount);
        }
        if (epochCount == 0 && !epochs.isEmpty()) { // a record of an earlier version: summarize its history
            epochCount = epochs.size();
            lastEpoch = lastEpoch != null ? lastEpoch : epochs.get(epochs.size() - 1);
        }
    }

    /** A result with the start of its run in the metrics topic but no end recorded by its runner. */
    public TrainingResult(
            String id,
            String deploymentId,
            String model,
            DeploymentStatus status,
            List<EpochMetrics> epochs,
            Map<String, Double> testMetrics,
            long[][] confusionMatrix,
            long trainingMillis,
            String artifact,
            String normalizerArtifact,
            String error,
            Instant updatedAt,
            int epochCount,
            EpochMetrics lastEpoch,
            EpochMetrics bestEpoch,
            MetricsPosition metricsStart) {
        this(
                id,
                deploymentId,
                model,
                status,
                epochs,
                testMetrics,
                confusionMatrix,
                trainingMillis,
                artifact,
                normalizerArtifact,
                error,
                updatedAt,
                epochCount,
                lastEpoch,
                bestEpoch,
                metricsStart,
                null);
    }

    /** A result with its summary but no position in the metrics topic (its history is then searched in all of it). */
    public TrainingResult(
            String id,
            String deploymentId,
            String model,
            DeploymentStatus status,
            List<EpochMetrics> epochs,
            Map<String, Double> testMetrics,
            long[][] confusionMatrix,
            long trainingMillis,
            String artifact,
            String normalizerArtifact,
            String error,
            Instant updatedAt,
            int epochCount,
            EpochMetrics lastEpoch,
            EpochMetrics bestEpoch) {
        this(
                id,
                deploymentId,
                model,
                status,
                epochs,
                testMetrics,
                confusionMatrix,
                trainingMillis,
                artifact,
                normalizerArtifact,
                error,
                updatedAt,
                epochCount,
                lastEpoch,
                bestEpoch,
                null);
    }

    /** A result in the form earlier versions wrote, with its epochs inline; its summary is taken from them. */
    public TrainingResult(
            String id,
            String deploymentId,
            String model,
            DeploymentStatus status,
            List<EpochMetrics> epochs,
            Map<String, Double> testMetrics,
            long[][] confusionMatrix,
            long trainingMillis,
            String artifact,
            String normalizerArtifact,
            String error,
            Instant updatedAt) {
        this(
                id,
                deploymentId,
                model,
                status,
                epochs,
                testMetrics,
                confusionMatrix,
                trainingMillis,
                artifact,
                normalizerArtifact,
                error,
                updatedAt,
                0,
                null,
                null,
                null);
    }

    /**
     * The per-epoch metrics that results of earlier versions carried inline.
     *
     * @deprecated empty in results the runtime writes: read the history with {@link Registry#epochs(String)}, the
     *     summary with {@link #epochCount()}, {@link #lastEpoch()} and {@link #bestEpoch()}
     */
    @Deprecated
    @Override
    public List<EpochMetrics> epochs() {
        return epochs;
    }

    /** A new result of {@code model} in {@code deploymentId} in {@code status}, with nothing trained yet. */
    public static TrainingResult of(String deploymentId, String model, DeploymentStatus status, String error) {
        return new TrainingResult(
                idOf(deploymentId, model),
                deploymentId,
                model,
                status,
                List.of(),
                Map.of(),
                null,
                0,
                null,
                null,
                error,
                Instant.now(),
                0,
                null,
                null,
                null);
    }

    /**
     * The same result ended in {@code terminal} with {@code reason} by another party than its runner, its summary kept
     * (its {@link #metricsEnd} is cleared: the runner may have written epochs after the summary this was made from).
     */
    public TrainingResult ended(DeploymentStatus terminal, String reason) {
        if (!terminal.isTerminal()) {
            throw new IllegalArgumentException(terminal + " is not a terminal status");
        }
        return new TrainingResult(
                id,
                deploymentId,
                model,
                terminal,
                List.of(),
                testMetrics,
                confusionMatrix,
                trainingMillis,
                artifact,
                normalizerArtifact,
                reason,
                Instant.now(),
                epochCount,
                lastEpoch,
                bestEpoch,
                metricsStart,
                null);
    }

    /** The id of the result of {@code model} in {@code deploymentId}. */
    public static String idOf(String deploymentId, String model) {
        return deploymentId + "." + model;
    }
}
