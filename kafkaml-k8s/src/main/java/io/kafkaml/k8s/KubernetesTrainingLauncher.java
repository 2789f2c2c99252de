package io.kafkaml.k8s;

import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.Registry;
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
 * pods run {@code kafkaml worker} and record progress and results in the registry. Cancelling deletes the Jobs
 * (background propagation: their pods go too). Combine with a {@link JobStatusWatcher} so that a Job that fails
 * before its worker can say why marks its result FAILED.
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
            client.batch().v1().jobs().inNamespace(namespace).resource(kubernetesJob).create();
        }
        log.info("[{}] created {} Job(s) in namespace {}", job.deploymentId(), jobs.size(), namespace);
        return new TrainingHandle() {
            @Override
            public String deploymentId() {
                return job.deploymentId();
            }

            @Override
            public void cancel() {
                client.batch().v1().jobs().inNamespace(namespace)
                        .withLabel(KubernetesManifests.DEPLOYMENT_ID_LABEL, KubernetesManifests.dnsLabel(job.deploymentId()))
                        .withPropagationPolicy(DeletionPropagation.BACKGROUND).delete();
                registry.deployment(job.deploymentId()).ifPresent(d -> registry.updateDeployment(
                        d.withStatus(DeploymentStatus.CANCELLED, "cancelled on request: its Jobs were deleted")));
            }

            @Override
            public Optional<DeploymentStatus> await(Duration timeout) {
                long deadline = System.nanoTime() + timeout.toNanos();
                while (System.nanoTime() < deadline) {
                    Optional<DeploymentStatus> status = registry.deployment(job.deploymentId()).map(d -> d.status())
                            .filter(DeploymentStatus::isTerminal);
                    if (status.isPresent()) {
                        return status;
                    }
                    try {
                        Thread.sleep(200);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return Optional.empty();
                    }
                }
                return Optional.empty();
            }
        };
    }

    /** The Jobs stay: they belong to the cluster, not to this launcher. */
    @Override
    public void close() {
    }
}
