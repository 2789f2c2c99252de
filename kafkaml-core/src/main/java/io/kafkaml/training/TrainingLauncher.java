package io.kafkaml.training;

/**
 * Decides where the runners of a training deployment run: threads in this JVM ({@link LocalTrainingLauncher}),
 * or Kubernetes Jobs (kafkaml-k8s). A launcher returns at once; runners record their progress and results in
 * the registry, wherever they run.
 *
 * <p>Thread safety: an implementation must be thread-safe ({@code KafkaMl} launches from any thread). Lifecycle:
 * created by its owner (a {@code KafkaMl} through its {@code LauncherFactory}, or you), it launches until
 * {@link #close()}, which stops what it runs in this process (a remote launcher's Jobs go on) and is idempotent.
 */
public interface TrainingLauncher extends AutoCloseable {

    /** Starts training a deployment. */
    TrainingHandle launch(TrainingJob job);

    /** Stops what this launcher started. */
    @Override
    void close();
}
