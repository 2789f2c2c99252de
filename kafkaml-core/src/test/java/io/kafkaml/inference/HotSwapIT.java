package io.kafkaml.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.registry.ModelVersion;
import io.kafkaml.registry.Promotion;
import io.kafkaml.registry.Registry;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.awaitility.Awaitility;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * Hot swap into serving (issue 14): while inputs flow to two replicas that follow a result's promoted version, versions
 * are promoted (and rolled back); every input gets its prediction (exactly once under exactly-once, read with
 * {@code read_committed}; at least once otherwise), each prediction names in its {@code kafkaml.model.version} header
 * the version that made it (checked against that version's own output), and per input partition the version moves
 * only forward, once per promotion, unless rolled back.
 */
@ExtendWith(EmbeddedKafkaExtension.class)
class HotSwapIT {

    private static final int N = 50_000;
    private static final int PARTITIONS = 4;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Registry registry;
    private static final float[][] INPUTS = new float[N][3];
    /** Per version (1..3), the offline outputs of its network for every input. */
    private static final Map<Integer, float[][]> EXPECTED = new HashMap<>();

    private static MultiLayerConfiguration conf(int seed) {
        return new NeuralNetConfiguration.Builder()
                .seed(seed)
                .list()
                .layer(new DenseLayer.Builder()
                        .nIn(3)
                        .nOut(6)
                        .activation(Activation.TANH)
                        .build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                        .nIn(6)
                        .nOut(2)
                        .activation(Activation.SOFTMAX)
                        .build())
                .build();
    }

    @BeforeAll
    static void registerAResultWithThreeVersions(EmbeddedKafkaBroker kafka) {
        registry = Registry.connect(kafka.clientConfig(), "swap", Duration.ofSeconds(30));
        Random random = new Random(11);
        for (float[] row : INPUTS) {
            row[0] = random.nextFloat() * 2 - 1;
            row[1] = random.nextFloat() * 2 - 1;
            row[2] = random.nextFloat() * 2 - 1;
        }
        for (String result : List.of("swap", "back")) {
            String resultId = ServableResults.register(registry, result, conf(1), 3);
            for (int version = 1; version <= 3; version++) {
                MultiLayerNetwork network = new MultiLayerNetwork(conf(100 + version));
                network.init();
                EXPECTED.putIfAbsent(
                        version,
                        network.output(Nd4j.createFromArray(INPUTS), false).toFloatMatrix());
                registry.publishVersion(
                        resultId, network, null, Map.of("val_loss", 1.0 / version), Map.of(), "test", version == 1);
            }
        }
    }

    /**
     * Sends {@code count} inputs (input {@code i} to partition {@code i % 4}, key and header {@code i}) in steps of
     * 1,000, each once the deployment has written all but {@code lag} of those sent: the inputs keep flowing, and a
     * promotion made at a given output count happens while thousands are still to come.
     */
    private static CompletableFuture<Void> produceWhileServed(
            EmbeddedKafkaBroker kafka,
            String topic,
            int count,
            LocalInference inference,
            int lag,
            java.util.concurrent.CountDownLatch lastThousand) {
        return CompletableFuture.runAsync(() -> {
            try (KafkaProducer<byte[], byte[]> producer =
                    new KafkaProducer<>(kafka.clientConfig(), new ByteArraySerializer(), new ByteArraySerializer())) {
                List<Future<RecordMetadata>> sent = new ArrayList<>();
                for (int i = 0; i < count; i++) {
                    if (i % 1000 == 0) {
                        int written = i;
                        Awaitility.await()
                                .atMost(60, TimeUnit.SECONDS)
                                .until(() -> inference.stats().recordsOut() >= written - lag);
                    }
                    if (i == count - 1000) {
                        // the last thousand (250 per partition) wait for the last version's hand-over
                        assertThat(lastThousand.await(120, TimeUnit.SECONDS)).isTrue();
                    }
                    String value = "[" + INPUTS[i][0] + "," + INPUTS[i][1] + "," + INPUTS[i][2] + "]";
                    sent.add(producer.send(new ProducerRecord<>(topic, i % PARTITIONS, bytes("" + i), bytes(value))));
                }
                producer.flush();
                for (Future<RecordMetadata> future : sent) {
                    future.get(30, TimeUnit.SECONDS);
                }
            } catch (Exception e) {
                throw new java.util.concurrent.CompletionException(e);
            }
        });
    }

    /** Reads the output topic until every one of {@code count} inputs has a prediction, then 2 s more. */
    private static List<ConsumerRecord<byte[], byte[]>> readOutputs(
            EmbeddedKafkaBroker kafka, String topic, int count, boolean readCommitted) {
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
                if (keys.size() >= count && settleUntil == Long.MAX_VALUE) {
                    settleUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
                }
            }
        }
        return records;
    }

    /**
     * Checks each prediction against the offline output of the version its header names, and returns the version of
     * each input's prediction (its first one, if predicted twice).
     */
    private static int[] versionsOf(List<ConsumerRecord<byte[], byte[]>> outputs, int count) throws Exception {
        int[] versions = new int[count];
        for (ConsumerRecord<byte[], byte[]> output : outputs) {
            int index = Integer.parseInt(new String(output.key(), StandardCharsets.UTF_8));
            Header header = output.headers().lastHeader(KafkaMlConfig.MODEL_VERSION_HEADER);
            assertThat(header)
                    .as("the version header of input %d's prediction", index)
                    .isNotNull();
            int version = Integer.parseInt(new String(header.value(), StandardCharsets.UTF_8));
            JsonNode json = JSON.readTree(output.value());
            assertThat(json.get("values").get(0).floatValue())
                    .as("input %d predicted by version %d", index, version)
                    .isCloseTo(EXPECTED.get(version)[index][0], within(1e-4f));
            if (versions[index] == 0) {
                versions[index] = version;
            }
        }
        return versions;
    }

    /** Per input partition, the versions in input order, each run of equal versions shown once (e.g. [1, 2, 3]). */
    private static Map<Integer, List<Integer>> versionRuns(int[] versions) {
        Map<Integer, List<Integer>> runs = new TreeMap<>();
        for (int i = 0; i < versions.length; i++) {
            List<Integer> run = runs.computeIfAbsent(i % PARTITIONS, p -> new ArrayList<>());
            if (run.isEmpty() || run.get(run.size() - 1) != versions[i]) {
                run.add(versions[i]);
            }
        }
        return runs;
    }

    private void servesThroughTwoPromotions(EmbeddedKafkaBroker kafka, String name, ProcessingGuarantee guarantee)
            throws Exception {
        String resultId = "swap-train.swap";
        kafka.createTopic("in-" + name, PARTITIONS);
        // each test starts from version 1 (after the other test's promotions that is a rollback)
        registry.promote(resultId, 1, "test: start from version 1");
        try (LocalInference inference = LocalInference.start(
                registry,
                kafka.clientConfig(),
                "serve-" + name,
                InferenceSpec.builder(resultId, "in-" + name, "out-" + name)
                        .replicas(2)
                        .maxBatchSize(200)
                        .guarantee(guarantee)
                        .followPromoted(true)
                        .build())) {
            int before = 1;
            java.util.concurrent.CountDownLatch lastThousand = new java.util.concurrent.CountDownLatch(1);
            CompletableFuture<Void> producing =
                    produceWhileServed(kafka, "in-" + name, N, inference, 5_000, lastThousand);
            long base = inference.stats().recordsOut();
            Awaitility.await()
                    .atMost(60, TimeUnit.SECONDS)
                    .until(() -> inference.stats().recordsOut() >= base + N / 3);
            int second = before + 1;
            registry.promote(resultId, second, "test: promotion while inputs flow");
            // not before the replicas serve the second version, and a batch per replica after that (else a slow
            // hand-over could leave the second version nothing to predict)
            awaitHandedOver(inference, second);
            long handedOver = inference.stats().recordsOut();
            Awaitility.await()
                    .atMost(60, TimeUnit.SECONDS)
                    .until(() -> inference.stats().recordsOut() >= Math.max(base + 2 * N / 3, handedOver + 1000));
            registry.promote(resultId, second + 1, "test: second promotion while inputs flow");
            // each input partition gets inputs after the last hand-over, whatever the machine's speed
            awaitHandedOver(inference, second + 1);
            lastThousand.countDown();
            producing.get(90, TimeUnit.SECONDS);

            List<ConsumerRecord<byte[], byte[]>> outputs =
                    readOutputs(kafka, "out-" + name, N, guarantee == ProcessingGuarantee.EXACTLY_ONCE);
            long distinct = outputs.stream()
                    .map(r -> new String(r.key(), StandardCharsets.UTF_8))
                    .distinct()
                    .count();
            assertThat(distinct).as("every input predicted").isEqualTo(N);
            if (guarantee == ProcessingGuarantee.EXACTLY_ONCE) {
                assertThat(outputs).as("each input predicted once").hasSize(N);
            }
            Map<Integer, List<Integer>> runs = versionRuns(versionsOf(outputs, N));
            System.out.printf(
                    "%s: %d outputs for %d inputs; versions per input partition: %s%n", name, outputs.size(), N, runs);
            for (Map.Entry<Integer, List<Integer>> partition : runs.entrySet()) {
                assertThat(partition.getValue())
                        .as("versions of input partition %d, in input order", partition.getKey())
                        .isSubsetOf(before, second, second + 1)
                        .isSorted()
                        .doesNotHaveDuplicates()
                        .endsWith(second + 1);
            }
            assertThat(runs.values().stream().flatMap(List::stream))
                    .as("some inputs were predicted by the version promoted first")
                    .contains(second);
        }
    }

    @Test
    void exactlyOnceEveryInputHasOnePredictionThroughTwoPromotions(EmbeddedKafkaBroker kafka) throws Exception {
        servesThroughTwoPromotions(kafka, "eos", ProcessingGuarantee.EXACTLY_ONCE);
    }

    @Test
    void atLeastOnceNoInputIsMissedThroughTwoPromotions(EmbeddedKafkaBroker kafka) throws Exception {
        servesThroughTwoPromotions(kafka, "alo", ProcessingGuarantee.AT_LEAST_ONCE);
    }

    @Test
    void aRollbackGoesBackToTheOlderVersionAndAPinnedDeploymentStaysOnItsVersion(EmbeddedKafkaBroker kafka)
            throws Exception {
        String resultId = "back-train.back";
        int count = 9_000;
        kafka.createTopic("in-back", PARTITIONS);
        kafka.createTopic("in-pinned", PARTITIONS);
        int listeners = registry.listenerCount();
        try (LocalInference following = LocalInference.start(
                        registry,
                        kafka.clientConfig(),
                        "serve-back",
                        InferenceSpec.builder(resultId, "in-back", "out-back")
                                .replicas(2)
                                .maxBatchSize(100)
                                .followPromoted(true)
                                .build());
                LocalInference pinned = LocalInference.start(
                        registry,
                        kafka.clientConfig(),
                        "serve-pinned",
                        InferenceSpec.builder(resultId, "in-pinned", "out-pinned")
                                .version(3)
                                .build())) {
            // joining the following deployment pinned to a version would make the version depend on the partition
            assertThatThrownBy(() -> LocalInference.start(
                            registry,
                            kafka.clientConfig(),
                            "serve-back",
                            InferenceSpec.builder(resultId, "in-back", "out-back")
                                    .version(3)
                                    .build()))
                    .isInstanceOf(InferenceException.class)
                    .hasMessageContaining("(its promoted version (following promotions))")
                    .hasMessageContaining("this start asks for " + resultId + " (version 3)");
            produce(kafka, "in-pinned", 0, 2_000);
            // in three parts, each once every replica was handed the version of the part, so that each input
            // partition has inputs to show each switch
            int part = count / 3;
            produce(kafka, "in-back", 0, part);
            Awaitility.await()
                    .atMost(60, TimeUnit.SECONDS)
                    .until(() -> following.stats().recordsOut() >= part);
            registry.promote(resultId, 2, "test");
            awaitHandedOver(following, 2);
            produce(kafka, "in-back", part, 2 * part);
            Awaitility.await()
                    .atMost(60, TimeUnit.SECONDS)
                    .until(() -> following.stats().recordsOut() >= 2 * part);
            Promotion rollback = registry.promote(resultId, 1, "test: version 2 mispredicts");
            assertThat(rollback.rollback()).isTrue();
            awaitHandedOver(following, 1);
            produce(kafka, "in-back", 2 * part, count);

            Map<Integer, List<Integer>> runs =
                    versionRuns(versionsOf(readOutputs(kafka, "out-back", count, false), count));
            System.out.printf("rollback: versions per input partition: %s%n", runs);
            runs.forEach((partition, versions) -> assertThat(versions)
                    .as("versions of input partition %d, in input order", partition)
                    .containsExactly(1, 2, 1));
            int[] pinnedVersions = versionsOf(readOutputs(kafka, "out-pinned", 2_000, false), 2_000);
            assertThat(java.util.Arrays.stream(pinnedVersions).distinct().toArray())
                    .containsExactly(3);
            assertThat(registry.promotions(resultId))
                    .extracting(Promotion::version, Promotion::rollback)
                    .containsExactly(
                            org.assertj.core.groups.Tuple.tuple(1, false),
                            org.assertj.core.groups.Tuple.tuple(2, false),
                            org.assertj.core.groups.Tuple.tuple(1, true));
            assertThat(registry.versions(resultId))
                    .extracting(ModelVersion::version)
                    .containsExactly(1, 2, 3);
            assertThat(registry.listenerCount()).isGreaterThan(listeners); // the follower's
        }
        // stopped deployments leave no listener on a registry that serves others after them
        assertThat(registry.listenerCount()).isEqualTo(listeners);
    }

    /** Waits until each replica of {@code inference} serves {@code version} or was handed it for its next batch. */
    private static void awaitHandedOver(LocalInference inference, int version) {
        Awaitility.await()
                .atMost(30, TimeUnit.SECONDS)
                .until(() -> !inference.modelVersions().isEmpty()
                        && inference.modelVersions().values().stream().allMatch(v -> v == version));
    }

    /** Sends inputs {@code from} to {@code to} (exclusive), input {@code i} to partition {@code i % 4}. */
    private static void produce(EmbeddedKafkaBroker kafka, String topic, int from, int to) throws Exception {
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(kafka.clientConfig(), new ByteArraySerializer(), new ByteArraySerializer())) {
            List<Future<RecordMetadata>> sent = new ArrayList<>();
            for (int i = from; i < to; i++) {
                String value = "[" + INPUTS[i][0] + "," + INPUTS[i][1] + "," + INPUTS[i][2] + "]";
                sent.add(producer.send(new ProducerRecord<>(topic, i % PARTITIONS, bytes("" + i), bytes(value))));
            }
            producer.flush();
            for (Future<RecordMetadata> future : sent) {
                future.get(30, TimeUnit.SECONDS);
            }
        }
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
