package io.kafkaml;

import io.kafkaml.registry.EntityNotFoundException;
import io.kafkaml.registry.EpochMetrics;
import io.kafkaml.registry.ModelVersion;
import io.kafkaml.registry.Promotion;
import io.kafkaml.registry.Registry;
import io.kafkaml.registry.RegistryException;
import io.kafkaml.registry.TrainingResult;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The training results of a {@link KafkaMl}'s registry (the paper's step E): per model of a deployment, its status,
 * test metrics, confusion matrix and trained model; the per-epoch history; the trained model as a file; the model's
 * versions, their promotion into serving and rollback.
 * Thread-safe; a view of the registry that {@link KafkaMl} owns, valid while it runs.
 */
public final class Results {

    private final Registry registry;

    Results(Registry registry) {
        this.registry = registry;
    }

    /** The result of that id ({@code deploymentId.model}). */
    public Optional<TrainingResult> get(String resultId) {
        return registry.result(resultId);
    }

    /** The results of one training deployment. */
    public List<TrainingResult> of(String deploymentId) {
        return registry.results(deploymentId);
    }

    /** All results. */
    public List<TrainingResult> list() {
        return registry.results();
    }

    /**
     * The full per-epoch history of a result (training loss, validation metrics, duration), in epoch order, read
     * from the registry's metrics topic as it is now.
     *
     * @throws RegistryException if the metrics topic cannot be read within the registry's timeout
     */
    public List<EpochMetrics> epochs(String resultId) {
        return registry.epochs(resultId);
    }

    /**
     * The trained model of a result as the bytes of DL4J's {@code ModelSerializer} format (the network only: a fitted
     * normalizer is a separate artifact, {@link TrainingResult#normalizerArtifact()}), checked against its SHA-256.
     *
     * @throws EntityNotFoundException if there is no such result
     * @throws RegistryException if the result has no trained model (yet, or it failed), naming its status
     * @throws io.kafkaml.registry.ArtifactCorruptedException if the stored model is incomplete or damaged
     */
    public byte[] model(String resultId) {
        TrainingResult result =
                registry.result(resultId).orElseThrow(() -> new EntityNotFoundException("result", resultId));
        if (result.artifact() == null) {
            throw new RegistryException(
                    "Result '" + resultId + "' has no trained model (status " + result.status() + ")");
        }
        return registry.loadArtifact(result.artifact());
    }

    /**
     * Writes the trained model of a result to a file that DL4J's {@code ModelSerializer.restoreMultiLayerNetwork}
     * (or {@code restoreComputationGraph}) reads; see {@link #model(String)}.
     *
     * @return the number of bytes written
     * @throws UncheckedIOException if the file cannot be written
     */
    public long export(String resultId, Path file) {
        byte[] bytes = model(resultId);
        try {
            Files.write(file, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "Cannot write the model of '" + resultId + "' to " + file + ": " + e.getMessage(), e);
        }
        return bytes.length;
    }

    /** The versions of a result's model, in version order ({@link Registry#versions}). */
    public List<ModelVersion> versions(String resultId) {
        return registry.versions(resultId);
    }

    /** The version promoted into serving, or empty if none is ({@link Registry#promotedVersion}). */
    public Optional<ModelVersion> promotedVersion(String resultId) {
        return registry.promotedVersion(resultId);
    }

    /** Every promotion and rollback of a result, oldest first ({@link Registry#promotions}). */
    public List<Promotion> promotions(String resultId) {
        return registry.promotions(resultId);
    }

    /**
     * Promotes version {@code version} of a result into serving by hand; promoting an older one than the promoted one
     * is a rollback. Inference deployments that follow the result switch to it between batches. A promotion by hand
     * <b>pins</b> the result ({@link Promotion#pinned()}): an incremental run then publishes the versions its policy
     * accepts without promoting them, until {@link #unpin}.
     *
     * @throws EntityNotFoundException if there is no such version
     * @throws RegistryException if the write fails
     */
    public Promotion promote(String resultId, int version, String reason) {
        return registry.promote(resultId, version, reason);
    }

    /**
     * Promotes version {@code version} of a result into serving, pinning the result or not ({@link
     * Registry#promote(String, int, String, boolean)}).
     *
     * @throws EntityNotFoundException if there is no such version
     * @throws RegistryException if the write fails
     */
    public Promotion promote(String resultId, int version, String reason, boolean pin) {
        return registry.promote(resultId, version, reason, pin);
    }

    /**
     * Releases a result pinned by a promotion by hand, so that an incremental run's policy promotes again
     * ({@link Registry#unpin}).
     *
     * @return the latest promotion after the change
     * @throws EntityNotFoundException if the result has no promoted version
     * @throws RegistryException if the write fails
     */
    public Promotion unpin(String resultId, String reason) {
        return registry.unpin(resultId, reason);
    }

    /**
     * Writes version {@code version} of a result's model to a file that DL4J's {@code ModelSerializer} restores,
     * checked against its SHA-256 first.
     *
     * @return the number of bytes written
     * @throws EntityNotFoundException if there is no such version
     * @throws io.kafkaml.registry.ArtifactCorruptedException if the stored model is incomplete or damaged
     * @throws UncheckedIOException if the file cannot be written
     */
    public long exportVersion(String resultId, int version, Path file) {
        byte[] bytes = registry.loadVersionModel(resultId, version);
        try {
            Files.write(file, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "Cannot write version " + version + " of the model of '" + resultId + "' to " + file + ": "
                            + e.getMessage(),
                    e);
        }
        return bytes.length;
    }
}
