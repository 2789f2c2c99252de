package io.kafkaml.format.raw;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.control.ControlMessage;
import io.kafkaml.dataset.StreamDataSets;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.Registry;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import io.kafkaml.testkit.SharedData;
import io.kafkaml.training.LocalTrainingLauncher;
import io.kafkaml.training.TrainingDeployments;
import io.kafkaml.training.TrainingHandle;
import io.kafkaml.training.TrainingListener;
import io.kafkaml.training.TrainingSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Case {@code raw-bool} ({@code ../shared/cases/raw-bool}): a RAW stream announced as Kafka-ML's sink announces
 * numpy booleans ({@code "data_type":"bool_"}, the numpy 1 type name), int64 labels, sent the way Kafka-ML sends
 * it (the deployment id as a one-byte key, no {@code deployment_id} field), trains the case's model.
 */
@ExtendWith(EmbeddedKafkaExtension.class)
class RawBoolCaseIT {

    static final Path CASE = SharedData.cases("raw-bool");

    @Test
    void boolUnderscoreDataWithInt64LabelsDecodesAndTrains(EmbeddedKafkaBroker kafka) throws Exception {
        kafka.createTopic("raw-bool", 1);
        try (Registry registry = Registry.connect(kafka.clientConfig());
                LocalTrainingLauncher launcher =
                        new LocalTrainingLauncher(registry, kafka.clientConfig(), 1, new TrainingListener() {})) {
            registry.registerModel(ModelDefinition.fromJson(
                    "model-3-2", "raw-bool case", Files.readString(CASE.resolve("model-3-2.json"))));
            registry.createConfiguration(new Configuration("raw-bool", "", List.of("model-3-2")));
            TrainingHandle handle = new TrainingDeployments(registry, launcher)
                    .deploy(
                            "raw-bool",
                            TrainingSpec.builder()
                                    .batchSize(2)
                                    .epochs(3)
                                    .controlTimeout(Duration.ofSeconds(60))
                                    .build(),
                            "77");

            String control = "{\"topic\":\"raw-bool:0:0:2\",\"input_format\":\"RAW\",\"input_config\":"
                    + "{\"data_type\":\"bool_\",\"label_type\":\"int64\",\"data_reshape\":\"3\",\"label_reshape\":\"\"},"
                    + "\"validation_rate\":0,\"test_rate\":0,\"total_msg\":2,\"description\":\"numpy bools\"}";
            try (KafkaProducer<byte[], byte[]> producer =
                    new KafkaProducer<>(kafka.clientConfig(), new ByteArraySerializer(), new ByteArraySerializer())) {
                producer.send(new ProducerRecord<>("raw-bool", 0, hex("0100000000000000"), hex("010001")))
                        .get(10, TimeUnit.SECONDS);
                producer.send(new ProducerRecord<>("raw-bool", 0, hex("0000000000000000"), hex("000100")))
                        .get(10, TimeUnit.SECONDS);
                producer.send(new ProducerRecord<>(
                                LocalTrainingLauncher.defaultControlTopic(),
                                new byte[] {77},
                                control.getBytes(StandardCharsets.UTF_8)))
                        .get(10, TimeUnit.SECONDS);
            }

            ControlMessage message = ControlMessage.parse(new byte[] {77}, control.getBytes(StandardCharsets.UTF_8));
            try (StreamDataSets data = StreamDataSets.builder(kafka.clientConfig(), message)
                    .batchSize(2)
                    .build()) {
                assertThat(RawDataSinkIT.rows(data.train()))
                        .containsExactlyInAnyOrder("[1.0, 0.0, 1.0]->1.0", "[0.0, 1.0, 0.0]->0.0");
            }

            assertThat(handle.await(Duration.ofMinutes(2))).contains(DeploymentStatus.FINISHED);
            TrainingResult result = registry.results("77").get(0);
            assertThat(result.status()).isEqualTo(DeploymentStatus.FINISHED);
            assertThat(result.error()).isNull();
            assertThat(result.artifact()).isNotNull();
        }
    }

    private static byte[] hex(String hex) {
        return HexFormat.of().parseHex(hex);
    }
}
