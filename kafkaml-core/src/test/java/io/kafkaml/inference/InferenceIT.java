package io.kafkaml.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kafkaml.config.KafkaMlConfig;
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
import java.util.ArrayList;
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
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.preprocessor.NormalizerStandardize;
import org.nd4j.linalg.dataset.api.preprocessor.serializer.NormalizerSerializer;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

@ExtendWith(EmbeddedKafkaExtension.class)
class InferenceIT {

    static final int N = 10_000;
    static final ObjectMapper JSON = new ObjectMapper();
    static Registry registry;
    static float[][] inputs = new float[N][3];
    static float[][] expected;

    /** A small trained-looking result: a network, a fitted normalizer, a deployment that trained on JSON inputs. */
    @BeforeAll
    static void registerAServableResult(EmbeddedKafkaBroker kafka) throws Exception {
        registry = Registry.connect(kafka.clientConfig(), "inference", Duration.ofSeconds(30));
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
        registry.registerModel(ModelDefinition.of("tiny", "", conf));
        registry.createConfiguration(new Configuration("tiny-only", "", List.of("tiny")));
        ControlMessage trainedOn = ControlMessage.builder()
                .slices(List.of(StreamSlice.of("train", 0, 0, 1)))
                .inputFormat("JSON")
                .inputConfig(Map.of("data_reshape", "3"))
                .totalMessages(1)
                .deploymentId("train-1")
                .build();
        registry.createDeployment(new Deployment(
                "train-1",
                "tiny-only",
                DeploymentStatus.FINISHED,
                null,
                Map.of(),
                Instant.now(),
                Instant.now(),
                trainedOn.toJson()));
        MultiLayerNetwork network = new MultiLayerNetwork(conf);
        network.init();
        Random random = new Random(5);
        for (float[] row : inputs) {
            row[0] = random.nextFloat() * 10;
            row[1] = random.nextFloat() * 100;
            row[2] = random.nextInt(3);
        }
        NormalizerStandardize normalizer = new NormalizerStandardize();
        normalizer.fit(new DataSet(Nd4j.createFromArray(inputs), Nd4j.zeros(N, 2)));
        ByteArrayOutputStream model = new ByteArrayOutputStream();
        ModelSerializer.writeModel(network, model, false);
        ByteArrayOutputStream normalizerBytes = new ByteArrayOutputStream();
        NormalizerSerializer.getDefault().write(normalizer, normalizerBytes);
        registry.storeArtifact("tiny.model", model.toByteArray());
        registry.storeArtifact("tiny.normalizer", normalizerBytes.toByteArray());
        registry.putResult(new TrainingResult(
                "train-1.tiny",
                "train-1",
                "tiny",
                DeploymentStatus.FINISHED,
                List.of(),
                Map.of(),
                null,
                0,
                "tiny.model",
                "tiny.normalizer",
                null,
                Instant.now()));
        INDArray normalized = Nd4j.createFromArray(inputs);
        normalizer.transform(normalized);
        expected = network.output(normalized, false).toFloatMatrix();
    }

    static void produceInputs(EmbeddedKafkaBroker kafka, String topic, int garbageEvery) throws Exception {
        List<java.util.concurrent.Future<org.apache.kafka.clients.producer.RecordMetadata>> sent = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(kafka.clientConfig(), new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = 0; i < N; i++) {
                String value = garbageEvery > 0 && i % garbageEvery == 7
                        ? "not json" + i
                        : "[" + inputs[i][0] + "," + inputs[i][1] + "," + inputs[i][2] + "]";
                ProducerRecord<byte[], byte[]> record =
                        new ProducerRecord<>(topic, bytes(String.valueOf(i)), bytes(value));
                record.headers().add("trace", bytes("t" + i));
                sent.add(producer.send(record));
            }
            producer.flush();
        }
        for (var future : sent) {
            future.get(30, TimeUnit.SECONDS); // an input that was not written would make the test meaningless
        }
    }

    /** Reads the output topic until {@code distinct} keys have been seen, then a little longer for stragglers. */
    static List<ConsumerRecord<byte[], byte[]>> readOutputs(
            EmbeddedKafkaBroker kafka, String topic, int distinct, boolean readCommitted) {
        Map<String, Object> config = kafka.clientConfig();
        config.put(ConsumerConfig.GROUP_ID_CONFIG, "reader-" + topic);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, readCommitted ? "read_committed" : "read_uncommitted");
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        java.util.Set<String> keys = new java.util.HashSet<>();
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            long settleUntil = Long.MAX_VALUE;
            while (System.nanoTime() < Math.min(deadline, settleUntil)) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(100))) {
                    records.add(record);
                    keys.add(new String(record.key(), StandardCharsets.UTF_8));
                }
                if (keys.size() >= distinct && settleUntil == Long.MAX_VALUE) {
                    settleUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
                }
            }
        }
        return records;
    }

    static void assertPredictionsMatchTheOfflineModel(List<ConsumerRecord<byte[], byte[]>> outputs) throws Exception {
        for (ConsumerRecord<byte[], byte[]> output : outputs) {
            int index = Integer.parseInt(new String(output.key(), StandardCharsets.UTF_8));
            JsonNode json = JSON.readTree(output.value());
            assertThat(json.get("values").get(0).floatValue()).isCloseTo(expected[index][0], within(1e-5f));
            assertThat(json.get("values").get(1).floatValue()).isCloseTo(expected[index][1], within(1e-5f));
            assertThat(json.get("class").asInt()).isEqualTo(expected[index][1] > expected[index][0] ? 1 : 0);
            assertThat(new String(output.headers().lastHeader("trace").value(), StandardCharsets.UTF_8))
                    .isEqualTo("t" + index);
            assertThat(new String(
                            output.headers()
                                    .lastHeader(KafkaMlConfig.RESULT_HEADER)
                                    .value(),
                            StandardCharsets.UTF_8))
                    .isEqualTo("train-1.tiny");
        }
    }

    static long distinctKeys(List<ConsumerRecord<byte[], byte[]>> outputs) {
        return outputs.stream()
                .map(r -> new String(r.key(), StandardCharsets.UTF_8))
                .distinct()
                .count();
    }

    @Test
    void twoReplicasPredictEveryInputAsTheModelDoesOffline(EmbeddedKafkaBroker kafka) throws Exception {
        kafka.createTopic("in-1", 4);
        produceInputs(kafka, "in-1", 0);
        try (LocalInference inference = LocalInference.start(
                registry,
                kafka.clientConfig(),
                "serve-1",
                InferenceSpec.builder("train-1.tiny", "in-1", "out-1")
                        .replicas(2)
                        .build())) {
            List<ConsumerRecord<byte[], byte[]>> outputs = readOutputs(kafka, "out-1", N, false);
            assertThat(distinctKeys(outputs)).isEqualTo(N);
            assertPredictionsMatchTheOfflineModel(outputs);
            // a prediction is counted when the producer's acknowledgement arrives, which a reader may beat
            org.awaitility.Awaitility.await()
                    .atMost(30, TimeUnit.SECONDS)
                    .until(() -> inference.stats().recordsOut() >= N);
            assertThat(inference.stats().recordsOut()).isGreaterThanOrEqualTo(N);
            assertThat(registry.inference("serve-1").orElseThrow().replicas()).isEqualTo(2);
            inference.scale(3);
            assertThat(inference.replicas()).hasSize(3);
            // at once, while the group rebalances for the two that joined: those closed now cannot leave it in time
            // and stay members until their sessions end; the owner's close must still record STOPPED, as no other
            // process serves it (it handed over, RELEASED, until its own replicas were told apart by client id)
            inference.scale(1);
            assertThat(registry.inference("serve-1").orElseThrow().replicas()).isEqualTo(1);
        }
        assertThat(registry.inference("serve-1").orElseThrow().status()).isEqualTo("STOPPED");
        // A graceful stop commits everything it processed: the group's offsets are at the end of the input.
        var committed = kafka.admin()
                .listConsumerGroupOffsets("kafkaml-inference-serve-1")
                .partitionsToOffsetAndMetadata()
                .get(30, TimeUnit.SECONDS);
        long total = committed.values().stream().mapToLong(o -> o.offset()).sum();
        assertThat(total).isEqualTo(N);
    }

    @Test
    void atLeastOnceAReplicaClosedAbruptlyLosesNothing(EmbeddedKafkaBroker kafka) throws Exception {
        kafka.createTopic("in-2", 4);
        try (LocalInference inference = LocalInference.start(
                registry,
                kafka.clientConfig(),
                "serve-2",
                InferenceSpec.builder("train-1.tiny", "in-2", "out-2")
                        .replicas(2)
                        .maxBatchSize(100)
                        .build())) {
            produceInputs(kafka, "in-2", 0);
            org.awaitility.Awaitility.await()
                    .atMost(60, TimeUnit.SECONDS)
                    .until(() -> inference.stats().recordsOut() > 2000);
            LocalInference.Replica crashed = inference.replicas().get(0);
            crashed.abort();
            assertThat(crashed.awaitStopped(Duration.ofSeconds(30))).isTrue();
            List<ConsumerRecord<byte[], byte[]>> outputs = readOutputs(kafka, "out-2", N, false);
            assertThat(distinctKeys(outputs)).as("none missing").isEqualTo(N);
            System.out.printf(
                    "at-least-once after an abrupt close: %d outputs for %d inputs (%d duplicates)%n",
                    outputs.size(), N, outputs.size() - N);
            assertPredictionsMatchTheOfflineModel(outputs);
        }
    }

    @Test
    void exactlyOnceAReadCommittedReaderSeesEachPredictionOnce(EmbeddedKafkaBroker kafka) throws Exception {
        kafka.createTopic("in-3", 4);
        try (LocalInference inference = LocalInference.start(
                registry,
                kafka.clientConfig(),
                "serve-3",
                InferenceSpec.builder("train-1.tiny", "in-3", "out-3")
                        .replicas(2)
                        .maxBatchSize(100)
                        .guarantee(ProcessingGuarantee.EXACTLY_ONCE)
                        .build())) {
            produceInputs(kafka, "in-3", 0);
            org.awaitility.Awaitility.await()
                    .atMost(60, TimeUnit.SECONDS)
                    .until(() -> inference.stats().recordsOut() > 2000);
            LocalInference.Replica crashed = inference.replicas().get(0);
            crashed.abort();
            assertThat(crashed.awaitStopped(Duration.ofSeconds(30))).isTrue();
            List<ConsumerRecord<byte[], byte[]>> outputs = readOutputs(kafka, "out-3", N, true);
            assertThat(outputs).hasSize(N);
            assertThat(distinctKeys(outputs)).isEqualTo(N);
            assertPredictionsMatchTheOfflineModel(outputs);
        }
    }

    @Test
    void undecodableInputsGoToTheDeadLetterTopicWithTheirOriginAndTheRestIsPredicted(EmbeddedKafkaBroker kafka)
            throws Exception {
        kafka.createTopic("in-4", 4);
        produceInputs(kafka, "in-4", 100);
        try (LocalInference inference = LocalInference.start(
                registry,
                kafka.clientConfig(),
                "serve-4",
                InferenceSpec.builder("train-1.tiny", "in-4", "out-4")
                        .replicas(2)
                        .deadLetterTopic("dlq-4")
                        .build())) {
            List<ConsumerRecord<byte[], byte[]>> outputs = readOutputs(kafka, "out-4", N - N / 100, false);
            assertThat(distinctKeys(outputs)).isEqualTo(N - N / 100);
            assertPredictionsMatchTheOfflineModel(outputs);
            List<ConsumerRecord<byte[], byte[]>> dead = readOutputs(kafka, "dlq-4", N / 100, false);
            assertThat(distinctKeys(dead)).isEqualTo(N / 100);
            Map<String, String> headers = new HashMap<>();
            dead.get(0).headers().forEach(h -> headers.put(h.key(), new String(h.value(), StandardCharsets.UTF_8)));
            assertThat(headers)
                    .containsEntry("kafkaml.dlq.topic", "in-4")
                    .containsKeys("kafkaml.dlq.partition", "kafkaml.dlq.offset", "trace")
                    .containsEntry("kafkaml.dlq.error.class", "io.kafkaml.format.RecordDecodeException");
            assertThat(headers.get("kafkaml.dlq.error.message")).contains("not valid JSON");
            assertThat(new String(dead.get(0).value(), StandardCharsets.UTF_8)).startsWith("not json");
            // counted on the producer's acknowledgement, which the reader above may have beaten
            org.awaitility.Awaitility.await()
                    .atMost(30, TimeUnit.SECONDS)
                    .until(() -> inference.stats().deadLettered() >= N / 100);
            assertThat(inference.stats().deadLettered()).isEqualTo(N / 100);
        }
    }

    static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
