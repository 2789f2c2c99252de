package io.kafkaml.k8s;

import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.IllegalStatusTransitionException;
import io.kafkaml.registry.Registry;
import io.kafkaml.registry.TrainingResult;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches kafkaml's training Jobs and speaks for a worker that cannot: a Job that failed (its pods crashed, were
 * OOM-killed, evicted, ran out of retries) ends its model's result FAILED with the pod's reason, unless the worker
 * already recorded an end. It writes nothing else: a worker records its own model's result, a terminal result is
 * never changed (the registry refuses it), and the deployment's status is derived from the results
 * ({@link io.kafkaml.registry.Deployment#derivedFrom}), so it is FINISHED or FAILED only once every model has ended.
 * A Job that completed needs nothing: its worker exits 0 only after recording FINISHED.
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
        this.watch = client.batch()
                .v1()
                .jobs()
                .inNamespace(namespace)
                .withLabel(KubernetesManifests.COMPONENT_LABEL, "training")
                .watch(new Watcher<Job>() {
                    @Override
                    public void eventReceived(Action action, Job job) {
                        if (action == Action.ADDED || action == Action.MODIFIED) {
                            try {
                                reflect(job);
                            } catch (RuntimeException e) {
                                log.warn(
                                        "Cannot reflect the state of training Job {}: {}",
                                        job.getMetadata().getName(),
                                        e.toString());
                            }
                        }
                    }

                    @Override
                    public void onClose(WatcherException cause) {
                        log.warn("The watch of training Jobs in {} closed: {}", namespace, cause.getMessage());
                    }
                });
    }

    /** Ends a failed Job's model result FAILED (with the pod's reason) if its worker did not record an end. */
    void reflect(Job job) {
        Optional<JobCondition> failed =
                job.getStatus() == null || job.getStatus().getConditions() == null
                        ? Optional.empty()
                        : job.getStatus().getConditions().stream()
                                .filter(c -> "Failed".equals(c.getType()) && "True".equals(c.getStatus()))
                                .findFirst();
        if (failed.isEmpty()) {
            return;
        }
        Map<String, String> labels = job.getMetadata().getLabels();
        List<io.fabric8.kubernetes.api.model.EnvVar> env =
                job.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv();
        String deploymentId = value(env, KafkaMlConfig.environmentVariable(KafkaMlConfig.DEPLOYMENT_ID_CONFIG));
        String model = value(env, KafkaMlConfig.environmentVariable(KafkaMlConfig.DEPLOYMENT_MODEL_CONFIG));
        if (deploymentId == null || model == null) {
            log.warn(
                    "Training Job {} has no KAFKAML_DEPLOYMENT_ID/KAFKAML_MODEL (labels {})",
                    job.getMetadata().getName(),
                    labels);
            return;
        }
        String resultId = TrainingResult.idOf(deploymentId, model);
        Optional<TrainingResult> existing = registry.result(resultId);
        if (existing.isPresent() && existing.get().status().isTerminal()) {
            return;
        }
        String reason = "Kubernetes Job " + job.getMetadata().getName() + " failed: "
                + podReason(job)
                        .orElse(failed.get().getReason()
                                + (failed.get().getMessage() == null
                                        ? ""
                                        : " (" + failed.get().getMessage() + ")"));
        try {
            registry.putResult(existing.map(r -> r.ended(DeploymentStatus.FAILED, reason))
                    .orElseGet(() -> TrainingResult.of(deploymentId, model, DeploymentStatus.FAILED, reason)));
            log.warn("[{}] {}", deploymentId, reason);
        } catch (IllegalStatusTransitionException e) {
            log.info("[{}] The worker of model {} recorded its end first: {}", deploymentId, model, e.getMessage());
        }
    }

    private static boolean condition(Job job, String type) {
        return job.getStatus() != null
                && job.getStatus().getConditions() != null
                && job.getStatus().getConditions().stream()
                        .anyMatch(c -> type.equals(c.getType()) && "True".equals(c.getStatus()));
    }

    /** The reason the Job's last pod ended, from its container's terminated state. */
    private Optional<String> podReason(Job job) {
        List<Pod> pods = client.pods()
                .inNamespace(namespace)
                .withLabel("job-name", job.getMetadata().getName())
                .list()
                .getItems();
        for (Pod pod : pods) {
            if (pod.getStatus() == null || pod.getStatus().getContainerStatuses() == null) {
                continue;
            }
            for (var status : pod.getStatus().getContainerStatuses()) {
                ContainerStateTerminated terminated =
                        status.getState() == null ? null : status.getState().getTerminated();
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
        return env == null
                ? null
                : env.stream()
                        .filter(e -> name.equals(e.getName()))
                        .map(e -> e.getValue())
                        .findFirst()
                        .orElse(null);
    }

    @Override
    public void close() {
        watch.close();
    }
}
