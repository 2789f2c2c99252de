package io.kafkaml.training;

import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Configuration;
import java.util.List;

/**
 * Everything a launcher needs to train a deployment.
 *
 * @param deploymentId the deployment
 * @param configuration the configuration deployed
 * @param models the configuration's models
 * @param spec how to train
 * @param controlTopic the control topic to wait on
 */
public record TrainingJob(String deploymentId, Configuration configuration, List<ModelDefinition> models,
        TrainingSpec spec, String controlTopic) {

    /** Copies the model list. */
    public TrainingJob {
        models = List.copyOf(models);
    }
}
