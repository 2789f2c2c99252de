package io.kafkaml.registry;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A training deployment of a configuration (the paper's step C) as the registry records it.
 *
 * <p>Its {@link #status()} and {@link #error()} are <b>derived</b> from its models' results by {@link #derivedFrom}
 * whenever the registry returns a deployment: no runner, worker or launcher writes a deployment's status, so two
 * workers of one deployment (one Kubernetes Job per model) cannot overwrite each other's outcome. The values stored
 * in the {@code deployments} topic are those of its creation.
 *
 * <p>Thread safety: immutable (a record; its collections are copied or unmodifiable) and thread-safe. Lifecycle: a
 * value, no resources.
 *
 * @param id the deployment id, which the data stream's control message names
 * @param configuration the configuration deployed
 * @param status where it stands, derived from its results
 * @param error why it failed or was cancelled ({@code model 'name': reason}, one per failed model, joined by
 *     {@code "; "}), or {@code null}
 * @param settings the training settings it was deployed with
 * @param createdAt when it was created
 * @param updatedAt when it or one of its results last changed
 * @param controlMessage the control message of the stream it trained on (JSON), once it arrived; inference
 *     takes the input format from it
 */
public record Deployment(
        String id,
        String configuration,
        DeploymentStatus status,
        String error,
        Map<String, Object> settings,
        Instant createdAt,
        Instant updatedAt,
        String controlMessage) {

    /** Validates the fields. */
    public Deployment {
        io.kafkaml.model.ModelDefinition.checkName(id, "deployment");
        Objects.requireNonNull(configuration, "configuration");
        Objects.requireNonNull(status, "status");
        settings = settings == null ? Map.of() : Map.copyOf(settings);
    }

    /**
     * The same deployment in another status.
     *
     * @deprecated a deployment's status is derived from its results ({@link #derivedFrom}); writing it has no effect
     */
    @Deprecated
    public Deployment withStatus(DeploymentStatus newStatus, String newError) {
        return new Deployment(
                id, configuration, newStatus, newError, settings, createdAt, Instant.now(), controlMessage);
    }

    /** The same deployment with the control message of its stream. */
    public Deployment withControlMessage(String json) {
        return new Deployment(id, configuration, status, error, settings, createdAt, Instant.now(), json);
    }

    /**
     * The one function that decides a deployment's status from its models' results.
     *
     * <ul>
     *   <li>While any model has no result or a result that is not terminal, the deployment is not terminal: TRAINING
     *       once any model has started (is TRAINING or has ended), otherwise WAITING_FOR_DATA.</li>
     *   <li>When every model's result is terminal: FAILED if any failed ({@link #error()} keeps each failed model's
     *       reason), otherwise CANCELLED if any was cancelled, otherwise FINISHED.</li>
     *   <li>With no results at all, the status recorded with the deployment (WAITING_FOR_DATA for a new one; records
     *       of earlier versions kept their own).</li>
     * </ul>
     *
     * @param models the models the deployment trains; when empty, the models that have results
     * @param results the deployment's results (others are ignored)
     */
    public Deployment derivedFrom(List<String> models, Collection<TrainingResult> results) {
        Map<String, TrainingResult> byModel = new LinkedHashMap<>();
        Instant updated = updatedAt;
        for (TrainingResult result : results) {
            if (result.deploymentId().equals(id)) {
                byModel.put(result.model(), result);
                if (result.updatedAt() != null
                        && (updated == null || result.updatedAt().isAfter(updated))) {
                    updated = result.updatedAt();
                }
            }
        }
        if (byModel.isEmpty()) {
            return this;
        }
        List<String> expected = models.isEmpty() ? List.copyOf(byModel.keySet()) : models;
        boolean allTerminal = true;
        boolean started = false;
        List<String> failures = new ArrayList<>();
        List<String> cancellations = new ArrayList<>();
        for (String model : expected) {
            TrainingResult result = byModel.get(model);
            if (result == null || !result.status().isTerminal()) {
                allTerminal = false;
            }
            if (result != null && result.status() != DeploymentStatus.WAITING_FOR_DATA) {
                started = true;
            }
            if (result != null && result.status() == DeploymentStatus.FAILED) {
                failures.add("model '" + model + "': " + (result.error() == null ? "failed" : result.error()));
            } else if (result != null && result.status() == DeploymentStatus.CANCELLED) {
                cancellations.add("model '" + model + "': " + (result.error() == null ? "cancelled" : result.error()));
            }
        }
        DeploymentStatus derived;
        String reason = null;
        if (!allTerminal) {
            derived = started ? DeploymentStatus.TRAINING : DeploymentStatus.WAITING_FOR_DATA;
        } else if (!failures.isEmpty()) {
            derived = DeploymentStatus.FAILED;
            reason = String.join("; ", failures);
        } else if (!cancellations.isEmpty()) {
            derived = DeploymentStatus.CANCELLED;
            reason = String.join("; ", cancellations);
        } else {
            derived = DeploymentStatus.FINISHED;
        }
        return new Deployment(id, configuration, derived, reason, settings, createdAt, updated, controlMessage);
    }
}
