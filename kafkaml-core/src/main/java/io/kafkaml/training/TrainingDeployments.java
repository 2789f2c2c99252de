package io.kafkaml.training;

import io.kafkaml.control.ControlChannel;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.Deployment;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.EntityNotFoundException;
import io.kafkaml.registry.Registry;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * Deploys configurations for training (the paper's step C): records the deployment in the registry, then
 * hands it to a launcher. The deployment waits for the control message of its data stream, which may have been
 * sent before the deployment existed.
 *
 * <pre>{@code
 * TrainingDeployments deployments = new TrainingDeployments(registry, launcher);
 * TrainingHandle handle = deployments.deploy("hcopd-all", TrainingSpec.builder().epochs(100).build());
 * // send the data with a sink for deployment handle.deploymentId(), then:
 * handle.await(Duration.ofMinutes(5));
 * registry.results(handle.deploymentId());
 * }</pre>
 *
 * <p>Thread-safe.
 */
public final class TrainingDeployments {

    private final Registry registry;
    private final TrainingLauncher launcher;
    private final String controlTopic;

    /** Deploys with {@code launcher}, waiting on the default control topic. */
    public TrainingDeployments(Registry registry, TrainingLauncher launcher) {
        this(registry, launcher, ControlChannel.DEFAULT_TOPIC);
    }

    /** Deploys with {@code launcher}, waiting on {@code controlTopic}. */
    public TrainingDeployments(Registry registry, TrainingLauncher launcher, String controlTopic) {
        this.registry = Objects.requireNonNull(registry, "registry");
        this.launcher = Objects.requireNonNull(launcher, "launcher");
        this.controlTopic = Objects.requireNonNull(controlTopic, "controlTopic");
    }

    /** Deploys a configuration under a new numeric deployment id (Kafka-ML's sinks need numeric ids). */
    public TrainingHandle deploy(String configuration, TrainingSpec spec) {
        return deploy(configuration, spec, nextDeploymentId());
    }

    /**
     * Deploys a configuration under {@code deploymentId}.
     *
     * @throws EntityNotFoundException if the configuration or one of its models does not exist
     * @throws io.kafkaml.registry.DuplicateEntityException if the deployment id is taken
     */
    public synchronized TrainingHandle deploy(String configuration, TrainingSpec spec, String deploymentId) {
        Configuration config = TrainingJob.configuration(registry, configuration);
        List<ModelDefinition> models = TrainingJob.models(registry, config);
        Instant now = Instant.now();
        registry.createDeployment(new Deployment(deploymentId, configuration, DeploymentStatus.WAITING_FOR_DATA, null,
                spec.toMap(), now, now, null));
        return launcher.launch(new TrainingJob(deploymentId, config, models, spec, controlTopic));
    }

    /** One more than the largest numeric deployment id in the registry (1 for the first). */
    public synchronized String nextDeploymentId() {
        long max = 0;
        for (Deployment deployment : registry.deployments()) {
            if (deployment.id().matches("[0-9]{1,18}")) {
                max = Math.max(max, Long.parseLong(deployment.id()));
            }
        }
        return String.valueOf(max + 1);
    }
}
