package io.kafkaml.k8s;

import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.kafkaml.registry.Deployment;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.IllegalStatusTransitionException;
import io.kafkaml.registry.Registry;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.training.TrainingHandle;
import io.kafkaml.training.TrainingJob;
import io.kafkaml.training.TrainingLauncher;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs training deployments as Kubernetes Jobs, one per model ({@link KubernetesManifests#trainingJobs}); the
 * pods run {@code kafkaml worker}, each recording its own model's result in the registry; the deployment's status
 * is derived from those results, so {@link TrainingHandle#await} returns only once every model has ended. Cancelling
 * deletes the Jobs (background propagation: their pods go too) and ends the results that had not ended CANCELLED.
 * Combine with a {@link JobStatusWatcher} so that a Job that fails before its worker can say why ends its result
 * FAILED.
 *
 * <pre>{@code
 * try (KubernetesClient client = new KubernetesClientBuilder().build();
 *      KubernetesTrainingLauncher launcher = new KubernetesTrainingLauncher(client, settings, registry)) {
 *     new TrainingDeployments(registry, launcher).deploy("hcopd-all", spec);
 * }
 * }</pre>
 *
 * <p>Thread-safe.
 */
public final class KubernetesTrainingLauncher implements TrainingLauncher {

    private static final Logger log = LoggerFactory.getLogger(KubernetesTrainingLauncher.class);

    private final KubernetesClient client;
    private final KubernetesManifests manifests;
    private final Registry registry;

    public KubernetesTrainingLauncher(KubernetesClient client, KubernetesSettings settings, Registry registry) {
        this.client = Objects.requireNonNull(client, "client");
        this.manifests = new KubernetesManifests(settings);
        this.registry = Objects.requireNonNull(registry, "registry");
    }

    @Override
    public TrainingHandle launch(TrainingJob job) {
        List<Job> jobs = manifests.trainingJobs(job);
        String namespace = manifests.settings().namespace();
        for (Job kubernetesJob : jobs) {
            client.batch()
                    .v1()
                    .jobs()
                    .inNamespace(namespace)
                    .resource(kubernetesJob)
                    .create();
        }
        log.info("[{}] created {} Job(s) in namespace {}", job.deploymentId(), jobs.size(), namespace);
        return new TrainingHandle() {
            @Override
            public String deploymentId() {
                return job.deploymentId();
            }

            /**
             * Deletes the Jobs, then ends CANCELLED, for the workers it stopped, every result of the deployment that
             * has not ended (a result that ended first is left as it is).
             */
            @Override
            public void cancel() {
                client.batch()
                        .v1()
                        .jobs()
                        .inNamespace(namespace)
                        .withLabel(
                                KubernetesManifests.DEPLOYMENT_ID_LABEL,
                                KubernetesManifests.dnsLabel(job.deploymentId()))
                        .withPropagationPolicy(DeletionPropagation.BACKGROUND)
                        .delete();
                String reason = "cancelled on request: its Jobs were deleted";
                for (var model : job.models()) {
                    String resultId = TrainingResult.idOf(job.deploymentId(), model.name());
                    Optional<TrainingResult> existing = registry.result(resultId);
                    if (existing.isPresent() && existing.get().status().isTerminal()) {
                        continue;
                    }
                    try {
                        registry.putResult(existing.map(r -> r.ended(DeploymentStatus.CANCELLED, reason))
                                .orElseGet(() -> TrainingResult.of(
                                        job.deploymentId(), model.name(), DeploymentStatus.CANCELLED, reason)));
                    } catch (IllegalStatusTransitionException e) {
                        log.info("[{}] {}", job.deploymentId(), e.getMessage());
                    }
                }
            }

            /** Follows the deployment's status, derived from its results: terminal once every model has ended. */
            @Override
            public Optional<DeploymentStatus> await(Duration timeout) {
                return registry.awaitTerminal(job.deploymentId(), timeout).map(Deployment::status);
            }
        };
    }

    /** The Jobs stay: they belong to the cluster, not to this launcher. */
    @Override
    public void close() {}
}
