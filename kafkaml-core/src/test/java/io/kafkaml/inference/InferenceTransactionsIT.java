package io.kafkaml.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.kafkaml.registry.Registry;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * Exactly once with a transaction that spans several polls ({@code kafkaml.inference.commit.interval.ms}): an abort
 * rewinds every poll of the transaction, a rebalance commits it before the partitions move, and a
 * {@code read_committed} reader sees each prediction once.
 */
@ExtendWith(EmbeddedKafkaExtension.class)
class InferenceTransactionsIT {

    static Registry registry;
    /** 3 inputs, 200 outputs: a prediction (about 2.6 KB) fits 4 KiB unless its input carries a 3.3 KB header. */
    static String result;

    @BeforeAll
    static void registerModel(EmbeddedKafkaBroker kafka) {
        registry = Registry.connect(kafka.clientConfig(), "transactions", Duration.ofSeconds(30));
        MultiLayerConfiguration medium = new NeuralNetConfiguration.Builder()
                .seed(7)
                .list()
                .layer(new OutputLayer.Builder(LossFunction.MSE)
                        .nIn(3)
                        .nOut(200)
                        .activation(Activation.TANH)
                        .build())
                .build();
        result = ServableResults.register(registry, "medium", medium, 3);
    }

    /** Sends inputs {@code 0 .. count-1} keyed by their index; those in {@code padded} carry a 3.3 KB header. */
    static void send(EmbeddedKafkaBroker kafka, String topic, int count, Set<Integer> padded) throws Exception {
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(kafka.clientConfig(), new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = 0; i < count; i++) {
                ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(
                        topic,
                        String.valueOf(i).getBytes(StandardCharsets.UTF_8),
                        ("[" + (i % 7) + "," + (i % 5) * 0.5 + ",1.5]").getBytes(StandardCharsets.UTF_8));
                if (padded.contains(i)) {
                    record.headers().add("pad", new byte[3300]);
                }
                sent.add(producer.send(record));
            }
        }
        for (Future<RecordMetadata> future : sent) {
            future.get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void aRefusedPredictionPollsAfterTheTransactionBeganAbortsAndRewindsEveryPollWithNoneLostOrDuplicated(
            EmbeddedKafkaBroker kafka) throws Exception {
        kafka.createTopic("span-in", 1);
        int n = 400;
        // a backlog of full polls of 20: the transaction spans them until input 350's prediction is refused
        send(kafka, "span-in", n, Set.of(350));
        try (LocalInference inference = LocalInference.start(
                registry,
                InferenceFaultsIT.config(
                        kafka, "producer.max.request.size", 4096, InferenceConfig.COMMIT_INTERVAL_MS_CONFIG, 60_000),
                "span",
                InferenceSpec.builder(result, "span-in", "span-out")
                        .maxBatchSize(20)
                        .guarantee(ProcessingGuarantee.EXACTLY_ONCE)
                        .deadLetterTopic("span-dlq")
                        .build())) {
            List<ConsumerRecord<byte[], byte[]>> outputs = InferenceFaultsIT.read(kafka, "span-out", n - 1, true);
            assertThat(outputs).hasSize(n - 1);
            assertThat(InferenceFaultsIT.keys(outputs)).hasSize(n - 1).doesNotContain("350");
            List<ConsumerRecord<byte[], byte[]>> dead = InferenceFaultsIT.read(kafka, "span-dlq", 1, true);
            assertThat(InferenceFaultsIT.keys(dead)).containsExactly("350");
            await().atMost(30, TimeUnit.SECONDS)
                    .until(() -> inference.stats().recordsOut() == n - 1
                            && inference.stats().deadLettered() == 1);
            // a transaction's batches and commit are counted just after its outputs: once the replicas have stopped
            // every count is final
            assertThat(inference.close(Duration.ofSeconds(30))).isTrue();
            // 20 polls or more went into far fewer transactions
            assertThat(inference.stats().batches()).isGreaterThanOrEqualTo(n / 20);
            assertThat(inference.stats().commits())
                    .isLessThanOrEqualTo(inference.stats().batches() / 4);
            assertThat(inference.restarts()).isZero();
        }
    }

    @Test
    void aRebalanceWhileATransactionIsOpenCommitsItBeforeThePartitionsMoveWithNoneLostOrDuplicated(
            EmbeddedKafkaBroker kafka) throws Exception {
        kafka.createTopic("reb-in", 4);
        int n = 20_000;
        send(kafka, "reb-in", n, Set.of());
        try (LocalInference inference = LocalInference.start(
                registry,
                InferenceFaultsIT.config(kafka, InferenceConfig.COMMIT_INTERVAL_MS_CONFIG, 60_000),
                "reb",
                InferenceSpec.builder(result, "reb-in", "reb-out")
                        .maxBatchSize(10)
                        .guarantee(ProcessingGuarantee.EXACTLY_ONCE)
                        .build())) {
            // predictions are being written (in an open transaction, committed or not): a second replica joins
            TopicPartition out = new TopicPartition("reb-out", 0);
            await().atMost(60, TimeUnit.SECONDS)
                    .ignoreExceptions() // until the replica's first send creates the topic
                    .until(() -> kafka.admin()
                                    .listOffsets(Map.of(out, OffsetSpec.latest()))
                                    .all()
                                    .get(10, TimeUnit.SECONDS)
                                    .get(out)
                                    .offset()
                            > 0);
            inference.scale(2);
            List<ConsumerRecord<byte[], byte[]>> outputs = InferenceFaultsIT.read(kafka, "reb-out", n, true);
            assertThat(InferenceFaultsIT.keys(outputs)).hasSize(n);
            assertThat(outputs).hasSize(n);
            await().atMost(30, TimeUnit.SECONDS).until(() -> inference.stats().recordsOut() == n);
            assertThat(inference.restarts()).isZero();
        }
    }
    /**
     * The consumer and transactional producer of the replicas, recording what the replica does in order, with polls
     * that block past the commit interval (as a poll that a rebalance holds up does): the first poll that finds a
     * transaction open (its last poll was full) waits until that transaction is due; the second such poll also has
     * its transaction's {@code sendOffsetsToTransaction} fail with an abortable error once.
     */
    static final class SlowPolls implements io.kafkaml.config.KafkaClientSupplier {
        private final long intervalNanos;
        final List<String> events = java.util.Collections.synchronizedList(new ArrayList<>());
        private final java.util.concurrent.atomic.AtomicInteger slow = new java.util.concurrent.atomic.AtomicInteger();
        private volatile boolean failNextOffsets;
        /** When the open transaction began ({@code beginTransaction()} was called), or 0 when none is open. */
        private volatile long openSince;

        SlowPolls(long intervalMs) {
            this.intervalNanos = TimeUnit.MILLISECONDS.toNanos(intervalMs);
        }

        int slowPolls() {
            return slow.get();
        }

        @Override
        @SuppressWarnings("unchecked")
        public org.apache.kafka.clients.consumer.Consumer<byte[], byte[]> consumer(Map<String, Object> config) {
            org.apache.kafka.clients.consumer.Consumer<byte[], byte[]> real =
                    io.kafkaml.config.KafkaClientSupplier.DEFAULT.consumer(config);
            if (config.get(org.apache.kafka.clients.consumer.ConsumerConfig.GROUP_ID_CONFIG) == null) {
                return real;
            }
            return (org.apache.kafka.clients.consumer.Consumer<byte[], byte[]>)
                    java.lang.reflect.Proxy.newProxyInstance(
                            getClass().getClassLoader(),
                            new Class<?>[] {org.apache.kafka.clients.consumer.Consumer.class},
                            (proxy, method, args) -> {
                                String name = method.getName();
                                if (name.equals("poll")) {
                                    int number = 0;
                                    long open = openSince;
                                    if (open != 0 && slow.get() < 2) {
                                        // a transaction spans polls (the last one was full): the injected fault, this
                                        // poll
                                        // blocks until the transaction is due (it began after its first poll's
                                        // timestamp was
                                        // taken, so it is due once the commit interval has passed since begin)
                                        number = slow.incrementAndGet();
                                        failNextOffsets = number == 2;
                                        long due = open + intervalNanos + 1;
                                        for (long left; (left = due - System.nanoTime()) > 0; ) {
                                            java.util.concurrent.locks.LockSupport.parkNanos(left);
                                        }
                                    }
                                    org.apache.kafka.clients.consumer.ConsumerRecords<byte[], byte[]> records =
                                            (org.apache.kafka.clients.consumer.ConsumerRecords<byte[], byte[]>)
                                                    invoke(method, real, args);
                                    if (number > 0) {
                                        events.add("slow poll " + number + " returned " + records.partitions());
                                    }
                                    return records;
                                }
                                if (name.equals("seek")) {
                                    events.add("seek " + args[0]);
                                }
                                return invoke(method, real, args);
                            });
        }

        @Override
        public org.apache.kafka.clients.producer.Producer<byte[], byte[]> producer(Map<String, Object> config) {
            org.apache.kafka.clients.producer.Producer<byte[], byte[]> real =
                    io.kafkaml.config.KafkaClientSupplier.DEFAULT.producer(config);
            if (config.get(org.apache.kafka.clients.producer.ProducerConfig.TRANSACTIONAL_ID_CONFIG) == null) {
                return real;
            }
            @SuppressWarnings("unchecked")
            org.apache.kafka.clients.producer.Producer<byte[], byte[]> proxy =
                    (org.apache.kafka.clients.producer.Producer<byte[], byte[]>)
                            java.lang.reflect.Proxy.newProxyInstance(
                                    getClass().getClassLoader(),
                                    new Class<?>[] {org.apache.kafka.clients.producer.Producer.class},
                                    (self, method, args) -> {
                                        String name = method.getName();
                                        switch (name) {
                                            case "send" -> events.add("send");
                                            case "beginTransaction" -> openSince = System.nanoTime();
                                            case "sendOffsetsToTransaction" -> {
                                                if (failNextOffsets) {
                                                    failNextOffsets = false;
                                                    events.add("sendOffsetsToTransaction failed");
                                                    throw new org.apache.kafka.common.KafkaException(
                                                            "injected: the offsets could not be added to the transaction");
                                                }
                                                events.add(name);
                                            }
                                            case "commitTransaction", "abortTransaction" -> {
                                                events.add(name);
                                                openSince = 0;
                                            }
                                            default -> {
                                                // not recorded
                                            }
                                        }
                                        return invoke(method, real, args);
                                    });
            return proxy;
        }

        private static Object invoke(java.lang.reflect.Method method, Object target, Object[] args) throws Throwable {
            try {
                return method.invoke(target, args);
            } catch (java.lang.reflect.InvocationTargetException e) {
                throw e.getCause();
            }
        }
    }

    /** The events after {@code marker}, up to (not including) the first {@code send}. */
    private static List<String> beforeTheNextSend(List<String> events, String marker) {
        int start = -1;
        for (int i = 0; i < events.size(); i++) {
            if (events.get(i).startsWith(marker)) {
                start = i;
                break;
            }
        }
        assertThat(start).as("%s in %s", marker, events).isNotNegative();
        List<String> after = new ArrayList<>();
        for (String event : events.subList(start + 1, events.size())) {
            if (event.equals("send")) {
                break;
            }
            after.add(event);
        }
        return after;
    }

    @Test
    void aTransactionDueWhenAPollReturnsIsCommittedBeforeThatPollsInputsAndAnAbortedOneLeavesThemToBePolledAgain(
            EmbeddedKafkaBroker kafka) throws Exception {
        kafka.createTopic("due-in", 2);
        int n = 300;
        send(kafka, "due-in", n, Set.of());
        SlowPolls clients = new SlowPolls(1_000);
        try (LocalInference inference = LocalInference.start(
                registry,
                InferenceFaultsIT.config(kafka, InferenceConfig.COMMIT_INTERVAL_MS_CONFIG, 1_000),
                "due",
                InferenceSpec.builder(result, "due-in", "due-out")
                        .maxBatchSize(20)
                        .guarantee(ProcessingGuarantee.EXACTLY_ONCE)
                        .build(),
                clients)) {
            List<ConsumerRecord<byte[], byte[]>> outputs = InferenceFaultsIT.read(kafka, "due-out", n, true);
            assertThat(outputs).hasSize(n);
            assertThat(InferenceFaultsIT.keys(outputs)).hasSize(n);
            await().atMost(30, TimeUnit.SECONDS)
                    .until(() -> clients.slowPolls() == 2 && inference.stats().recordsOut() == n);
            List<String> events = new ArrayList<>(clients.events);
            // the due transaction is committed before the first input of the poll that found it due is sent
            // (a commit that timed out is retried: commitTransaction may come more than once)
            List<String> committed = beforeTheNextSend(events, "slow poll 1 returned");
            assertThat(committed).startsWith("sendOffsetsToTransaction", "commitTransaction");
            assertThat(committed.subList(1, committed.size())).containsOnly("commitTransaction");
            // aborted instead: its partitions are sought back before anything of that poll is sent (the poll's inputs
            // of those partitions are dropped, to be polled and predicted again: every input is in the output once)
            List<String> aborted = beforeTheNextSend(events, "slow poll 2 returned");
            assertThat(aborted).startsWith("sendOffsetsToTransaction failed", "abortTransaction");
            assertThat(aborted.subList(2, aborted.size()))
                    .isNotEmpty()
                    .allMatch(event -> event.startsWith("seek due-in-"));
            assertThat(inference.restarts()).isZero();
        }
    }
}
