package io.kafkaml.training;

/**
 * Decides where the runners of a training deployment run: threads in this JVM ({@link LocalTrainingLauncher}),
 * or Kubernetes Jobs (kafkaml-k8s). A launcher returns at once; runners record their progress and results in
 * the registry, wherever they run.
 */
public interface TrainingLauncher extends AutoCloseable {

    /** Starts training a deployment. */
    TrainingHandle launch(TrainingJob job);

    /** Stops what this launcher started. */
    @Override
    void close();
}
