package io.kafkaml.benchmarks;

import io.kafkaml.config.KafkaMlConfig;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * {@code inference-faults}: issue 17 item 5's fault run, for each guarantee in the same run. A backlog of
 * {@code --records} HCOPD inputs (default 200,000; key = the input's number) on {@code --partitions} partitions
 * (default 4) is drained by two {@code kafkaml infer} child processes (one replica each, one consumer group) while a
 * {@code kafkaml broker} child process is SIGKILLed ({@link Process#destroyForcibly}) once the group has committed
 * 10 % of the inputs and restarted on its data directory, and one {@code infer} process is SIGKILLed once another
 * 10 % are committed and restarted; the drain runs to the end. Drained at least once, then exactly once
 * ({@code infer --exactly-once}), {@code --rounds} times (default 1) interleaved (at-least-once, exactly-once,
 * at-least-once, ...), each drain on a fresh broker (new data directory, port and model) and a fresh topic. Modelled
 * on the CLI's {@code InferenceChaosIT}, with its client settings in the children's {@code --config} file:
 * {@code consumer.session.timeout.ms=6000}, {@code consumer.heartbeat.interval.ms=1000},
 * {@code kafkaml.restart.backoff.ms=500}; everything else (the commit interval, {@code transaction.timeout.ms}, a
 * random instance id per process) is kafkaml's default. The model is the HCOPD MLP of {@code inference-throughput},
 * trained for 20 epochs on each drain's broker before the drain.
 *
 * <p>A drain's {@code seconds} run from the start of the first {@code infer} process to the later of two moments: the
 * group's committed offsets (polled every 100 ms with an admin client) cover every input, and a reader tailing the
 * output topic from the start ({@code read_committed} exactly once, on a thread of its own) has seen a prediction for
 * every input ({@code committedSeconds}: the first moment alone). JVM start-up, the broker's downtime and the killed
 * process's recovery are in it, the same faults for both guarantees, and so is what only exactly-once pays: a
 * SIGKILLed process's open transaction holds back later predictions from {@code read_committed} readers until the
 * coordinator aborts it ({@code transaction.timeout.ms}). {@code faultsMidDrain} says whether both kills came
 * before every input was committed (a fast drain of a small backlog can outrun them); {@code report} judges the
 * goal only from a run where they did. After the drain the output topic is read from the beginning ({@code read_committed} for
 * exactly-once, {@code read_uncommitted} at-least-once) to its high watermark: {@code predictionsRead}, {@code
 * duplicates} (predictions of an input seen before) and {@code missing} (inputs without a prediction).
 *
 * <p>Prints one line per guarantee: {@code seconds} the median drain, {@code baseline} the other guarantee's median
 * drain in the same run, {@code drains} every drain's numbers, and {@code exactlyOnceOverAtLeastOnce}: the median
 * over rounds of (exactly-once inputs/s ÷ at-least-once inputs/s of the same round), the exactly-once line's {@code
 * ratio} too. A drain that misses an input, or an exactly-once drain with a duplicate, makes its line {@code "valid":
 * false} and the suite exit with status 1; a drain fails the benchmark when a step of it (each kill target, the
 * last commit, the predictions readable) is not reached within 10 minutes of the step's start.
 *
 * <p>Starts its own brokers: the suite's cluster ({@code --bootstrap-servers} or the embedded one) is not used.
 * Not thread-safe; one run at a time (it takes the machine's cores).
 */
final class FaultRunBenchmark implements Benchmark {

    /** The settings of {@code InferenceChaosIT} given to every {@code infer} child. */
    static final Map<String, Object> FAULT_SETTINGS = Map.of(
            "consumer.session.timeout.ms", 6000,
            "consumer.heartbeat.interval.ms", 1000,
            "kafkaml.restart.backoff.ms", 500);

    private static final Duration DRAIN_TIMEOUT = Duration.ofMinutes(10);

    /**
     * {@code --restart-instance-id same} (default): the killed {@code infer} process is restarted under its own
     * {@code --instance-id}, so its transactional ids fence the dead one's open transaction at once; {@code new}: under
     * a new one, so that transaction holds back {@code read_committed} readers until the coordinator aborts it.
     */
    static final String RESTART_INSTANCE_ID = "restart-instance-id";

    @Override
    public String name() {
        return "inference-faults";
    }

    @Override
    public String description() {
        return "issue 17 item 5's fault run (broker and one of 2 infer processes SIGKILLed, 4 partitions): "
                + "exactly-once ÷ at-least-once drain throughput";
    }

    @Override
    public boolean usesCluster() {
        return false;
    }

    /** One drain's numbers. */
    record Drain(
            boolean exactlyOnce,
            long inputs,
            double seconds,
            double committedSeconds,
            long predictionsRead,
            long duplicates,
            long missing,
            double brokerDownSeconds,
            double inferRecoverySeconds,
            long committedAtBrokerKill,
            long committedAtInferKill) {

        double inputsPerSecond() {
            return inputs / seconds;
        }

        boolean valid() {
            return missing == 0 && (!exactlyOnce || duplicates == 0);
        }

        /** Whether both kills came while inputs were still uncommitted (a fast drain can outrun the 100 ms polls). */
        boolean faultsMidDrain() {
            return committedAtBrokerKill < inputs && committedAtInferKill < inputs;
        }

        Map<String, Object> fields() {
            Map<String, Object> fields = new LinkedHashMap<>();
            fields.put("guarantee", guarantee(exactlyOnce));
            fields.put("inputs", inputs);
            fields.put("seconds", BenchmarkResult.round(seconds));
            fields.put("committedSeconds", BenchmarkResult.round(committedSeconds));
            fields.put("inputsPerSecond", BenchmarkResult.round(inputsPerSecond()));
            fields.put("predictionsRead", predictionsRead);
            fields.put("duplicates", duplicates);
            fields.put("missing", missing);
            fields.put("exact", duplicates == 0 && missing == 0);
            fields.put("brokerDownSeconds", BenchmarkResult.round(brokerDownSeconds));
            fields.put("inferRecoverySeconds", BenchmarkResult.round(inferRecoverySeconds));
            fields.put("committedAtBrokerKill", committedAtBrokerKill);
            fields.put("committedAtInferKill", committedAtInferKill);
            fields.put("faultsMidDrain", faultsMidDrain());
            return fields;
        }
    }

    static String guarantee(boolean exactlyOnce) {
        return exactlyOnce ? "exactly-once" : "at-least-once";
    }

    @Override
    public List<BenchmarkResult> run(BenchmarkContext context) throws Exception {
        long records = context.longOption("records", 200_000);
        int partitions = (int) context.longOption("partitions", 4);
        int rounds = (int) context.longOption("rounds", 1);
        if (records < 20 || partitions < 2 || rounds < 1) {
            throw new IllegalArgumentException("--records must be >= 20, --partitions >= 2, --rounds >= 1");
        }
        String restartIdentity = context.options().getOrDefault(RESTART_INSTANCE_ID, "same");
        if (!List.of("same", "new").contains(restartIdentity)) {
            throw new IllegalArgumentException("--" + RESTART_INSTANCE_ID + " is same or new, not " + restartIdentity);
        }
        boolean newIdentity = "new".equals(restartIdentity);
        List<Drain> atLeastOnce = new ArrayList<>();
        List<Drain> exactlyOnce = new ArrayList<>();
        for (int round = 1; round <= rounds; round++) {
            for (boolean exact : new boolean[] {false, true}) {
                Drain drain = drain(context, records, partitions, exact, newIdentity);
                System.err.printf("inference-faults round %d: %s%n", round, drain.fields());
                (exact ? exactlyOnce : atLeastOnce).add(drain);
            }
        }
        List<Double> roundRatios = new ArrayList<>();
        for (int i = 0; i < rounds; i++) {
            roundRatios.add(
                    exactlyOnce.get(i).inputsPerSecond() / atLeastOnce.get(i).inputsPerSecond());
        }
        double ratio = BenchmarkSupport.median(roundRatios);
        double alos =
                BenchmarkSupport.median(atLeastOnce.stream().map(Drain::seconds).toList());
        double eos =
                BenchmarkSupport.median(exactlyOnce.stream().map(Drain::seconds).toList());
        // the at-least-once line's ratio is at-least-once over exactly-once (medians); the exactly-once line's the
        // median of the rounds' exactly-once over at-least-once
        List<BenchmarkResult> results = List.of(
                result(
                                records,
                                partitions,
                                restartIdentity,
                                atLeastOnce,
                                alos,
                                "kafkaml infer exactly-once, same fault run",
                                eos)
                        .withRatio(eos / alos),
                result(
                                records,
                                partitions,
                                restartIdentity,
                                exactlyOnce,
                                eos,
                                "kafkaml infer at-least-once, same fault run",
                                alos)
                        .withRatio(ratio));
        for (BenchmarkResult result : results) {
            result.extra().put("exactlyOnceOverAtLeastOnce", BenchmarkResult.round(ratio));
            result.extra()
                    .put(
                            "roundRatios",
                            roundRatios.stream().map(BenchmarkResult::round).toList());
        }
        return results;
    }

    private BenchmarkResult result(
            long records,
            int partitions,
            String restartIdentity,
            List<Drain> drains,
            double seconds,
            String baseline,
            double baselineSeconds) {
        Map<String, Object> extra = new LinkedHashMap<>();
        boolean exact = drains.get(0).exactlyOnce();
        extra.put("guarantee", guarantee(exact));
        extra.put("baselineGuarantee", guarantee(!exact));
        extra.put("mode", "separate-process");
        extra.put("partitions", partitions);
        extra.put("replicas", 2);
        extra.put("rounds", drains.size());
        extra.put(
                "faults",
                "broker SIGKILLed at 10 % committed and restarted; one of the 2 infer processes SIGKILLed 10 % later "
                        + "and restarted");
        extra.put(
                "secondsDefinition",
                "from the first infer process's start until the group's committed offsets cover every input AND a "
                        + "reader tailing the output (read_committed exactly once) has a prediction for every input; "
                        + "committedSeconds: the first alone");
        extra.put("faultsMidDrain", drains.stream().allMatch(Drain::faultsMidDrain));
        extra.put(
                "ratioDefinition",
                exact
                        ? "median over rounds of (exactly-once inputs/s / at-least-once inputs/s of the round)"
                        : "baselineSeconds / seconds (the two sides' median drains)");
        extra.put("restartInstanceId", restartIdentity);
        extra.put(
                "predictionsRead",
                drains.stream().mapToLong(Drain::predictionsRead).max().orElse(0));
        extra.put(
                "duplicates", drains.stream().mapToLong(Drain::duplicates).max().orElse(0));
        extra.put("missing", drains.stream().mapToLong(Drain::missing).max().orElse(0));
        if (exact) {
            extra.put("exactlyOnceExact", drains.stream().allMatch(d -> d.duplicates() == 0 && d.missing() == 0));
        }
        extra.put("valid", drains.stream().allMatch(Drain::valid));
        extra.put("drains", drains.stream().map(Drain::fields).toList());
        return BenchmarkResult.of(name(), records, seconds, baseline, baselineSeconds, extra);
    }

    /** One drain of the fault run on a fresh broker. */
    private static Drain drain(
            BenchmarkContext context, long records, int partitions, boolean exactlyOnce, boolean newIdentity)
            throws Exception {
        Path dir = Files.createTempDirectory("kafkaml-faults-");
        int port = freePort();
        Map<String, Object> client = new HashMap<>(context.clientConfig());
        client.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, "localhost:" + port);
        List<ChildProcess> children = new ArrayList<>();
        ChildProcess broker;
        try {
            broker = broker(context, dir, port);
        } catch (RuntimeException e) {
            deleteRecursively(dir);
            throw e;
        }
        try (Admin admin = Admin.create(new KafkaMlConfig(client).adminConfig())) {
            BenchmarkContext local = new BenchmarkContext(client, admin, context.options());
            String in = "faults-in";
            String out = "faults-out";
            InferenceBenchmarks.Served model;
            try (InferenceBenchmarks.Served served = InferenceBenchmarks.Served.start(local)) {
                model = served;
                BenchmarkSupport.produce(
                        local,
                        in,
                        partitions,
                        records,
                        i -> new BenchmarkSupport.KeyValue(
                                String.valueOf(i).getBytes(StandardCharsets.UTF_8), served.input((int) (i % 256))));
            }
            // the model's registry client is closed: nothing of this JVM but the admin polling below talks to the
            // broker
            Map<String, Object> settings = new HashMap<>(client);
            settings.putAll(FAULT_SETTINGS);
            Path config = ChildProcess.settingsFile(settings);
            String id = "faults";
            String group = "kafkaml-inference-" + id;
            // each process has an instance id of its own (its transactional ids derive from it); the killed one is
            // restarted under its own (as a supervisor restarts a process: systemd, a pod's container) or, with
            // --restart-instance-id new, under a new one (a new pod)
            InferenceBenchmarks.Throughput.ChildStart first = ignored -> InferenceBenchmarks.Throughput.inferProcess(
                    context, model, config, in, out, id, exactlyOnce, "faults-a");
            InferenceBenchmarks.Throughput.ChildStart second = ignored -> InferenceBenchmarks.Throughput.inferProcess(
                    context, model, config, in, out, id, exactlyOnce, "faults-b");
            InferenceBenchmarks.Throughput.ChildStart restarted = newIdentity
                    ? ignored -> InferenceBenchmarks.Throughput.inferProcess(
                            context, model, config, in, out, id, exactlyOnce, "faults-a2")
                    : first;
            children.add(first.start(out));
            children.add(second.start(out));
            long start = children.get(0).startNanos();
            Committed committed = new Committed(client, group);
            Visible visible = new Visible(client, out, exactlyOnce, records);
            try {
                committed.await(records / 10 + 1, children);
                long atBrokerKill = committed.last;
                broker.kill();
                long brokerKilled = System.nanoTime();
                broker = broker(context, dir, port);
                double brokerDown = (System.nanoTime() - brokerKilled) / 1e9;
                long afterBroker = committed.await(0, children);
                committed.await(Math.min(records - 1, afterBroker + records / 10 + 1), children);
                long atInferKill = committed.last;
                children.get(0).kill();
                long inferKilled = System.nanoTime();
                children.set(0, restarted.start(out));
                children.get(0).awaitLine("serving ", Duration.ofMinutes(2));
                double inferRecovery = (System.nanoTime() - inferKilled) / 1e9;
                committed.await(records, children);
                double committedSeconds = (committed.reachedNanos - start) / 1e9;
                long visibleNanos = visible.await(DRAIN_TIMEOUT);
                double seconds = (Math.max(visibleNanos, committed.reachedNanos) - start) / 1e9;
                long[] read = read(client, out, exactlyOnce);
                return new Drain(
                        exactlyOnce,
                        records,
                        seconds,
                        committedSeconds,
                        read[0],
                        read[0] - read[1],
                        records - read[1],
                        brokerDown,
                        inferRecovery,
                        atBrokerKill,
                        atInferKill);
            } finally {
                committed.close();
                visible.close();
            }
        } finally {
            for (ChildProcess child : children) {
                child.close();
            }
            broker.close();
            deleteRecursively(dir);
        }
    }

    /**
     * A reader tailing the output topic from the drain's start on a thread of its own ({@code read_committed} for
     * exactly-once, so a prediction counts once its transaction commits; {@code read_uncommitted} at least once): the
     * moment it has seen a prediction for every input is when a downstream reader has them all. An exactly-once
     * process SIGKILLed with a transaction open holds back every later prediction of its partitions from
     * {@code read_committed} readers until the coordinator aborts it ({@code transaction.timeout.ms}); that wait is
     * part of the drain.
     */
    private static final class Visible implements AutoCloseable {
        private final Thread thread;
        private final java.util.concurrent.CountDownLatch all = new java.util.concurrent.CountDownLatch(1);
        private final java.util.concurrent.atomic.AtomicBoolean closing =
                new java.util.concurrent.atomic.AtomicBoolean();
        private final Set<String> keys = java.util.concurrent.ConcurrentHashMap.newKeySet();
        private volatile long reachedNanos;
        private volatile RuntimeException failure;

        Visible(Map<String, Object> client, String topic, boolean readCommitted, long records) {
            Map<String, Object> config = new KafkaMlConfig(client).consumerConfig();
            config.put(ConsumerConfig.GROUP_ID_CONFIG, "faults-visible-" + System.nanoTime());
            config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
            config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
            config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, readCommitted ? "read_committed" : "read_uncommitted");
            thread = new Thread(
                    () -> {
                        try (KafkaConsumer<byte[], byte[]> consumer =
                                new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
                            consumer.subscribe(List.of(topic));
                            while (!closing.get() && keys.size() < records) {
                                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(100))) {
                                    keys.add(new String(record.key(), StandardCharsets.UTF_8));
                                }
                            }
                            if (keys.size() >= records) {
                                reachedNanos = System.nanoTime();
                            }
                        } catch (org.apache.kafka.common.errors.InterruptException e) {
                            // closing
                        } catch (RuntimeException e) {
                            failure = e;
                        } finally {
                            all.countDown();
                        }
                    },
                    "faults-visible");
            thread.setDaemon(true);
            thread.start();
        }

        /** Waits until every input's prediction was seen; returns that moment ({@link System#nanoTime()}). */
        long await(Duration timeout) throws InterruptedException {
            if (!all.await(timeout.toMillis(), TimeUnit.MILLISECONDS) || reachedNanos == 0) {
                throw new IllegalStateException("A reader of the output saw predictions for " + keys.size()
                        + " inputs only within " + timeout.toMinutes() + " minutes"
                        + (failure == null ? "" : ": " + failure));
            }
            return reachedNanos;
        }

        @Override
        public void close() throws InterruptedException {
            closing.set(true);
            thread.join(TimeUnit.SECONDS.toMillis(10));
        }
    }

    /** The group's committed offsets, summed over partitions, polled with an admin client. */
    private static final class Committed implements AutoCloseable {
        private final Map<String, Object> client;
        private final String group;
        private Admin admin;
        long last;
        long reachedNanos;

        Committed(Map<String, Object> client, String group) {
            this.client = client;
            this.group = group;
        }

        /**
         * Polls every 100 ms until the sum reaches {@code target}; fails if a child exits or {@link #DRAIN_TIMEOUT}
         * passes. Errors while the broker is away are retried with a new admin client.
         *
         * @return the sum reached
         */
        long await(long target, List<ChildProcess> children) throws InterruptedException {
            long deadline = System.nanoTime() + DRAIN_TIMEOUT.toNanos();
            while (true) {
                try {
                    if (admin == null) {
                        admin = Admin.create(new KafkaMlConfig(client).adminConfig());
                    }
                    last = admin
                            .listConsumerGroupOffsets(group)
                            .partitionsToOffsetAndMetadata()
                            .get(10, TimeUnit.SECONDS)
                            .values()
                            .stream()
                            .mapToLong(o -> o == null ? 0 : o.offset())
                            .sum();
                    if (last >= target) {
                        reachedNanos = System.nanoTime();
                        return last;
                    }
                } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                    close();
                }
                children.forEach(ChildProcess::checkAlive);
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("The group " + group + " committed " + last + " of " + target
                            + " within " + DRAIN_TIMEOUT.toMinutes() + " minutes: "
                            + children.get(0).tail());
                }
                Thread.sleep(100);
            }
        }

        @Override
        public void close() {
            if (admin != null) {
                admin.close(Duration.ofSeconds(5));
                admin = null;
            }
        }
    }

    /** Starts {@code kafkaml broker} on {@code dir/kafka} and waits until it serves. */
    private static ChildProcess broker(BenchmarkContext context, Path dir, int port) throws Exception {
        ChildProcess broker = ChildProcess.kafkaml(
                context,
                List.of(),
                "broker",
                "--port",
                String.valueOf(port),
                "--data-dir",
                dir.resolve("kafka").toString());
        try {
            broker.awaitLine("bootstrap.servers=", Duration.ofSeconds(90));
        } catch (RuntimeException e) {
            broker.close();
            throw e;
        }
        return broker;
    }

    /**
     * The output topic read from the beginning to its high watermark ({@code read_committed} or not).
     *
     * @return the predictions read and the distinct inputs they are for
     */
    static long[] read(Map<String, Object> client, String topic, boolean readCommitted) {
        Map<String, Object> config = new KafkaMlConfig(client).consumerConfig();
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
        Map<String, Object> uncommitted = new HashMap<>(config);
        uncommitted.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted");
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, readCommitted ? "read_committed" : "read_uncommitted");
        long count = 0;
        Set<String> keys = new HashSet<>();
        try (KafkaConsumer<byte[], byte[]> ends =
                        new KafkaConsumer<>(uncommitted, new ByteArrayDeserializer(), new ByteArrayDeserializer());
                KafkaConsumer<byte[], byte[]> consumer =
                        new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                    .map(p -> new TopicPartition(topic, p.partition()))
                    .toList();
            Map<TopicPartition, Long> highWatermarks = ends.endOffsets(partitions, Duration.ofSeconds(30));
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            // read_committed stops at an open transaction's first offset until it ends: at most 2 minutes
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            while (partitions.stream().anyMatch(tp -> consumer.position(tp) < highWatermarks.get(tp))) {
                if (System.nanoTime() > deadline) {
                    System.err.printf(
                            "inference-faults: %s not read to its end within 2 minutes (an open transaction?)%n",
                            topic);
                    break;
                }
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    count++;
                    keys.add(new String(record.key(), StandardCharsets.UTF_8));
                }
            }
        }
        return new long[] {count, keys.size()};
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private static void deleteRecursively(Path dir) throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }
}
