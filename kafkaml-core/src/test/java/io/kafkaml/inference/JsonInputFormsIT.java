package io.kafkaml.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kafkaml.control.ControlMessage;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.Deployment;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.Registry;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.stream.StreamSlice;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * A model trained from JSON objects ({@code data_fields}) served with every unambiguous input form Kafka-ML's
 * clients send (the object, the flat array, the batch of one that Keras' {@code predict} takes), and the
 * ambiguous or wrong-length ones dead-lettered with their origin.
 */
@ExtendWith(EmbeddedKafkaExtension.class)
class JsonInputFormsIT {

    @Test
    void objectTrainedModelsServeArrayFormsAndDeadLetterAmbiguousOnes(EmbeddedKafkaBroker kafka) throws Exception {
        try (Registry registry = Registry.connect(kafka.clientConfig(), "jsonforms", Duration.ofSeconds(30))) {
            var conf = new NeuralNetConfiguration.Builder()
                    .seed(3)
                    .list()
                    .layer(new DenseLayer.Builder()
                            .nIn(3)
                            .nOut(8)
                            .activation(Activation.TANH)
                            .build())
                    .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                            .nIn(8)
                            .nOut(2)
                            .activation(Activation.SOFTMAX)
                            .build())
                    .build();
            registry.registerModel(ModelDefinition.of("hcopd", "", conf));
            registry.createConfiguration(new Configuration("hcopd-only", "", List.of("hcopd")));
            ControlMessage trainedOn = ControlMessage.builder()
                    .slices(List.of(StreamSlice.of("train", 0, 0, 1)))
                    .inputFormat("JSON")
                    .inputConfig(Map.of("data_fields", List.of("Gender", "Age", "Smoking"), "label_field", "Diagnosis"))
                    .totalMessages(1)
                    .deploymentId("objects-1")
                    .build();
            registry.createDeployment(new Deployment(
                    "objects-1",
                    "hcopd-only",
                    DeploymentStatus.FINISHED,
                    null,
                    Map.of(),
                    Instant.now(),
                    Instant.now(),
                    trainedOn.toJson()));
            MultiLayerNetwork network = new MultiLayerNetwork(conf);
            network.init();
            ByteArrayOutputStream model = new ByteArrayOutputStream();
            ModelSerializer.writeModel(network, model, false);
            registry.storeArtifact("hcopd.model", model.toByteArray());
            registry.putResult(new TrainingResult(
                    "objects-1.hcopd",
                    "objects-1",
                    "hcopd",
                    DeploymentStatus.FINISHED,
                    List.of(),
                    Map.of(),
                    null,
                    0,
                    "hcopd.model",
                    null,
                    null,
                    Instant.now()));
            float[] expected = network.output(Nd4j.createFromArray(new float[][] {{1, 63, 2}}), false)
                    .toFloatVector();

            Map<String, String> good = Map.of(
                    "object", "{\"Smoking\": 2, \"Age\": 63, \"Gender\": 1, \"Diagnosis\": 1}",
                    "flat", "[1.0, 63.0, 2.0]",
                    "batch-of-one", "[[1.0, 63.0, 2.0]]");
            Map<String, String> bad = Map.of(
                    "short", "[1.0, 63.0]",
                    "batch-of-two", "[[1, 63, 2], [0, 70, 1]]",
                    "ragged", "[[1, 63], [2]]");
            kafka.createTopic("forms-in", 1);
            try (KafkaProducer<byte[], byte[]> producer =
                    new KafkaProducer<>(kafka.clientConfig(), new ByteArraySerializer(), new ByteArraySerializer())) {
                Map<String, String> all = new HashMap<>(good);
                all.putAll(bad);
                for (Map.Entry<String, String> input : all.entrySet()) {
                    producer.send(new ProducerRecord<>("forms-in", bytes(input.getKey()), bytes(input.getValue())))
                            .get(10, TimeUnit.SECONDS);
                }
            }
            try (LocalInference inference = LocalInference.start(
                    registry,
                    kafka.clientConfig(),
                    "serve-forms",
                    InferenceSpec.builder("objects-1.hcopd", "forms-in", "forms-out")
                            .deadLetterTopic("forms-dlq")
                            .build())) {
                List<ConsumerRecord<byte[], byte[]>> outputs =
                        InferenceIT.readOutputs(kafka, "forms-out", good.size(), false);
                ObjectMapper json = new ObjectMapper();
                assertThat(outputs)
                        .extracting(r -> new String(r.key(), StandardCharsets.UTF_8))
                        .containsExactlyInAnyOrderElementsOf(good.keySet());
                for (ConsumerRecord<byte[], byte[]> output : outputs) {
                    JsonNode values = json.readTree(output.value()).get("values");
                    assertThat(values.get(0).floatValue()).isCloseTo(expected[0], within(1e-5f));
                    assertThat(values.get(1).floatValue()).isCloseTo(expected[1], within(1e-5f));
                }
                List<ConsumerRecord<byte[], byte[]>> dead =
                        InferenceIT.readOutputs(kafka, "forms-dlq", bad.size(), false);
                Map<String, String> reasons = new HashMap<>();
                for (ConsumerRecord<byte[], byte[]> record : dead) {
                    Map<String, String> headers = new HashMap<>();
                    record.headers().forEach(h -> headers.put(h.key(), new String(h.value(), StandardCharsets.UTF_8)));
                    assertThat(headers)
                            .containsEntry("kafkaml.dlq.topic", "forms-in")
                            .containsEntry("kafkaml.dlq.partition", "0")
                            .containsKey("kafkaml.dlq.offset");
                    reasons.put(
                            new String(record.key(), StandardCharsets.UTF_8), headers.get("kafkaml.dlq.error.message"));
                }
                assertThat(reasons).containsOnlyKeys(bad.keySet());
                assertThat(reasons.get("short")).contains("holds 2 numbers").contains("[Gender, Age, Smoking]");
                assertThat(reasons.get("batch-of-two")).contains("a batch of 2 examples");
                assertThat(reasons.get("ragged")).contains("ragged array");
                // counted on the producer's acknowledgement, which the reader above may have beaten
                org.awaitility.Awaitility.await()
                        .atMost(java.time.Duration.ofSeconds(30))
                        .until(() -> inference.stats().deadLettered() >= bad.size());
                assertThat(inference.stats().deadLettered()).isEqualTo(bad.size());
            }
        }
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
