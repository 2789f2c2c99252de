package io.kafkaml.inference;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kafkaml.KafkaMl;
import io.kafkaml.config.KafkaClientSupplier;
import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.registry.Registry;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.testing.InMemoryKafka;
import java.io.ByteArrayInputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.awaitility.Awaitility;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * Serving through the facade with no broker: {@link KafkaMl.Builder#clientSupplier} on an in-memory log
 * ({@link InMemoryKafka}), so the registry and every inference replica's consumer, producer and admin client are
 * {@code MockConsumer}s, {@code MockProducer}s and an in-memory admin. The in-memory log has no consumer groups: the
 * supplier here gives a consumer that subscribes every partition of its topic at its first poll, as a group of one
 * member would, and records what it commits. Real DL4J forward passes; predictions are checked against the model read
 * back from the registry.
 */
class ServeMockClientsTest {

    private static final int INPUTS = 120;
    private static final String GROUP = "kafkaml-inference-serve-mock";

    private final InMemoryKafka kafka = new InMemoryKafka();
    private final GroupOfOne clients = new GroupOfOne(kafka);

    /**
     * The in-memory log's clients, with a consumer group of one member: a subscribing consumer is assigned every
     * partition of its topics at its first poll; commits are recorded per group.
     */
    static final class GroupOfOne implements KafkaClientSupplier {
        private final InMemoryKafka kafka;
        final Map<String, Map<TopicPartition, Long>> committed = new ConcurrentHashMap<>();
        final Map<String, MockProducer<byte[], byte[]>> producers = new ConcurrentHashMap<>();

        GroupOfOne(InMemoryKafka kafka) {
            this.kafka = kafka;
        }

        @Override
        @SuppressWarnings("unchecked")
        public Consumer<byte[], byte[]> consumer(Map<String, Object> config) {
            MockConsumer<byte[], byte[]> real = (MockConsumer<byte[], byte[]>) kafka.consumer(config);
            Object group = config.get(ConsumerConfig.GROUP_ID_CONFIG);
            if (group == null) {
                return real;
            }
            return (Consumer<byte[], byte[]>) Proxy.newProxyInstance(
                    Consumer.class.getClassLoader(), new Class<?>[] {Consumer.class}, (proxy, method, args) -> {
                        String name = method.getName();
                        if (name.equals("subscribe") && args[0] instanceof Collection<?> topics) {
                            List<TopicPartition> all = new ArrayList<>();
                            for (Object topic : topics) {
                                for (int p = 0; p < kafka.partitionCount(topic.toString()); p++) {
                                    all.add(new TopicPartition(topic.toString(), p));
                                }
                            }
                            Object done = invoke(method, real, args);
                            real.schedulePollTask(() -> {
                                Map<TopicPartition, Long> beginnings = new HashMap<>();
                                all.forEach(partition -> beginnings.put(partition, 0L));
                                real.updateBeginningOffsets(beginnings);
                                real.rebalance(all);
                            });
                            return done;
                        }
                        if ((name.equals("commitSync") || name.equals("commitAsync"))
                                && args != null
                                && args.length > 0
                                && args[0] instanceof Map<?, ?> offsets) {
                            offsets.forEach((partition, offset) -> committed
                                    .computeIfAbsent(group.toString(), g -> new ConcurrentHashMap<>())
                                    .merge(
                                            (TopicPartition) partition,
                                            ((OffsetAndMetadata) offset).offset(),
                                            Math::max));
                        }
                        return invoke(method, real, args);
                    });
        }

        @Override
        public Producer<byte[], byte[]> producer(Map<String, Object> config) {
            MockProducer<byte[], byte[]> producer = (MockProducer<byte[], byte[]>) kafka.producer(config);
            producers.put(String.valueOf(config.get(ProducerConfig.CLIENT_ID_CONFIG)), producer);
            return producer;
        }

        @Override
        public Admin admin(Map<String, Object> config) {
            return kafka.admin(config);
        }

        private static Object invoke(java.lang.reflect.Method method, Object target, Object[] args) throws Throwable {
            try {
                return method.invoke(target, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        }
    }

    private KafkaMl facade() {
        return KafkaMl.builder(Map.of(
                        "bootstrap.servers", "in-memory:9092",
                        "kafkaml.registry.prefix", "serve-mock",
                        "kafkaml.control.topic", "serve-mock-control"))
                .clientSupplier(clients)
                .controlLogger(false)
                .registryTimeout(Duration.ofSeconds(10))
                .build()
                .start();
    }

    private static org.deeplearning4j.nn.conf.MultiLayerConfiguration classifier() {
        return new NeuralNetConfiguration.Builder()
                .seed(5)
                .list()
                .layer(new DenseLayer.Builder()
                        .nIn(2)
                        .nOut(4)
                        .activation(Activation.TANH)
                        .build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                        .nIn(4)
                        .nOut(3)
                        .activation(Activation.SOFTMAX)
                        .build())
                .build();
    }

    /** Writes INPUTS JSON inputs over two partitions, and one undecodable input at partition 1's offset 10. */
    private float[][] sendInputs() {
        kafka.createTopic("in", 2, Map.of());
        float[][] rows = new float[INPUTS][];
        try (Producer<byte[], byte[]> producer = kafka.producer(Map.of())) {
            for (int i = 0; i < INPUTS; i++) {
                rows[i] = new float[] {i / (float) INPUTS, 1 - i / (float) INPUTS};
                String value = String.format(Locale.ROOT, "[%s, %s]", rows[i][0], rows[i][1]);
                producer.send(new ProducerRecord<>(
                        "in",
                        i % 2,
                        String.valueOf(i).getBytes(StandardCharsets.UTF_8),
                        value.getBytes(StandardCharsets.UTF_8)));
                if (i == 20) {
                    producer.send(new ProducerRecord<>(
                            "in", 1, "bad".getBytes(StandardCharsets.UTF_8), "[1, ".getBytes(StandardCharsets.UTF_8)));
                }
            }
        }
        return rows;
    }

    @Test
    void serveUsesTheFacadesClientSupplierAndPredictsEachInputOnceAtLeastOnce() throws Exception {
        try (KafkaMl ml = facade()) {
            String resultId = ServableResults.register(ml.registry(), "mock-mlp", classifier(), 2);
            float[][] rows = sendInputs();
            LocalInference inference = ml.serve(
                    "serve-mock",
                    InferenceSpec.builder(resultId, "in", "out")
                            .deadLetterTopic("dlq")
                            .build());
            Awaitility.await()
                    .atMost(Duration.ofSeconds(60))
                    .until(() -> kafka.records("out").size() >= INPUTS
                            && kafka.records("dlq").size() == 1
                            && committedUpTo(Map.of(0, 60L, 1, 61L)));
            assertThat(inference.replicas())
                    .singleElement()
                    .satisfies(replica -> assertThat(replica.name()).startsWith("serve-mock-"));

            // the replica's clients came from the supplier, with the group and the settings kafkaml enforces
            assertThat(kafka.consumerConfigs())
                    .filteredOn(c -> GROUP.equals(c.get(ConsumerConfig.GROUP_ID_CONFIG)))
                    .singleElement()
                    .satisfies(c -> assertThat(c)
                            .containsEntry(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false)
                            .containsEntry(
                                    ConsumerConfig.CLIENT_ID_CONFIG,
                                    inference.replicas().get(0).name() + "-consumer"));
            assertThat(kafka.producerConfigs())
                    .filteredOn(c -> String.valueOf(c.get(ProducerConfig.CLIENT_ID_CONFIG))
                            .startsWith("serve-mock-"))
                    .singleElement()
                    .satisfies(c -> assertThat(c).containsEntry(ProducerConfig.ACKS_CONFIG, "all"));

            assertPredictions(ml.registry(), resultId, rows, kafka.records("out"));
            ConsumerRecord<byte[], byte[]> dead = kafka.records("dlq").get(0);
            assertThat(header(dead, KafkaMlConfig.DLQ_PARTITION_HEADER)).isEqualTo("1");
            assertThat(header(dead, KafkaMlConfig.DLQ_OFFSET_HEADER)).isEqualTo("10");
            assertThat(header(dead, KafkaMlConfig.DLQ_STAGE_HEADER)).isEqualTo("DECODE");
            assertThat(inference.stats().recordsOut()).isEqualTo(INPUTS);
            assertThat(inference.stats().deadLettered()).isEqualTo(1);
        }
        // closing the facade closed every client it and its replica were given
        assertThat(kafka.openClients()).isZero();
    }

    @Test
    void exactlyOnceEachPollsPredictionsAndOffsetsAreOneTransactionOfTheSuppliedProducer() throws Exception {
        try (KafkaMl ml = facade()) {
            String resultId = ServableResults.register(ml.registry(), "mock-eos", classifier(), 2);
            float[][] rows = sendInputs();
            LocalInference inference = ml.serve(
                    "serve-mock",
                    InferenceSpec.builder(resultId, "in", "out")
                            .deadLetterTopic("dlq")
                            .guarantee(ProcessingGuarantee.EXACTLY_ONCE)
                            .build());
            Awaitility.await()
                    .atMost(Duration.ofSeconds(60))
                    .until(() -> inference.stats().recordsOut() == INPUTS);
            MockProducer<byte[], byte[]> producer =
                    clients.producers.get(inference.replicas().get(0).name() + "-producer");
            assertThat(producer.transactionInitialized()).isTrue();
            // the offsets of every input (the undecodable one too) went into the producer's committed transactions
            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> {
                Map<TopicPartition, Long> last = new HashMap<>();
                for (Map<String, Map<TopicPartition, OffsetAndMetadata>> tx : producer.consumerGroupOffsetsHistory()) {
                    // a MockConsumer's group metadata names a dummy group: take the transactions' offsets of any
                    tx.values().forEach(offsets -> offsets.forEach((tp, o) -> last.merge(tp, o.offset(), Math::max)));
                }
                return Long.valueOf(60).equals(last.get(new TopicPartition("in", 0)))
                        && Long.valueOf(61).equals(last.get(new TopicPartition("in", 1)));
            });
            assertThat(producer.transactionAborted()).isFalse();
            assertPredictions(ml.registry(), resultId, rows, kafka.records("out"));
            assertThat(kafka.records("dlq")).hasSize(1);
        }
        assertThat(kafka.openClients()).isZero();
    }

    private boolean committedUpTo(Map<Integer, Long> ends) {
        Map<TopicPartition, Long> offsets = clients.committed.getOrDefault(GROUP, Map.of());
        return ends.entrySet().stream()
                .allMatch(e -> e.getValue().equals(offsets.get(new TopicPartition("in", e.getKey()))));
    }

    /** Every input predicted once, as the model stored in the registry predicts it, under the input's key. */
    private static void assertPredictions(
            Registry registry, String resultId, float[][] rows, List<ConsumerRecord<byte[], byte[]>> outputs)
            throws Exception {
        TrainingResult result = registry.result(resultId).orElseThrow();
        MultiLayerNetwork model = ModelSerializer.restoreMultiLayerNetwork(
                new ByteArrayInputStream(registry.loadArtifact(result.artifact())), false);
        INDArray expected = model.output(Nd4j.createFromArray(rows));
        ObjectMapper json = new ObjectMapper();
        assertThat(outputs).hasSize(rows.length);
        assertThat(outputs)
                .extracting(r -> new String(r.key(), StandardCharsets.UTF_8))
                .doesNotHaveDuplicates();
        for (ConsumerRecord<byte[], byte[]> output : outputs) {
            int row = Integer.parseInt(new String(output.key(), StandardCharsets.UTF_8));
            assertThat(header(output, KafkaMlConfig.RESULT_HEADER)).isEqualTo(resultId);
            JsonNode prediction = json.readTree(output.value());
            for (int k = 0; k < 3; k++) {
                assertThat(prediction.get("values").get(k).floatValue())
                        .isCloseTo(expected.getFloat(row, k), org.assertj.core.data.Offset.offset(1e-5f));
            }
            assertThat(prediction.get("class").intValue())
                    .isEqualTo(expected.getRow(row).argMax().getInt(0));
        }
    }

    private static String header(ConsumerRecord<byte[], byte[]> record, String key) {
        return new String(record.headers().lastHeader(key).value(), StandardCharsets.UTF_8);
    }
}
