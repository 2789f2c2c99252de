package io.kafkaml.keras;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kafkaml.format.raw.RawDataSink;
import io.kafkaml.format.raw.RawType;
import io.kafkaml.inference.InferenceSpec;
import io.kafkaml.inference.LocalInference;
import io.kafkaml.model.InputLayout;
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
import io.kafkaml.training.TrainingSpec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The case {@code cnn-lstm-shapes} of {@code ../shared/cases}: a Keras CNN (input [3, 3, 1], channels-last) and a
 * Keras LSTM (input [5, 2]) imported from .h5 files, trained from RAW streams with {@code data_reshape}
 * {@code "3 3 1"} and {@code "5 2"}, and the CNN served; a stream of the wrong shape is refused before training.
 */
@ExtendWith(EmbeddedKafkaExtension.class)
class KerasShapesIT {

    static final Path CASES = SharedData.cases(".");
    static Registry registry;
    static LocalTrainingLauncher launcher;
    static TrainingDeployments deployments;

    @BeforeAll
    static void start(EmbeddedKafkaBroker kafka) {
        registry = Registry.connect(kafka.clientConfig(), "keras-shapes", Duration.ofSeconds(30));
        launcher = new LocalTrainingLauncher(registry, kafka.clientConfig(), 2, null);
        deployments = new TrainingDeployments(registry, launcher);
        for (String name : List.of("cnn", "lstm")) {
            KerasModels.ImportedModel imported = KerasModels.importModel(
                    name,
                    "case cnn-lstm-shapes",
                    CASES.resolve("cnn-lstm-shapes").resolve(name + ".h5"));
            registry.registerModel(imported.definition(), imported.network());
            registry.createConfiguration(new Configuration(name, "", List.of(name)));
        }
        // The same CNN saved as a functional model (made by src/test/scripts/make_functional_cnn_h5.py).
        KerasModels.ImportedModel functional =
                KerasModels.importModel("cnn-functional", "", Path.of("src/test/resources/cnn-functional.h5"));
        registry.registerModel(functional.definition(), functional.network());
        registry.createConfiguration(new Configuration("cnn-functional", "", List.of("cnn-functional")));
    }

    @AfterAll
    static void stop() {
        launcher.close();
        registry.close();
    }

    static TrainingSpec spec() {
        return TrainingSpec.builder()
                .batchSize(5)
                .epochs(2)
                .controlTimeout(Duration.ofSeconds(60))
                .build();
    }

    /** 20 records of [3, 3, 1] float32 with uint8 labels 0/1, as the case's stream. */
    static void sendImages(EmbeddedKafkaBroker kafka, String topic, String deploymentId) {
        Random random = new Random(1);
        try (RawDataSink sink = RawDataSink.builder(kafka.clientConfig())
                .dataType(RawType.FLOAT32)
                .dataShape(3, 3, 1)
                .labelType(RawType.UINT8)
                .labelShape()
                .topic(topic)
                .deploymentId(deploymentId)
                .build()) {
            for (int i = 0; i < 20; i++) {
                float[] image = new float[9];
                for (int j = 0; j < 9; j++) {
                    image[j] = random.nextFloat() * 9;
                }
                sink.send(image, i % 2);
            }
        }
    }

    @Test
    void theImportedModelsDeclareTheFilesInputShapes() {
        ModelDefinition cnn = registry.model("cnn").orElseThrow();
        assertThat(cnn.summary().inputLayout())
                .isEqualTo(InputLayout.convolutional(3, 3, 1, org.deeplearning4j.nn.conf.CNN2DFormat.NHWC));
        assertThat(cnn.summary().inputSize()).isEqualTo(9);
        ModelDefinition lstm = registry.model("lstm").orElseThrow();
        assertThat(lstm.summary().inputLayout())
                .isEqualTo(InputLayout.recurrent(2, 5, org.deeplearning4j.nn.conf.RNNFormat.NWC));
        assertThat(lstm.summary().inputSize()).isEqualTo(10);
        // The paper's HCOPD model starts with Dropout: it registers with its 3 inputs.
        ModelDefinition hcopd = KerasModels.importModel(
                        "hcopd-sparse", "", CASES.resolve("keras-sparse-loss").resolve("hcopd-sparse.h5"))
                .definition();
        assertThat(hcopd.summary().inputSize()).isEqualTo(3);
    }

    @Test
    void theCnnTrainsFromItsRawStreamAndServesTheFilesPrediction(EmbeddedKafkaBroker kafka) throws Exception {
        trainAndServeTheCnn(kafka, "cnn");
    }

    @Test
    void theCnnSavedAsAFunctionalModelTrainsAndServesAsAComputationGraph(EmbeddedKafkaBroker kafka) throws Exception {
        ModelDefinition model = registry.model("cnn-functional").orElseThrow();
        assertThat(model.isGraph()).isTrue();
        assertThat(model.summary().inputLayout())
                .isEqualTo(registry.model("cnn").orElseThrow().summary().inputLayout());
        assertThat(model.summary().outputSize()).isEqualTo(2);
        trainAndServeTheCnn(kafka, "cnn-functional");
    }

    static void trainAndServeTheCnn(EmbeddedKafkaBroker kafka, String name) throws Exception {
        kafka.createTopic(name + "-data", 1);
        TrainingHandle handle = deployments.deploy(name, spec(), name + "-1");
        sendImages(kafka, name + "-data", name + "-1");
        assertThat(handle.await(Duration.ofMinutes(2))).contains(DeploymentStatus.FINISHED);
        TrainingResult result = registry.result(name + "-1." + name).orElseThrow();
        assertThat(result.status()).isEqualTo(DeploymentStatus.FINISHED);
        assertThat(result.epochCount()).isEqualTo(2);

        kafka.createTopic(name + "-in", 1);
        try (LocalInference inference = LocalInference.start(
                registry,
                kafka.clientConfig(),
                name + "-serve",
                InferenceSpec.builder(name + "-1." + name, name + "-in", name + "-out")
                        .build())) {
            ByteBuffer value = ByteBuffer.allocate(36).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 1; i <= 9; i++) {
                value.putFloat(i);
            }
            try (KafkaProducer<byte[], byte[]> producer =
                    new KafkaProducer<>(kafka.clientConfig(), new ByteArraySerializer(), new ByteArraySerializer())) {
                producer.send(new ProducerRecord<>(name + "-in", null, value.array()))
                        .get(30, TimeUnit.SECONDS);
            }
            JsonNode prediction = readOne(kafka, name + "-out");
            assertThat(prediction.get("values").get(0).doubleValue()).isCloseTo(0.000335, within(1e-5));
            assertThat(prediction.get("values").get(1).doubleValue()).isCloseTo(0.999665, within(1e-5));
            assertThat(prediction.get("class").asInt()).isEqualTo(1);
        }
    }

    @Test
    void theLstmTrainsFromItsRawStream(EmbeddedKafkaBroker kafka) {
        kafka.createTopic("lstm-data", 1);
        TrainingHandle handle = deployments.deploy("lstm", spec(), "lstm-1");
        Random random = new Random(2);
        try (RawDataSink sink = RawDataSink.builder(kafka.clientConfig())
                .dataType(RawType.FLOAT32)
                .dataShape(5, 2)
                .labelType(RawType.FLOAT32)
                .labelShape()
                .topic("lstm-data")
                .deploymentId("lstm-1")
                .build()) {
            for (int i = 0; i < 20; i++) {
                float[] sequence = new float[10];
                for (int j = 0; j < 10; j++) {
                    sequence[j] = random.nextFloat();
                }
                sink.send(sequence, random.nextFloat());
            }
        }
        assertThat(handle.await(Duration.ofMinutes(2))).contains(DeploymentStatus.FINISHED);
        TrainingResult result = registry.result("lstm-1.lstm").orElseThrow();
        assertThat(result.status()).isEqualTo(DeploymentStatus.FINISHED);
        assertThat(result.epochCount()).isEqualTo(2);
        assertThat(result.lastEpoch().loss()).isFinite();
    }

    @Test
    void aStreamOfTheWrongShapeIsRefusedBeforeTrainingNamingBothShapes(EmbeddedKafkaBroker kafka) {
        kafka.createTopic("lstm-wrong", 1);
        TrainingHandle handle = deployments.deploy("lstm", spec(), "lstm-wrong-1");
        sendImages(kafka, "lstm-wrong", "lstm-wrong-1");
        assertThat(handle.await(Duration.ofMinutes(2))).contains(DeploymentStatus.FAILED);
        assertThat(registry.deployment("lstm-wrong-1").orElseThrow().error())
                .contains("recurrent [5, 2]")
                .contains("[3, 3, 1]");
        assertThat(registry.result("lstm-wrong-1.lstm").orElseThrow().epochCount())
                .isZero();
    }

    static JsonNode readOne(EmbeddedKafkaBroker kafka, String topic) throws Exception {
        Map<String, Object> config = new HashMap<>(kafka.clientConfig());
        config.put(ConsumerConfig.GROUP_ID_CONFIG, "reader-" + topic);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    return new ObjectMapper().readTree(record.value());
                }
            }
        }
        throw new AssertionError("no prediction on " + topic + " within 60 s");
    }
}
