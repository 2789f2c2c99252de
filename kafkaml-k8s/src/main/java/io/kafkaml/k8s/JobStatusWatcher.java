package io.kafkaml.k8s;

import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.Registry;
import io.kafkaml.registry.TrainingResult;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches kafkaml's training Jobs and reflects what Kubernetes knows in the registry: a Job that failed (its
 * pods crashed, were evicted, ran out of retries) marks its model's result FAILED with the pod's reason, and the
 * deployment FAILED, unless the worker already recorded an end. A worker records its own progress and results;
 * this covers the failures it cannot report.
 *
 * <p>Thread-safe; {@link #close()} stops the watch.
 */
public final class JobStatusWatcher implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(JobStatusWatcher.class);

    private final KubernetesClient client;
    private final Registry registry;
    private final String namespace;
    private final Watch watch;

    public JobStatusWatcher(KubernetesClient client, String namespace, Registry registry) {
        this.client = client;
        this.registry = registry;
        this.namespace = namespace;
        this.watch = client.batch().v1().jobs().inNamespace(namespace)
                .withLabel(KubernetesManifests.COMPONENT_LABEL, "training").watch(new Watcher<Job>() {
                    @Override
                    public void eventReceived(Action action, Job job) {
                        if (action == Action.ADDED || action == Action.MODIFIED) {
                            reflect(job);
                        }
                    }

                    @Override
                    public void onClose(WatcherException cause) {
                        log.warn("The watch of training Jobs in {} closed: {}", namespace, cause.getMessage());
                    }
                });
    }

    /** Records a failed Job's model as FAILED (with the pod's reason) if the worker did not record an end. */
    void reflect(Job job) {
        if (job.getStatus() == null || job.getStatus().getConditions() == null) {
            return;
        }
        Optional<JobCondition> failed = job.getStatus().getConditions().stream()
                .filter(c -> "Failed".equals(c.getType()) && "True".equals(c.getStatus())).findFirst();
        if (failed.isEmpty()) {
            if (condition(job, "Complete")) {
                reflectCompletion(job);
            }
            return;
        }
        Map<String, String> labels = job.getMetadata().getLabels();
        List<io.fabric8.kubernetes.api.model.EnvVar> env = job.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv();
        String deploymentId = value(env, "KAFKAML_DEPLOYMENT_ID");
        String model = value(env, "KAFKAML_MODEL");
        if (deploymentId == null || model == null) {
            log.warn("Training Job {} has no KAFKAML_DEPLOYMENT_ID/KAFKAML_MODEL (labels {})", job.getMetadata().getName(),
                    labels);
            return;
        }
        String reason = "Kubernetes Job " + job.getMetadata().getName() + " failed: " + podReason(job)
                .orElse(failed.get().getReason() + (failed.get().getMessage() == null ? "" : " (" + failed.get().getMessage() + ")"));
        String resultId = TrainingResult.idOf(deploymentId, model);
        Optional<TrainingResult> existing = registry.result(resultId);
        if (existing.isPresent() && existing.get().status().isTerminal()) {
            return;
        }
        registry.putResult(new TrainingResult(resultId, deploymentId, model, DeploymentStatus.FAILED,
                existing.map(TrainingResult::epochs).orElse(List.of()), Map.of(), null,
                existing.map(TrainingResult::trainingMillis).orElse(0L), null, null, reason, Instant.now()));
        registry.deployment(deploymentId).filter(d -> !d.status().isTerminal())
                .ifPresent(d -> registry.updateDeployment(d.withStatus(DeploymentStatus.FAILED, "model '" + model + "': "
                        + reason)));
        log.warn("[{}] {}", deploymentId, reason);
    }

    /**
     * When every Job of a deployment is complete and its worker(s) did not record the end (a worker per model
     * only records its own), the deployment is FINISHED.
     */
    private void reflectCompletion(Job job) {
        String deploymentLabel = job.getMetadata().getLabels().get(KubernetesManifests.DEPLOYMENT_ID_LABEL);
        String deploymentId = value(job.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv(),
                "KAFKAML_DEPLOYMENT_ID");
        if (deploymentLabel == null || deploymentId == null) {
            return;
        }
        List<Job> siblings = client.batch().v1().jobs().inNamespace(namespace)
                .withLabel(KubernetesManifests.DEPLOYMENT_ID_LABEL, deploymentLabel).list().getItems();
        if (siblings.stream().allMatch(j -> condition(j, "Complete"))) {
            registry.deployment(deploymentId).filter(d -> !d.status().isTerminal())
                    .ifPresent(d -> registry.updateDeployment(d.withStatus(DeploymentStatus.FINISHED, null)));
        }
    }

    private static boolean condition(Job job, String type) {
        return job.getStatus() != null && job.getStatus().getConditions() != null && job.getStatus().getConditions()
                .stream().anyMatch(c -> type.equals(c.getType()) && "True".equals(c.getStatus()));
    }

    /** The reason the Job's last pod ended, from its container's terminated state. */
    private Optional<String> podReason(Job job) {
        List<Pod> pods = client.pods().inNamespace(namespace).withLabel("job-name", job.getMetadata().getName()).list()
                .getItems();
        for (Pod pod : pods) {
            if (pod.getStatus() == null || pod.getStatus().getContainerStatuses() == null) {
                continue;
            }
            for (var status : pod.getStatus().getContainerStatuses()) {
                ContainerStateTerminated terminated = status.getState() == null ? null : status.getState().getTerminated();
                if (terminated == null && status.getLastState() != null) {
                    terminated = status.getLastState().getTerminated();
                }
                if (terminated != null) {
                    return Optional.of("pod " + pod.getMetadata().getName() + " " + terminated.getReason()
                            + " (exit code " + terminated.getExitCode() + ")"
                            + (terminated.getMessage() == null ? "" : ": " + terminated.getMessage()));
                }
            }
        }
        return Optional.empty();
    }

    private static String value(List<io.fabric8.kubernetes.api.model.EnvVar> env, String name) {
        return env == null ? null : env.stream().filter(e -> name.equals(e.getName())).map(e -> e.getValue()).findFirst()
                .orElse(null);
    }

    @Override
    public void close() {
        watch.close();
    }
}
