package io.kafkaml.registry;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What training one model of a deployment produced (the paper's step E), updated while it trains.
 *
 * @param id the result id, {@code deploymentId.model}
 * @param deploymentId the deployment
 * @param model the model's name
 * @param status where the training of this model stands
 * @param epochs the metrics of each finished epoch
 * @param testMetrics the test metrics, once trained (empty without a test split)
 * @param confusionMatrix the test confusion matrix of a classifier ({@code [actual][predicted]}), or {@code null}
 * @param trainingMillis the training time so far
 * @param artifact the id of the trained model's artifact, once stored
 * @param normalizerArtifact the id of the fitted feature normalizer's artifact, when training normalized features
 * @param error the reason training failed, or {@code null}
 * @param updatedAt when it last changed
 */
public record TrainingResult(String id, String deploymentId, String model, DeploymentStatus status,
        List<EpochMetrics> epochs, Map<String, Double> testMetrics, long[][] confusionMatrix, long trainingMillis,
        String artifact, String normalizerArtifact, String error, Instant updatedAt) {

    /** Validates and copies the fields. */
    public TrainingResult {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(deploymentId, "deploymentId");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(status, "status");
        epochs = epochs == null ? List.of() : List.copyOf(epochs);
        testMetrics = testMetrics == null ? Map.of() : Map.copyOf(testMetrics);
    }

    /** The id of the result of {@code model} in {@code deploymentId}. */
    public static String idOf(String deploymentId, String model) {
        return deploymentId + "." + model;
    }
}
