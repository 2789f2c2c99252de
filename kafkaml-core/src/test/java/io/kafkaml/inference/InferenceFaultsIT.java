package io.kafkaml.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.inference.InferenceExceptionHandler.FailedInput;
import io.kafkaml.inference.InferenceExceptionHandler.Response;
import io.kafkaml.inference.InferenceExceptionHandler.Stage;
import io.kafkaml.registry.Inference;
import io.kafkaml.registry.Registry;
import io.kafkaml.runtime.RestartPolicy;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * Faults of an inference deployment against a real broker: inputs that fail for a reason of their own (the
 * {@code oversized-prediction} case), replicas that throw, and a deployment id that is taken.
 */
@ExtendWith(EmbeddedKafkaExtension.class)
class InferenceFaultsIT {

    static Registry registry;
    /** The case's model: 3 inputs, 300 outputs; each JSON prediction is several KiB. */
    static String wideResult;
    /** 3 inputs, 200 outputs: a prediction (about 2.6 KB) fits 4 KiB unless its input carries a 3.3 KB header. */
    static String mediumResult;

    @BeforeAll
    static void registerModels(EmbeddedKafkaBroker kafka) throws Exception {
        registry = Registry.connect(kafka.clientConfig(), "faults", Duration.ofSeconds(30));
        Path wide = Path.of(System.getProperty("kafkaml.shared.cases"), "oversized-prediction", "wide-regression.json");
        wideResult =
                ServableResults.register(registry, "wide", MultiLayerConfiguration.fromJson(Files.readString(wide)), 3);
        MultiLayerConfiguration medium = new NeuralNetConfiguration.Builder()
                .seed(7)
                .list()
                .layer(new OutputLayer.Builder(LossFunction.MSE)
                        .nIn(3)
                        .nOut(200)
                        .activation(Activation.TANH)
                        .build())
                .build();
        mediumResult = ServableResults.register(registry, "medium", medium, 3);
    }

    static Map<String, Object> config(EmbeddedKafkaBroker kafka, Object... keyValues) {
        Map<String, Object> config = kafka.clientConfig();
        for (int i = 0; i < keyValues.length; i += 2) {
            config.put(keyValues[i].toString(), keyValues[i + 1]);
        }
        return config;
    }

    /** Sends {@code count} JSON inputs keyed by their index from {@code first}; every {@code padEvery}-th is padded. */
    static void send(EmbeddedKafkaBroker kafka, String topic, int first, int count, int padEvery) throws Exception {
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(kafka.clientConfig(), new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = first; i < first + count; i++) {
                ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(
                        topic, bytes(String.valueOf(i)), bytes("[" + (i % 7) + "," + (i % 5) * 0.5 + ",1.5]"));
                if (padEvery > 0 && i % padEvery == 0) {
                    record.headers().add("pad", new byte[3300]);
                }
                sent.add(producer.send(record));
            }
        }
        for (Future<RecordMetadata> future : sent) {
            future.get(30, TimeUnit.SECONDS);
        }
    }

    /** Reads {@code topic} until {@code expected} records came and no more come within 2 s. */
    static List<ConsumerRecord<byte[], byte[]>> read(
            EmbeddedKafkaBroker kafka, String topic, int expected, boolean readCommitted) {
        Map<String, Object> config = config(
                kafka,
                ConsumerConfig.GROUP_ID_CONFIG,
                "reader-" + topic + "-" + System.nanoTime(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
                "earliest",
                ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                readCommitted ? "read_committed" : "read_uncommitted");
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            long settleUntil = Long.MAX_VALUE;
            while (System.nanoTime() < Math.min(deadline, settleUntil)) {
                consumer.poll(Duration.ofMillis(100)).forEach(records::add);
                if (records.size() >= expected && settleUntil == Long.MAX_VALUE) {
                    settleUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
                }
            }
        }
        return records;
    }

    static Map<String, String> headers(ConsumerRecord<byte[], byte[]> record) {
        Map<String, String> headers = new HashMap<>();
        record.headers().forEach(h -> headers.put(h.key(), new String(h.value(), StandardCharsets.UTF_8)));
        return headers;
    }

    static Set<String> keys(List<ConsumerRecord<byte[], byte[]>> records) {
        Set<String> keys = new HashSet<>();
        records.forEach(r -> keys.add(new String(r.key(), StandardCharsets.UTF_8)));
        return keys;
    }

    static long committed(EmbeddedKafkaBroker kafka, String group) throws Exception {
        return kafka
                .admin()
                .listConsumerGroupOffsets(group)
                .partitionsToOffsetAndMetadata()
                .get(30, TimeUnit.SECONDS)
                .values()
                .stream()
                .mapToLong(o -> o.offset())
                .sum();
    }

    @Test
    void oversizedPredictionsGoToTheDeadLetterTopicWithTheReasonAndTheReplicaKeepsServing(EmbeddedKafkaBroker kafka)
            throws Exception {
        kafka.createTopic("wide-in", 2);
        send(kafka, "wide-in", 0, 20, 0);
        try (LocalInference inference = LocalInference.start(
                registry,
                config(kafka, "producer.max.request.size", 1024),
                "wide-dlq",
                InferenceSpec.builder(wideResult, "wide-in", "wide-out")
                        .deadLetterTopic("wide-dlq")
                        .build())) {
            List<ConsumerRecord<byte[], byte[]>> dead = read(kafka, "wide-dlq", 20, false);
            assertThat(keys(dead)).hasSize(20);
            Map<String, String> first = headers(dead.get(0));
            assertThat(first)
                    .containsEntry(KafkaMlConfig.DLQ_TOPIC_HEADER, "wide-in")
                    .containsEntry(KafkaMlConfig.DLQ_STAGE_HEADER, "PRODUCE")
                    .containsEntry(KafkaMlConfig.DLQ_ERROR_CLASS_HEADER, RecordTooLargeException.class.getName())
                    .containsKeys(KafkaMlConfig.DLQ_PARTITION_HEADER, KafkaMlConfig.DLQ_OFFSET_HEADER);
            assertThat(first.get(KafkaMlConfig.DLQ_ERROR_MESSAGE_HEADER)).contains("max.request.size");
            await().atMost(30, TimeUnit.SECONDS).until(() -> committed(kafka, inference.groupId()) == 20);
            // the replica goes on: later inputs are handled too, and it never failed or restarted
            send(kafka, "wide-in", 20, 10, 0);
            assertThat(keys(read(kafka, "wide-dlq", 30, false))).hasSize(30);
            await().atMost(30, TimeUnit.SECONDS).until(() -> committed(kafka, inference.groupId()) == 30);
            assertThat(inference.stats().recordsOut())
                    .as("nothing was written to the output topic")
                    .isZero();
            assertThat(inference.stats().deadLettered()).isEqualTo(30);
            assertThat(inference.restarts()).isZero();
            assertThat(inference.state()).isEqualTo(LocalInference.State.RUNNING);
            assertThat(registry.inference("wide-dlq").orElseThrow().status()).isEqualTo("RUNNING");
        }
    }

    @Test
    void inputsOverTheRecordByteLimitGoToTheDeadLetterTopicNamingTheLimitAndTheOthersArePredicted(
            EmbeddedKafkaBroker kafka) throws Exception {
        kafka.createTopic("big-in", 1);
        send(kafka, "big-in", 0, 6, 0);
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(kafka.clientConfig(), new ByteArraySerializer(), new ByteArraySerializer())) {
            // valid JSON inputs of 3 values, padded with whitespace to 207 bytes: over the limit of 64
            producer.send(new ProducerRecord<>("big-in", bytes("big"), bytes("[1, 2," + " ".repeat(200) + "3]")))
                    .get(30, TimeUnit.SECONDS);
        }
        send(kafka, "big-in", 6, 4, 0);
        try (LocalInference inference = LocalInference.start(
                registry,
                config(kafka, io.kafkaml.config.KafkaMlConfig.MAX_RECORD_BYTES_CONFIG, "64"),
                "big-dlq",
                InferenceSpec.builder(mediumResult, "big-in", "big-out")
                        .deadLetterTopic("big-dlq")
                        .build())) {
            List<ConsumerRecord<byte[], byte[]>> dead = read(kafka, "big-dlq", 1, false);
            assertThat(keys(dead)).containsExactly("big");
            Map<String, String> headers = headers(dead.get(0));
            assertThat(headers)
                    .containsEntry(KafkaMlConfig.DLQ_TOPIC_HEADER, "big-in")
                    .containsEntry(KafkaMlConfig.DLQ_PARTITION_HEADER, "0")
                    .containsEntry(KafkaMlConfig.DLQ_OFFSET_HEADER, "6")
                    .containsEntry(KafkaMlConfig.DLQ_STAGE_HEADER, "DECODE");
            assertThat(headers.get(KafkaMlConfig.DLQ_ERROR_MESSAGE_HEADER))
                    .contains("211 bytes", "limit of 64 bytes per record (kafkaml.max.record.bytes)");
            assertThat(keys(read(kafka, "big-out", 10, false))).hasSize(10).doesNotContain("big");
            assertThat(inference.restarts()).isZero();
            assertThat(inference.state()).isEqualTo(LocalInference.State.RUNNING);
        }
    }

    @Test
    void withoutADeadLetterTopicAnOversizedPredictionFailsTheDeploymentVisiblyAndOnce(EmbeddedKafkaBroker kafka)
            throws Exception {
        kafka.createTopic("wide-in-2", 1);
        send(kafka, "wide-in-2", 0, 5, 0);
        LocalInference inference = LocalInference.start(
                registry,
                config(kafka, "producer.max.request.size", 1024),
                "wide-fail",
                InferenceSpec.builder(wideResult, "wide-in-2", "wide-out-2").build());
        assertThat(inference.awaitTermination(Duration.ofSeconds(60))).isTrue();
        assertThat(inference.state()).isEqualTo(LocalInference.State.FAILED);
        assertThat(inference.restarts())
                .as("the same input would fail again: no restart loop")
                .isZero();
        Inference recorded = registry.inference("wide-fail").orElseThrow();
        assertThat(recorded.status()).isEqualTo("FAILED");
        assertThat(recorded.error())
                .contains("wide-in-2-0@0")
                .contains("no dead-letter topic")
                .contains("max.request.size");
        assertThat(recorded.restarts()).isZero();
        assertThat(committed(kafka, inference.groupId()))
                .as("nothing skipped silently")
                .isZero();
        inference.close();
        assertThat(registry.inference("wide-fail").orElseThrow().status()).isEqualTo("FAILED");
    }

    @Test
    void exactlyOnceARefusedPredictionAbortsRewindsAndIsDeadLetteredWhileTheOthersArePredictedOnce(
            EmbeddedKafkaBroker kafka) throws Exception {
        kafka.createTopic("mix-in", 3);
        int n = 300;
        send(kafka, "mix-in", 0, n, 10); // every 10th input carries a header that makes its prediction too large
        try (LocalInference inference = LocalInference.start(
                registry,
                config(kafka, "producer.max.request.size", 4096),
                "mix",
                InferenceSpec.builder(mediumResult, "mix-in", "mix-out")
                        .replicas(2)
                        .maxBatchSize(50)
                        .guarantee(ProcessingGuarantee.EXACTLY_ONCE)
                        .deadLetterTopic("mix-dlq")
                        .build())) {
            List<ConsumerRecord<byte[], byte[]>> outputs = read(kafka, "mix-out", n - n / 10, true);
            assertThat(outputs).hasSize(n - n / 10);
            assertThat(keys(outputs)).hasSize(n - n / 10).noneMatch(k -> Integer.parseInt(k) % 10 == 0);
            List<ConsumerRecord<byte[], byte[]>> dead = read(kafka, "mix-dlq", n / 10, true);
            assertThat(dead).hasSize(n / 10);
            assertThat(keys(dead)).allMatch(k -> Integer.parseInt(k) % 10 == 0);
            assertThat(headers(dead.get(0)))
                    .containsEntry(KafkaMlConfig.DLQ_ERROR_CLASS_HEADER, RecordTooLargeException.class.getName());
            await().atMost(30, TimeUnit.SECONDS)
                    .until(() -> inference.stats().recordsOut() == n - n / 10
                            && inference.stats().deadLettered() == n / 10);
            assertThat(inference.restarts()).isZero();
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(ProcessingGuarantee.class)
    void aDeadLetterCopyTooLargeItselfLeavesTheInputOutAndTheReplicaGoesOn(
            ProcessingGuarantee guarantee, EmbeddedKafkaBroker kafka) throws Exception {
        String in = "huge-in-" + guarantee.ordinal();
        String dlq = "huge-dlq-" + guarantee.ordinal();
        kafka.createTopic(in, 1);
        // the broker refuses dead-letter batches over 3000 bytes; the producer allows 4096
        kafka.createTopic(dlq, 1, Map.of("max.message.bytes", "3000"));
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(kafka.clientConfig(), new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = 0; i < 30; i++) {
                ProducerRecord<byte[], byte[]> record =
                        new ProducerRecord<>(in, bytes(String.valueOf(i)), bytes("[" + (i % 7) + ",0.5,1.5]"));
                if (i % 10 == 3) {
                    record.headers().add("pad", new byte[2900]); // prediction too large; its copy passes the producer
                } else if (i % 10 == 7) {
                    record.headers().add("pad", new byte[5000]); // prediction and copy over max.request.size
                }
                sent.add(producer.send(record));
            }
        }
        for (Future<RecordMetadata> future : sent) {
            future.get(30, TimeUnit.SECONDS);
        }
        boolean exactlyOnce = guarantee == ProcessingGuarantee.EXACTLY_ONCE;
        try (LocalInference inference = LocalInference.start(
                registry,
                config(kafka, "producer.max.request.size", 4096),
                "huge-" + guarantee.ordinal(),
                InferenceSpec.builder(mediumResult, in, "huge-out-" + guarantee.ordinal())
                        .guarantee(guarantee)
                        .maxBatchSize(10)
                        .deadLetterTopic(dlq)
                        .build())) {
            List<ConsumerRecord<byte[], byte[]>> outputs =
                    read(kafka, "huge-out-" + guarantee.ordinal(), 24, exactlyOnce);
            assertThat(keys(outputs))
                    .hasSize(24)
                    .noneMatch(k -> Integer.parseInt(k) % 10 == 3 || Integer.parseInt(k) % 10 == 7);
            List<ConsumerRecord<byte[], byte[]>> dead = read(kafka, dlq, 6, exactlyOnce);
            assertThat(dead).hasSize(6);
            Set<String> offsets = new HashSet<>();
            for (ConsumerRecord<byte[], byte[]> record : dead) {
                Map<String, String> headers = headers(record);
                assertThat(record.key()).isNull();
                assertThat(record.value()).isNull();
                assertThat(headers)
                        .doesNotContainKey("pad")
                        .containsEntry(KafkaMlConfig.DLQ_TOPIC_HEADER, in)
                        .containsEntry(KafkaMlConfig.DLQ_PARTITION_HEADER, "0")
                        .containsEntry(KafkaMlConfig.DLQ_STAGE_HEADER, "PRODUCE")
                        .containsEntry(KafkaMlConfig.DLQ_ERROR_CLASS_HEADER, RecordTooLargeException.class.getName());
                assertThat(headers.get(KafkaMlConfig.DLQ_PAYLOAD_OMITTED_HEADER))
                        .contains("left out");
                offsets.add(headers.get(KafkaMlConfig.DLQ_OFFSET_HEADER));
            }
            assertThat(offsets).containsExactlyInAnyOrder("3", "7", "13", "17", "23", "27");
            // exactly once, a transaction's counts are added after its commit (which the committed offsets show): await
            // all three together, or the last transaction's outputs may not be counted yet
            await().atMost(30, TimeUnit.SECONDS)
                    .until(() -> committed(kafka, inference.groupId()) == 30
                            && inference.stats().deadLettered() == 6
                            && inference.stats().recordsOut() == 24);
            assertThat(inference.stats().recordsOut()).isEqualTo(24);
            assertThat(inference.restarts()).isZero();
            assertThat(inference.state()).isEqualTo(LocalInference.State.RUNNING);
        }
    }

    /** Continues on every failed input, whether or not a dead-letter topic is set. */
    public static final class ContinueHandler implements InferenceExceptionHandler {
        @Override
        public Response handle(FailedInput failure) {
            return Response.CONTINUE;
        }
    }

    @Test
    void inputsDroppedWithoutADeadLetterTopicAreCountedAsDroppedNotDeadLettered(EmbeddedKafkaBroker kafka)
            throws Exception {
        kafka.createTopic("drop-in", 1);
        send(kafka, "drop-in", 0, 12, 0);
        try (LocalInference inference = LocalInference.start(
                registry,
                config(
                        kafka,
                        "producer.max.request.size",
                        1024,
                        InferenceConfig.EXCEPTION_HANDLER_CONFIG,
                        ContinueHandler.class.getName()),
                "drop",
                InferenceSpec.builder(wideResult, "drop-in", "drop-out").build())) {
            await().atMost(30, TimeUnit.SECONDS).until(() -> inference.stats().dropped() == 12);
            assertThat(inference.stats().deadLettered()).isZero();
            assertThat(inference.stats().recordsOut()).isZero();
            assertThat(inference.stats().toString()).contains("dead-lettered 0, dropped 12");
        }
    }

    /** Throws an {@link Error} (a replica crash, not a decision) on undecodable inputs while {@link #crashes} > 0. */
    public static final class CrashingHandler implements InferenceExceptionHandler {
        static final AtomicInteger crashes = new AtomicInteger();

        @Override
        public Response handle(FailedInput failure) {
            if (failure.stage() == Stage.DECODE && crashes.getAndDecrement() > 0) {
                throw new InjectedFault("injected fault at " + failure.location());
            }
            return Response.CONTINUE;
        }
    }

    static final class InjectedFault extends Error {
        private static final long serialVersionUID = 1L;

        InjectedFault(String message) {
            super(message);
        }
    }

    @Test
    void aReplicaThatThrowsIsReplacedAndTheRegistryShowsIt(EmbeddedKafkaBroker kafka) throws Exception {
        kafka.createTopic("crash-in", 1);
        send(kafka, "crash-in", 0, 50, 0);
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(kafka.clientConfig(), new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>("crash-in", bytes("bad"), bytes("not json")))
                    .get(30, TimeUnit.SECONDS);
        }
        send(kafka, "crash-in", 50, 50, 0);
        CrashingHandler.crashes.set(1);
        try (LocalInference inference = LocalInference.start(
                registry,
                config(
                        kafka,
                        InferenceConfig.EXCEPTION_HANDLER_CONFIG,
                        CrashingHandler.class.getName(),
                        RestartPolicy.BACKOFF_MS_CONFIG,
                        100,
                        RestartPolicy.MAX_RESTARTS_CONFIG,
                        2),
                "crash",
                InferenceSpec.builder(mediumResult, "crash-in", "crash-out")
                        .deadLetterTopic("crash-dlq")
                        .build())) {
            List<ConsumerRecord<byte[], byte[]>> outputs = read(kafka, "crash-out", 100, false);
            assertThat(keys(outputs)).hasSize(100);
            assertThat(keys(read(kafka, "crash-dlq", 1, false))).containsExactly("bad");
            assertThat(inference.restarts()).isEqualTo(1);
            assertThat(inference.state()).isEqualTo(LocalInference.State.RUNNING);
            Inference recorded = registry.inference("crash").orElseThrow();
            assertThat(recorded.status()).isEqualTo("RUNNING");
            assertThat(recorded.restarts()).isEqualTo(1);
            assertThat(recorded.error()).contains("restarted").contains("injected fault at crash-in-0@50");
        }
    }

    /**
     * A fenced producer proves nothing about a newer replica: the coordinator fences a transaction that outlived
     * {@code transaction.timeout.ms} (a broker outage) too. The replica is restarted with a new producer, the
     * uncommitted batch is predicted again, and a read_committed reader sees each prediction once.
     */
    @Test
    void exactlyOnceAFencedReplicaIsRestartedAndItsBatchIsPredictedOnce(EmbeddedKafkaBroker kafka) throws Exception {
        kafka.createTopic("fence-in", 1);
        send(kafka, "fence-in", 0, 100, 0);
        try (LocalInference inference = LocalInference.start(
                registry,
                config(kafka, RestartPolicy.BACKOFF_MS_CONFIG, 100),
                "fence",
                InferenceSpec.builder(mediumResult, "fence-in", "fence-out")
                        .guarantee(ProcessingGuarantee.EXACTLY_ONCE)
                        .build())) {
            assertThat(read(kafka, "fence-out", 100, true)).hasSize(100);
            Map<String, Object> fencer = config(
                    kafka,
                    org.apache.kafka.clients.producer.ProducerConfig.TRANSACTIONAL_ID_CONFIG,
                    "fence-" + inference.instanceId() + "-1");
            try (KafkaProducer<byte[], byte[]> producer =
                    new KafkaProducer<>(fencer, new ByteArraySerializer(), new ByteArraySerializer())) {
                producer.initTransactions(); // bumps the epoch: the replica's producer is fenced at its next send
            }
            send(kafka, "fence-in", 100, 100, 0);
            List<ConsumerRecord<byte[], byte[]>> outputs = read(kafka, "fence-out", 200, true);
            assertThat(outputs).hasSize(200);
            assertThat(keys(outputs)).hasSize(200);
            await().atMost(30, TimeUnit.SECONDS).until(() -> inference.restarts() == 1);
            assertThat(inference.state()).isEqualTo(LocalInference.State.RUNNING);
            Inference recorded = registry.inference("fence").orElseThrow();
            assertThat(recorded.status()).isEqualTo("RUNNING");
            assertThat(recorded.restarts()).isEqualTo(1);
            assertThat(recorded.error()).contains("fenced").contains("fence-" + inference.instanceId() + "-1");
        }
    }

    /**
     * Two processes started with one pinned instance id give their replicas the same transactional id: the
     * fenced replica finds the other's live consumer under its own name and fails without a restart, naming it,
     * instead of fencing back at every restart.
     */
    @Test
    void exactlyOnceTwoProcessesWithOneInstanceIdFailNamingTheDuplicate(EmbeddedKafkaBroker kafka) throws Exception {
        kafka.createTopic("twin-in", 2);
        Map<String, Object> pinned =
                config(kafka, InferenceConfig.INSTANCE_ID_CONFIG, "twin", RestartPolicy.BACKOFF_MS_CONFIG, 100);
        InferenceSpec spec = InferenceSpec.builder(mediumResult, "twin-in", "twin-out")
                .guarantee(ProcessingGuarantee.EXACTLY_ONCE)
                .build();
        try (Registry other = Registry.connect(kafka.clientConfig(), "faults", Duration.ofSeconds(30));
                LocalInference first = LocalInference.start(registry, pinned, "twin", spec);
                LocalInference second = LocalInference.start(other, pinned, "twin", spec)) {
            AtomicInteger sent = new AtomicInteger();
            await().atMost(90, TimeUnit.SECONDS)
                    .pollInterval(Duration.ofMillis(500))
                    .until(() -> {
                        send(
                                kafka,
                                "twin-in",
                                sent.getAndAdd(20),
                                20,
                                0); // inputs to both partitions until one replica fails
                        return first.state() == LocalInference.State.FAILED;
                    });
            assertThat(first.failure())
                    .contains("same instance id")
                    .contains("twin-twin-1")
                    .contains("kafkaml.inference.instance.id");
            // the process is FAILED at once; its record is written by a background thread after the replicas stop
            await().atMost(30, TimeUnit.SECONDS)
                    .until(() -> "FAILED"
                            .equals(registry.refreshInference("twin")
                                    .orElseThrow()
                                    .status()));
            assertThat(first.restarts()).isZero();
        }
    }

    @Test
    void aReplicaThatKeepsThrowingFailsTheDeploymentAfterItsRestartBudget(EmbeddedKafkaBroker kafka) throws Exception {
        kafka.createTopic("crash-in-2", 1);
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(kafka.clientConfig(), new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>("crash-in-2", bytes("bad"), bytes("not json")))
                    .get(30, TimeUnit.SECONDS);
        }
        CrashingHandler.crashes.set(1_000);
        LocalInference inference = LocalInference.start(
                registry,
                config(
                        kafka,
                        InferenceConfig.EXCEPTION_HANDLER_CONFIG,
                        CrashingHandler.class.getName(),
                        RestartPolicy.BACKOFF_MS_CONFIG,
                        50,
                        RestartPolicy.MAX_RESTARTS_CONFIG,
                        2),
                "crash-2",
                InferenceSpec.builder(mediumResult, "crash-in-2", "crash-out-2")
                        .replicas(2)
                        .build());
        try {
            assertThat(inference.awaitTermination(Duration.ofSeconds(90))).isTrue();
            assertThat(inference.state()).isEqualTo(LocalInference.State.FAILED);
            assertThat(inference.failure()).contains("budget of 2").contains("injected fault at crash-in-2-0@0");
            Inference recorded = registry.inference("crash-2").orElseThrow();
            assertThat(recorded.status()).isEqualTo("FAILED");
            assertThat(recorded.error()).isEqualTo(inference.failure());
            assertThat(recorded.restarts()).isGreaterThanOrEqualTo(2);
        } finally {
            CrashingHandler.crashes.set(0);
            inference.close();
        }
    }

    @Test
    void aJoinerAliveWhileItsOwnerFailsNeverRewritesTheRecordAndEndsWithIt(EmbeddedKafkaBroker kafka) throws Exception {
        kafka.createTopic("owned-in", 2);
        LocalInference owner = LocalInference.start(
                registry,
                config(
                        kafka,
                        InferenceConfig.EXCEPTION_HANDLER_CONFIG,
                        CrashingHandler.class.getName(),
                        RestartPolicy.MAX_RESTARTS_CONFIG,
                        0,
                        InferenceConfig.HEARTBEAT_INTERVAL_MS_CONFIG,
                        200),
                "owned",
                InferenceSpec.builder(mediumResult, "owned-in", "owned-out").build());
        LocalInference joiner = LocalInference.start(
                registry,
                config(
                        kafka,
                        InferenceConfig.EXCEPTION_HANDLER_CONFIG,
                        ContinueHandler.class.getName(),
                        InferenceConfig.HEARTBEAT_INTERVAL_MS_CONFIG,
                        200),
                "owned",
                InferenceSpec.builder(mediumResult, "owned-in", "owned-out").build());
        try {
            assertThat(owner.isOwner()).isTrue();
            assertThat(joiner.isOwner()).isFalse();
            await().atMost(60, TimeUnit.SECONDS)
                    .until(() -> kafka
                                    .admin()
                                    .describeConsumerGroups(List.of(owner.groupId()))
                                    .all()
                                    .get()
                                    .get(owner.groupId())
                                    .members()
                                    .stream()
                                    .filter(m ->
                                            !m.assignment().topicPartitions().isEmpty())
                                    .count()
                            == 2);
            CrashingHandler.crashes.set(1_000);
            try (KafkaProducer<byte[], byte[]> producer =
                    new KafkaProducer<>(kafka.clientConfig(), new ByteArraySerializer(), new ByteArraySerializer())) {
                for (int partition = 0; partition < 2; partition++) { // whichever partition the owner has
                    producer.send(new ProducerRecord<>("owned-in", partition, bytes("bad"), bytes("not json")))
                            .get(30, TimeUnit.SECONDS);
                }
            }
            assertThat(owner.awaitTermination(Duration.ofSeconds(60))).isTrue();
            assertThat(owner.state()).isEqualTo(LocalInference.State.FAILED);
            // the joiner's heartbeats never write the record: FAILED stays, and the joiner ends with it
            assertThat(joiner.awaitTermination(Duration.ofSeconds(30))).isTrue();
            assertThat(joiner.state()).isEqualTo(LocalInference.State.FAILED);
            assertThat(joiner.failure()).contains("FAILED in its owner").contains("injected fault");
            Inference recorded = registry.inference("owned").orElseThrow();
            assertThat(recorded.status()).isEqualTo("FAILED");
            assertThat(recorded.error()).isEqualTo(owner.failure());
            assertThat(recorded.generation()).isEqualTo(owner.generation());
        } finally {
            CrashingHandler.crashes.set(0);
            joiner.close();
            owner.close();
        }
        assertThat(registry.inference("owned").orElseThrow().status()).isEqualTo("FAILED");
    }

    @Test
    void aPodOfALauncherSupervisedDeploymentJoinsItAfterAnyPauseNeverTakesItOverAndNeverEndsIt(
            EmbeddedKafkaBroker kafka) {
        kafka.createTopic("pods-in", 1);
        java.time.Instant longAgo = java.time.Instant.now().minusSeconds(3600);
        // as KubernetesInference records it: no pod has run for an hour, its group has no member
        Inference launched = new Inference(
                "pods",
                mediumResult,
                "pods-in",
                "pods-out",
                5,
                "RUNNING",
                null,
                Map.of(),
                longAgo,
                longAgo,
                0,
                null,
                0,
                "kubernetes:ml/kafkaml-infer-pods",
                3,
                Inference.SUPERVISED_BY_KUBERNETES);
        assertThat(registry.putInference(launched)).isTrue();
        assertThat(InferenceLiveness.alive(registry, launched, Duration.ZERO))
                .as("supervised, no pod in its group: STALE for a reader, yet a pod still joins it")
                .isFalse();
        assertThat(InferenceLiveness.alive(registry, launched.with("RUNNING", 0, null), Duration.ZERO))
                .as("supervised and scaled to 0: nothing is meant to consume")
                .isTrue();
        LocalInference pod = LocalInference.start(
                registry,
                config(kafka, InferenceConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 100),
                "pods",
                InferenceSpec.builder(mediumResult, "pods-in", "pods-out").build());
        assertThat(pod.isOwner()).isFalse();
        assertThat(pod.generation()).isEqualTo(3);
        assertThat(pod.close(Duration.ofSeconds(20))).isTrue();
        assertThat(registry.inference("pods").orElseThrow())
                .as("the pod wrote nothing (no heartbeat, no STOPPED)")
                .isEqualTo(launched);
        // stopped by its launcher: a late pod does not start it again
        assertThat(registry.putInference(launched.with("STOPPED", 0, null))).isTrue();
        assertThatThrownBy(() -> LocalInference.start(
                        registry,
                        kafka.clientConfig(),
                        "pods",
                        InferenceSpec.builder(mediumResult, "pods-in", "pods-out")
                                .build()))
                .isInstanceOf(InferenceException.class)
                .hasMessageContaining("was STOPPED by its kubernetes launcher");
    }

    @Test
    void anIdRunningAnotherResultIsRefusedWithTheReason(EmbeddedKafkaBroker kafka) {
        kafka.createTopic("taken-in", 1);
        try (LocalInference running = LocalInference.start(
                registry,
                kafka.clientConfig(),
                "taken",
                InferenceSpec.builder(mediumResult, "taken-in", "taken-out").build())) {
            assertThatThrownBy(() -> LocalInference.start(
                            registry,
                            kafka.clientConfig(),
                            "taken",
                            InferenceSpec.builder(wideResult, "taken-in", "taken-out")
                                    .build()))
                    .isInstanceOf(InferenceException.class)
                    .hasMessage("Inference deployment 'taken' is RUNNING result " + mediumResult
                            + " (its trained model) from taken-in to taken-out; this start asks for " + wideResult
                            + " (its trained model) from taken-in to taken-out: stop it first or choose another id");
            assertThat(running.state()).isEqualTo(LocalInference.State.RUNNING);
        }
    }

    static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
