package io.kafkaml.registry;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * A training deployment of a configuration (the paper's step C) as the registry records it.
 *
 * @param id the deployment id, which the data stream's control message names
 * @param configuration the configuration deployed
 * @param status where it stands
 * @param error the reason it failed, or {@code null}
 * @param settings the training settings it was deployed with
 * @param createdAt when it was created
 * @param updatedAt when it last changed
 * @param controlMessage the control message of the stream it trained on (JSON), once it arrived; inference
 *     takes the input format from it
 */
public record Deployment(String id, String configuration, DeploymentStatus status, String error,
        Map<String, Object> settings, Instant createdAt, Instant updatedAt, String controlMessage) {

    /** Validates the fields. */
    public Deployment {
        io.kafkaml.model.ModelDefinition.checkName(id, "deployment");
        Objects.requireNonNull(configuration, "configuration");
        Objects.requireNonNull(status, "status");
        settings = settings == null ? Map.of() : Map.copyOf(settings);
    }

    /** The same deployment in another status. */
    public Deployment withStatus(DeploymentStatus newStatus, String newError) {
        return new Deployment(id, configuration, newStatus, newError, settings, createdAt, Instant.now(), controlMessage);
    }

    /** The same deployment with the control message of its stream. */
    public Deployment withControlMessage(String json) {
        return new Deployment(id, configuration, status, error, settings, createdAt, Instant.now(), json);
    }
}
