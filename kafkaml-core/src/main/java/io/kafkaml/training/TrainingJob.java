package io.kafkaml.training;

import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.Deployment;
import io.kafkaml.registry.EntityNotFoundException;
import io.kafkaml.registry.Registry;
import java.util.List;
import java.util.Objects;

/**
 * Everything a launcher needs to train a deployment.
 *
 * <p>Thread safety: immutable (a record; its collections are copied or unmodifiable) and thread-safe. Lifecycle: a
 * value, no resources.
 *
 * @param deploymentId the deployment
 * @param configuration the configuration deployed
 * @param models the configuration's models
 * @param spec how to train
 * @param controlTopic the control topic to wait on
 */
public record TrainingJob(
        String deploymentId,
        Configuration configuration,
        List<ModelDefinition> models,
        TrainingSpec spec,
        String controlTopic) {

    /** Copies the model list. */
    public TrainingJob {
        models = List.copyOf(models);
    }

    /**
     * The job of a deployment recorded in the registry, from its configuration, models and settings as they are
     * there now: what a training worker in a Kubernetes Job, or a manifest rendered later, starts from.
     *
     * @throws EntityNotFoundException if the deployment, its configuration or one of its models does not exist
     */
    public static TrainingJob recorded(Registry registry, String deploymentId, String controlTopic) {
        Deployment deployment = registry.deployment(deploymentId)
                .orElseThrow(() -> new EntityNotFoundException("deployment", deploymentId));
        Configuration configuration = configuration(registry, deployment.configuration());
        return new TrainingJob(
                deploymentId,
                configuration,
                models(registry, configuration),
                TrainingSpec.fromMap(deployment.settings()),
                controlTopic);
    }

    /**
     * This job with only one of its models (a Kubernetes worker trains one model of the deployment).
     *
     * @throws IllegalArgumentException if the configuration has no such model
     */
    public TrainingJob onlyModel(String name) {
        Objects.requireNonNull(name, "name");
        List<ModelDefinition> only =
                models.stream().filter(m -> m.name().equals(name)).toList();
        if (only.isEmpty()) {
            throw new IllegalArgumentException(
                    "Configuration '" + configuration.name() + "' has no model '" + name + "'");
        }
        return new TrainingJob(deploymentId, configuration, only, spec, controlTopic);
    }

    static Configuration configuration(Registry registry, String name) {
        return registry.configuration(name).orElseThrow(() -> new EntityNotFoundException("configuration", name));
    }

    static List<ModelDefinition> models(Registry registry, Configuration configuration) {
        return configuration.models().stream()
                .map(name -> registry.model(name).orElseThrow(() -> new EntityNotFoundException("model", name)))
                .toList();
    }
}
