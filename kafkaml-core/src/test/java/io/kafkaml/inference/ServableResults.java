package io.kafkaml.inference;

import io.kafkaml.control.ControlMessage;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.Deployment;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.Registry;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.stream.StreamSlice;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;

/** Registers a servable training result (an initialised, untrained network) without training, for inference tests. */
final class ServableResults {

    private ServableResults() {}

    /**
     * Registers model {@code name}, a one-model configuration, a FINISHED deployment {@code name + "-train"} that
     * trained on JSON inputs of {@code features} values, and its result; returns the result id.
     */
    static String register(Registry registry, String name, MultiLayerConfiguration conf, int features) {
        registry.registerModel(ModelDefinition.of(name, "", conf));
        registry.createConfiguration(new Configuration(name + "-only", "", List.of(name)));
        String deployment = name + "-train";
        ControlMessage trainedOn = ControlMessage.builder()
                .slices(List.of(StreamSlice.of("train", 0, 0, 1)))
                .inputFormat("JSON")
                .inputConfig(Map.of("data_reshape", String.valueOf(features)))
                .totalMessages(1)
                .deploymentId(deployment)
                .build();
        registry.createDeployment(new Deployment(
                deployment,
                name + "-only",
                DeploymentStatus.FINISHED,
                null,
                Map.of(),
                Instant.now(),
                Instant.now(),
                trainedOn.toJson()));
        MultiLayerNetwork network = new MultiLayerNetwork(conf);
        network.init();
        ByteArrayOutputStream model = new ByteArrayOutputStream();
        try {
            ModelSerializer.writeModel(network, model, false);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        registry.storeArtifact(name + ".model", model.toByteArray());
        String resultId = TrainingResult.idOf(deployment, name);
        registry.putResult(new TrainingResult(
                resultId,
                deployment,
                name,
                DeploymentStatus.FINISHED,
                List.of(),
                Map.of(),
                null,
                0,
                name + ".model",
                null,
                null,
                Instant.now()));
        return resultId;
    }
}
