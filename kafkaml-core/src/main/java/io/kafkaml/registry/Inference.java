package io.kafkaml.registry;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * An inference deployment (the paper's step F) as the registry records it, so that any process can see what
 * serves which model where.
 *
 * @param id the inference deployment's id
 * @param resultId the training result whose model it serves
 * @param inputTopic where inputs are read
 * @param outputTopic where predictions are written
 * @param replicas how many replicas it runs
 * @param status {@code RUNNING}, {@code STOPPED} or {@code FAILED}
 * @param error why it failed; while RUNNING, the last replica failure that was restarted; else {@code null}
 * @param settings the rest of its settings
 * @param createdAt when it was created
 * @param updatedAt when it last changed
 * @param restarts how many times a failed replica was replaced (0 in records written before 0.2)
 */
public record Inference(String id, String resultId, String inputTopic, String outputTopic, int replicas, String status,
        String error, Map<String, Object> settings, Instant createdAt, Instant updatedAt, int restarts) {

    /** Validates the fields. */
    public Inference {
        io.kafkaml.model.ModelDefinition.checkName(id, "inference");
        Objects.requireNonNull(resultId, "resultId");
        settings = settings == null ? Map.of() : Map.copyOf(settings);
    }

    /** A new inference deployment, with no restarts yet. */
    public Inference(String id, String resultId, String inputTopic, String outputTopic, int replicas, String status,
            String error, Map<String, Object> settings, Instant createdAt, Instant updatedAt) {
        this(id, resultId, inputTopic, outputTopic, replicas, status, error, settings, createdAt, updatedAt, 0);
    }

    /** The same inference deployment with another status and replica count. */
    public Inference with(String newStatus, int newReplicas, String newError) {
        return new Inference(id, resultId, inputTopic, outputTopic, newReplicas, newStatus, newError, settings, createdAt,
                Instant.now(), restarts);
    }

    /** The same inference deployment after another replica restart, {@code reason} being why it failed. */
    public Inference restarted(int totalRestarts, String reason) {
        return new Inference(id, resultId, inputTopic, outputTopic, replicas, status, reason, settings, createdAt,
                Instant.now(), totalRestarts);
    }
}
