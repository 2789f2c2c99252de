package io.kafkaml.benchmarks;

import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.inference.InferenceSpec;
import io.kafkaml.inference.LocalInference;
import io.kafkaml.inference.ProcessingGuarantee;
import io.kafkaml.registry.Promotion;
import io.kafkaml.registry.TrainingResult;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * {@code swap-latency} (issue 14): what a hot swap costs a running inference deployment. The HCOPD model (trained for
 * the benchmark from the stream, as for {@code inference-latency}) is published as {@code --swaps + 1} model versions
 * of its result (the same trained weights under each number: every version is an artifact of its own, loaded and
 * SHA-256-checked anew by each replica). A deployment that follows the result's promoted version
 * ({@link InferenceSpec#followPromoted()}; with {@code --separate-process true} also {@code kafkaml infer --follow} as a
 * child JVM) serves inputs sent at {@code --rate} per second ({@code 0}: as fast as the producer goes, which saturates
 * the deployment), and each time the outputs reach another {@code 1 / (swaps + 1)} of {@code --records} the next
 * version is promoted ({@code Registry.promote}); inputs go on until the last new version has made a prediction and at
 * least {@code --records} were sent. The measured inputs start once the deployment answers warm-up inputs (negative
 * keys, not counted) and {@code --warmup-ms} more have passed. One JSON line per swap:
 *
 * <ul>
 *   <li>{@code promotionToFirstPredictionMillis}: from the return of {@code Registry.promote} (the promotion record is
 *       written and read back) to the first output record whose {@code kafkaml.model.version} header names the new
 *       version, as a {@code read_committed} reader of the output topic sees it;
 *   <li>{@code records}, {@code seconds}, {@code recordsPerSecond}: the outputs in the swap window, from the promotion
 *       to {@code --window-ms} after that first prediction; {@code baselineRecordsPerSecond}: the run's steady state,
 *       the outputs outside every swap window between the first and the last {@code 1 / (2 (swaps + 1))} of the
 *       outputs; {@code ratio}: window ÷ steady state (below 1: a dip);
 *   <li>{@code p99LatencyMillis} (send to output) in the window against {@code steadyP99LatencyMillis}, and the
 *       longest pause between two outputs in the window ({@code maxOutputGapMillis});
 *   <li>the run's count check: {@code inputs}, {@code outputs}, {@code missing} and {@code duplicates} (inputs without a
 *       prediction, and predictions beyond one per input), after the deployment stopped and the reader reached the
 *       output topic's end; {@code versionWentBack}: predictions made by an older version than an earlier input of
 *       the same partition had (0 expected: there is no rollback here).
 * </ul>
 *
 * A missing prediction, a duplicate under exactly-once, or a version going back fails the benchmark.
 */
final class SwapLatencyBenchmark implements Benchmark {

    private static final String STEADY_BASELINE = "steady state of the same run, outside the swap windows";

    @Override
    public String name() {
        return "swap-latency";
    }

    @Override
    public String description() {
        return "promotions while inputs flow to a deployment following the promoted version: promotion to first"
                + " prediction by the new version, throughput around each swap vs the run's steady state"
                + " (--records, --swaps, --rate (0: saturating), --separate-process true: also kafkaml infer --follow)";
    }

    /** How the run is set up. */
    private record Setup(
            int records,
            int swaps,
            int rate,
            int partitions,
            int replicas,
            long windowMillis,
            long warmupMillis,
            boolean exactlyOnce,
            String mode) {}

    @Override
    public List<BenchmarkResult> run(BenchmarkContext context) throws Exception {
        int records = (int) context.longOption("records", 100_000);
        int swaps = (int) context.longOption("swaps", 3);
        int rate = (int) context.longOption("rate", 5_000);
        int partitions = (int) context.longOption("partitions", 2);
        int replicas = (int) context.longOption("replicas", 2);
        long window = context.longOption("window-ms", 1_000);
        long warmup = context.longOption("warmup-ms", 2_000);
        boolean exactlyOnce = context.booleanOption(InferenceBenchmarks.EXACTLY_ONCE, false);
        boolean separate = context.booleanOption(InferenceBenchmarks.SEPARATE_PROCESS, false);
        if (swaps < 1
                || records < 10 * (swaps + 1)
                || rate < 0
                || partitions < 1
                || replicas < 1
                || window < 1
                || warmup < 0) {
            throw new IllegalArgumentException("Need --swaps >= 1, --records >= 10 x (swaps + 1), --rate >= 0, "
                    + "--partitions >= 1, --replicas >= 1, --window-ms >= 1, --warmup-ms >= 0");
        }
        List<BenchmarkResult> results = new ArrayList<>();
        try (InferenceBenchmarks.Served served = InferenceBenchmarks.Served.start(context)) {
            results.addAll(measure(
                    context,
                    served,
                    new Setup(records, swaps, rate, partitions, replicas, window, warmup, exactlyOnce, "in-process")));
            if (separate) {
                results.addAll(measure(
                        context,
                        served,
                        new Setup(
                                records,
                                swaps,
                                rate,
                                partitions,
                                replicas,
                                window,
                                warmup,
                                exactlyOnce,
                                "separate-process")));
            }
        }
        return results;
    }

    /**
     * Publishes {@code count} versions of the served result (the trained model's bytes and normalizer), promoting the
     * first if nothing is promoted yet; returns their numbers.
     */
    private static List<Integer> publishVersions(InferenceBenchmarks.Served served, int count) {
        TrainingResult result = served.registry.result(served.resultId).orElseThrow();
        byte[] model = served.registry.loadArtifact(result.artifact());
        byte[] normalizer =
                result.normalizerArtifact() == null ? null : served.registry.loadArtifact(result.normalizerArtifact());
        List<Integer> numbers = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            boolean promote =
                    i == 0 && served.registry.latestPromotion(served.resultId).isEmpty();
            numbers.add(served.registry
                    .publishVersion(
                            served.resultId,
                            model,
                            normalizer,
                            result.testMetrics(),
                            Map.of(),
                            "swap-latency benchmark",
                            promote)
                    .version());
        }
        return numbers;
    }

    /** A deployment under measurement: in this JVM or a child process. */
    private interface Serving extends AutoCloseable {
        void checkAlive();

        @Override
        void close() throws Exception;
    }

    private List<BenchmarkResult> measure(BenchmarkContext context, InferenceBenchmarks.Served served, Setup setup)
            throws Exception {
        // the versions to promote; the deployment starts on the promoted one
        List<Integer> versions =
                publishVersions(served, setup.swaps() + (setup.mode().equals("in-process") ? 1 : 0));
        if (!setup.mode().equals("in-process")) {
            versions.add(
                    0,
                    served.registry
                            .latestPromotion(served.resultId)
                            .orElseThrow()
                            .version());
        }
        int first = versions.get(0);
        served.registry.promote(served.resultId, first, "swap-latency benchmark: start");
        String stamp = String.valueOf(System.currentTimeMillis());
        String in = "swap-in-" + stamp;
        String out = "swap-out-" + stamp;
        InferenceBenchmarks.createTopics(context, setup.partitions(), in, out);
        OutputLog outputs = new OutputLog(context, out, Sender.capacity(setup));
        Sender sender = new Sender(context, served, setup, in, outputs::distinct);
        List<long[]> swapTimes = new ArrayList<>(); // {promote called, promote returned, first prediction}
        List<Promotion> promotions = new ArrayList<>();
        try (outputs) {
            serve(context, served, setup, in, out, versions, outputs, sender, swapTimes, promotions);
            // the deployment has stopped: everything it wrote is committed; read to the end of the output topic
            outputs.readTo(endOffsets(context, out, setup.partitions()), Duration.ofMinutes(1));
        }
        return results(setup, versions, swapTimes, promotions, outputs, sender);
    }

    /**
     * Serves inputs through the promotions: the sender goes on until every swap was seen and at least
     * {@code --records} inputs were sent, then stops; waits until every input sent has a prediction and stops the
     * deployment.
     */
    private static void serve(
            BenchmarkContext context,
            InferenceBenchmarks.Served served,
            Setup setup,
            String in,
            String out,
            List<Integer> versions,
            OutputLog outputs,
            Sender sender,
            List<long[]> swapTimes,
            List<Promotion> promotions)
            throws Exception {
        try (Serving serving = startServing(context, served, setup, in, out)) {
            warmUp(context, served, setup, in, serving, outputs);
            sender.start();
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
            for (int swap = 1; swap <= setup.swaps(); swap++) {
                long due = (long) setup.records() * swap / (setup.swaps() + 1);
                while (outputs.distinct() < due) {
                    check(serving, outputs, sender, deadline, "the outputs to reach " + due);
                    Thread.sleep(1);
                }
                int version = versions.get(swap);
                long called = System.nanoTime();
                Promotion promotion =
                        served.registry.promote(served.resultId, version, "swap-latency benchmark: swap " + swap);
                long returned = System.nanoTime();
                promotions.add(promotion);
                while (outputs.firstNanos(version) == 0) {
                    check(serving, outputs, sender, deadline, "a prediction by version " + version);
                    if (!sender.isAlive() && outputs.distinct() >= sender.sent()) {
                        throw new IllegalStateException("All " + sender.sent() + " inputs (the most this run sends)"
                                + " were predicted before version " + version + " made a prediction");
                    }
                    Thread.sleep(1);
                }
                swapTimes.add(new long[] {called, returned, outputs.firstNanos(version)});
                System.err.printf(
                        "swap-latency (%s): swap %d to version %d: first prediction by it %.1f ms after the promotion%n",
                        setup.mode(), swap, version, (outputs.firstNanos(version) - returned) / 1e6);
            }
            sender.finish();
            while (outputs.distinct() < sender.sent()) {
                check(serving, outputs, sender, deadline, "every input's prediction");
                Thread.sleep(5);
            }
            serving.checkAlive();
        } finally {
            sender.stop();
        }
    }

    /**
     * Before the measured inputs: sends warm-up inputs (negative keys, not counted) to every partition every 50 ms
     * until the deployment has answered as many as there are partitions, then for {@code --warmup-ms} more, so that the measured
     * run starts on a deployment that serves (a child JVM takes seconds to start) and whose group has settled.
     */
    private static void warmUp(
            BenchmarkContext context,
            InferenceBenchmarks.Served served,
            Setup setup,
            String in,
            Serving serving,
            OutputLog outputs)
            throws Exception {
        Map<String, Object> config = context.producerConfig();
        config.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        long settledAt = 0;
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int j = 1; settledAt == 0 || System.nanoTime() < settledAt; j++) {
                serving.checkAlive();
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("The deployment answered no warm-up input within 3 minutes");
                }
                for (int p = 0; p < setup.partitions(); p++) {
                    producer.send(new ProducerRecord<>(
                            in, p, ByteBuffer.allocate(4).putInt(-j).array(), served.input(j)));
                }
                producer.flush();
                if (settledAt == 0 && outputs.warmUps() >= setup.partitions()) {
                    settledAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(setup.warmupMillis());
                    System.err.printf(
                            "swap-latency (%s): serving; warming up for %d ms more%n",
                            setup.mode(), setup.warmupMillis());
                }
                Thread.sleep(50);
            }
        }
    }

    private static void check(Serving serving, OutputLog outputs, Sender sender, long deadline, String what) {
        serving.checkAlive();
        if (sender.failed()) {
            throw new IllegalStateException("Sending the inputs failed (see the log)");
        }
        if (System.nanoTime() > deadline) {
            throw new IllegalStateException(
                    "Waited 5 minutes for " + what + "; " + outputs.distinct() + " inputs have a prediction so far");
        }
    }

    private static Serving startServing(
            BenchmarkContext context, InferenceBenchmarks.Served served, Setup setup, String in, String out)
            throws Exception {
        String id = "swap-" + setup.mode() + "-" + System.currentTimeMillis();
        if (setup.mode().equals("in-process")) {
            LocalInference inference = LocalInference.start(
                    served.registry,
                    context.clientConfig(),
                    id,
                    InferenceSpec.builder(served.resultId, in, out)
                            .replicas(setup.replicas())
                            .guarantee(
                                    setup.exactlyOnce()
                                            ? ProcessingGuarantee.EXACTLY_ONCE
                                            : ProcessingGuarantee.AT_LEAST_ONCE)
                            .followPromoted(true)
                            .build());
            return new Serving() {
                @Override
                public void checkAlive() {
                    if (inference.state() != LocalInference.State.RUNNING) {
                        throw new IllegalStateException(
                                "The inference deployment ended: " + inference.state() + " " + inference.failure());
                    }
                }

                @Override
                public void close() {
                    inference.close();
                }
            };
        }
        Path settings = ChildProcess.settingsFile(context.clientConfig());
        List<String> args = new ArrayList<>(List.of(
                "infer",
                "--config",
                settings.toString(),
                "--registry-prefix",
                served.registryPrefix,
                "--result",
                served.resultId,
                "--follow",
                "--replicas",
                String.valueOf(setup.replicas()),
                "--input-topic",
                in,
                "--output-topic",
                out,
                "--id",
                id));
        if (setup.exactlyOnce()) {
            args.add("--exactly-once");
        }
        ChildProcess child =
                ChildProcess.kafkaml(context, ChildProcess.jvmOptions(context), args.toArray(String[]::new));
        return new Serving() {
            @Override
            public void checkAlive() {
                child.checkAlive();
            }

            @Override
            public void close() throws InterruptedException {
                child.close();
            }
        };
    }

    /**
     * Sends input {@code i} (key: {@code i} as 4 bytes) to partition {@code i % partitions}, at {@code rate} per second
     * from the start (or as fast as it goes), noting when each was sent; goes on past {@code --records} until
     * {@link #finish()}, so that every promotion has inputs after it (past {@code --records} only while fewer than
     * {@code records / (swaps + 1)} inputs wait for their prediction, so that a saturating run does not pile up a
     * backlog), up to {@link #capacity(Setup)} inputs. A thread of its own.
     */
    private static final class Sender {
        private final Thread thread;
        private final long[] sendNanos;
        private final AtomicBoolean finishing = new AtomicBoolean();
        private final AtomicBoolean stopping = new AtomicBoolean();
        private final AtomicBoolean failed = new AtomicBoolean();
        private volatile int sent;

        Sender(
                BenchmarkContext context,
                InferenceBenchmarks.Served served,
                Setup setup,
                String in,
                java.util.function.IntSupplier predicted) {
            this.sendNanos = new long[capacity(setup)];
            long backlog = setup.records() / (setup.swaps() + 1);
            Map<String, Object> config = context.producerConfig();
            config.put(ProducerConfig.LINGER_MS_CONFIG, setup.rate() == 0 ? 5 : 0);
            this.thread = new Thread(
                    () -> {
                        try (KafkaProducer<byte[], byte[]> producer =
                                new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer())) {
                            long start = System.nanoTime();
                            for (int i = 0;
                                    i < sendNanos.length
                                            && !stopping.get()
                                            && !(finishing.get() && i >= setup.records());
                                    i++) {
                                while (i >= setup.records()
                                        && i - predicted.getAsInt() > backlog
                                        && !finishing.get()
                                        && !stopping.get()) {
                                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
                                }
                                if (finishing.get() && i >= setup.records()) {
                                    break;
                                }
                                if (setup.rate() > 0) {
                                    long wait = start + i * 1_000_000_000L / setup.rate() - System.nanoTime();
                                    if (wait > 0) {
                                        LockSupport.parkNanos(wait);
                                    }
                                }
                                sendNanos[i] = System.nanoTime();
                                producer.send(
                                        new ProducerRecord<>(
                                                in,
                                                i % setup.partitions(),
                                                ByteBuffer.allocate(4).putInt(i).array(),
                                                served.input(i)),
                                        (metadata, e) -> {
                                            if (e != null) {
                                                System.err.println("swap-latency: an input was not sent: " + e);
                                                failed.set(true);
                                            }
                                        });
                                sent = i + 1;
                            }
                            producer.flush();
                        } catch (RuntimeException e) {
                            System.err.println("swap-latency: sending failed: " + e);
                            failed.set(true);
                        }
                    },
                    "swap-latency-sender");
            thread.setDaemon(true);
        }

        void start() {
            thread.start();
        }

        /** The most inputs a sender sends. */
        static int capacity(Setup setup) {
            return setup.records() * 4;
        }

        /** Stops once {@code --records} inputs were sent, and waits until it has stopped and flushed. */
        void finish() throws InterruptedException {
            finishing.set(true);
            thread.join();
        }

        /** Stops at once. */
        void stop() throws InterruptedException {
            stopping.set(true);
            thread.join(TimeUnit.SECONDS.toMillis(30));
        }

        boolean isAlive() {
            return thread.isAlive();
        }

        boolean failed() {
            return failed.get();
        }

        /** Inputs sent so far. */
        int sent() {
            return sent;
        }

        /** When input {@code i} was sent ({@code System.nanoTime()}). */
        long sendNanos(int i) {
            return sendNanos[i];
        }
    }

    private static Map<TopicPartition, Long> endOffsets(BenchmarkContext context, String topic, int partitions)
            throws Exception {
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        for (int p = 0; p < partitions; p++) {
            latest.put(new TopicPartition(topic, p), OffsetSpec.latest());
        }
        Map<TopicPartition, Long> ends = new HashMap<>();
        for (Map.Entry<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> end : context.admin()
                .listOffsets(latest)
                .all()
                .get(30, TimeUnit.SECONDS)
                .entrySet()) {
            ends.put(end.getKey(), end.getValue().offset());
        }
        return ends;
    }

    private List<BenchmarkResult> results(
            Setup setup,
            List<Integer> versions,
            List<long[]> swapTimes,
            List<Promotion> promotions,
            OutputLog outputs,
            Sender sender) {
        int inputs = sender.sent();
        int n = outputs.size();
        long[] arrivals = Arrays.copyOf(outputs.arrivals, n);
        int[] indexes = Arrays.copyOf(outputs.indexes, n);
        int[] versionOf = Arrays.copyOf(outputs.versions, n);
        // the count check
        int[] predictions = new int[inputs];
        for (int index : indexes) {
            predictions[index]++;
        }
        long missing = Arrays.stream(predictions).filter(c -> c == 0).count();
        long duplicates =
                Arrays.stream(predictions).filter(c -> c > 1).map(c -> c - 1).sum() + outputs.overflow();
        int[] newest = new int[setup.partitions()];
        long wentBack = 0;
        Integer[] byInput = new Integer[n];
        for (int i = 0; i < n; i++) {
            byInput[i] = i;
        }
        Arrays.sort(byInput, (a, b) -> Integer.compare(indexes[a], indexes[b]));
        for (int i : byInput) {
            int partition = indexes[i] % setup.partitions();
            if (versionOf[i] < newest[partition]) {
                wentBack++;
            }
            newest[partition] = Math.max(newest[partition], versionOf[i]);
        }
        System.err.printf(
                "swap-latency (%s): %d inputs, %d outputs, %d missing, %d duplicates, %d by an older version%n",
                setup.mode(), inputs, n, missing, duplicates, wentBack);
        if (missing > 0 || wentBack > 0 || (setup.exactlyOnce() && duplicates > 0)) {
            throw new IllegalStateException("The count check failed: " + missing + " inputs without a prediction, "
                    + duplicates + " duplicate predictions" + (setup.exactlyOnce() ? " (exactly-once)" : "") + ", "
                    + wentBack + " predictions by an older version than an earlier input's");
        }
        // the steady state: outputs between the first and last 1/(2(swaps+1)) of them, outside the swap windows
        long[] sorted = arrivals.clone();
        Arrays.sort(sorted);
        int margin = n / (2 * (setup.swaps() + 1));
        long steadyFrom = sorted[margin];
        long steadyTo = sorted[n - 1 - margin];
        long windowNanos = TimeUnit.MILLISECONDS.toNanos(setup.windowMillis());
        long[][] windows = new long[swapTimes.size()][];
        long excluded = 0;
        long coveredTo = steadyFrom; // the windows in promotion order; overlapping parts counted once
        for (int s = 0; s < windows.length; s++) {
            windows[s] = new long[] {swapTimes.get(s)[1], swapTimes.get(s)[2] + windowNanos};
            long from = Math.max(windows[s][0], coveredTo);
            long to = Math.min(windows[s][1], steadyTo);
            if (to > from) {
                excluded += to - from;
            }
            coveredTo = Math.max(coveredTo, windows[s][1]);
        }
        long steadyCount = 0;
        List<Double> steadyLatencies = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            long t = arrivals[i];
            if (t < steadyFrom || t > steadyTo || inAny(windows, t)) {
                continue;
            }
            steadyCount++;
            steadyLatencies.add((t - sender.sendNanos(indexes[i])) / 1e6);
        }
        double steadySeconds = (steadyTo - steadyFrom - excluded) / 1e9;
        if (steadyCount == 0 || steadySeconds <= 0) {
            throw new IllegalStateException("No steady state outside the swap windows: use more --records, fewer"
                    + " --swaps or a shorter --window-ms");
        }
        double steadyRate = steadyCount / steadySeconds;
        double steadyP99 = InferenceBenchmarks.percentile(steadyLatencies, 99);
        List<BenchmarkResult> results = new ArrayList<>();
        for (int s = 0; s < windows.length; s++) {
            long from = windows[s][0];
            long to = windows[s][1];
            long count = 0;
            long previous = from;
            long maxGap = 0;
            List<Double> latencies = new ArrayList<>();
            for (long t : sorted) {
                if (t < from || t > to) {
                    continue;
                }
                count++;
                maxGap = Math.max(maxGap, t - previous);
                previous = t;
            }
            maxGap = Math.max(maxGap, to - previous);
            for (int i = 0; i < n; i++) {
                if (arrivals[i] >= from && arrivals[i] <= to) {
                    latencies.add((arrivals[i] - sender.sendNanos(indexes[i])) / 1e6);
                }
            }
            double seconds = (to - from) / 1e9;
            Map<String, Object> extra = new LinkedHashMap<>();
            extra.put("mode", setup.mode());
            extra.put("load", setup.rate() == 0 ? "saturating" : "steady");
            extra.put("rate", setup.rate());
            extra.put("guarantee", setup.exactlyOnce() ? "exactly-once" : "at-least-once");
            extra.put("partitions", setup.partitions());
            extra.put("replicas", setup.replicas());
            extra.put("warmupMillis", setup.warmupMillis());
            extra.put("swap", s + 1);
            extra.put("fromVersion", versions.get(s));
            extra.put("toVersion", promotions.get(s).version());
            extra.put(
                    "promoteCallMillis",
                    BenchmarkResult.round((swapTimes.get(s)[1] - swapTimes.get(s)[0]) / 1e6));
            extra.put(
                    "promotionToFirstPredictionMillis",
                    BenchmarkResult.round((swapTimes.get(s)[2] - swapTimes.get(s)[1]) / 1e6));
            extra.put(
                    "windowDefinition",
                    "from the promotion to " + setup.windowMillis()
                            + " ms after the first prediction by the new version");
            extra.put("maxOutputGapMillis", BenchmarkResult.round(maxGap / 1e6));
            extra.put("p99LatencyMillis", latencies.isEmpty() ? 0.0 : InferenceBenchmarks.percentile(latencies, 99));
            extra.put("steadyP99LatencyMillis", steadyP99);
            extra.put("ratioDefinition", "window recordsPerSecond / steady-state recordsPerSecond");
            extra.put("inputs", inputs);
            extra.put("outputs", n + outputs.overflow());
            extra.put("missing", missing);
            extra.put("duplicates", duplicates);
            extra.put("versionWentBack", wentBack);
            // records in the window, and the seconds the steady state takes for as many
            results.add(BenchmarkResult.of(
                    name(), Math.max(count, 1), seconds, STEADY_BASELINE, Math.max(count, 1) / steadyRate, extra));
        }
        return results;
    }

    private static boolean inAny(long[][] windows, long t) {
        for (long[] window : windows) {
            if (t >= window[0] && t <= window[1]) {
                return true;
            }
        }
        return false;
    }

    /**
     * Reads the output topic from its beginning ({@code read_committed}, as a downstream consumer) on a thread of its
     * own and keeps, per output record in arrival order, when it was polled, the input it answers (its key) and the
     * version its {@code kafkaml.model.version} header names; also the first arrival of each version.
     */
    private static final class OutputLog implements AutoCloseable {
        final long[] arrivals;
        final int[] indexes;
        final int[] versions;
        private final int records;
        private final Thread thread;
        private final AtomicBoolean stopping = new AtomicBoolean();
        private final Map<Integer, Long> firstByVersion = new ConcurrentHashMap<>();
        private volatile Map<TopicPartition, Long> target;
        private volatile int size;
        private volatile int distinct;
        private volatile long overflow;
        private volatile int warmUps;
        private volatile RuntimeException failure;

        OutputLog(BenchmarkContext context, String topic, int records) {
            this.records = records;
            int capacity = records + records / 2;
            this.arrivals = new long[capacity];
            this.indexes = new int[capacity];
            this.versions = new int[capacity];
            Map<String, Object> config = context.consumerConfig();
            config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            config.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 5);
            config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
            this.thread = new Thread(() -> read(config, topic), "swap-latency-reader");
            thread.setDaemon(true);
            thread.start();
        }

        private void read(Map<String, Object> config, String topic) {
            boolean[] seen = new boolean[records];
            try (KafkaConsumer<byte[], byte[]> consumer =
                    new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
                List<TopicPartition> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                        .map(p -> new TopicPartition(topic, p.partition()))
                        .toList();
                consumer.assign(partitions);
                consumer.seekToBeginning(partitions);
                while (!stopping.get()) {
                    Map<TopicPartition, Long> ends = target;
                    if (ends != null
                            && ends.entrySet().stream().allMatch(e -> consumer.position(e.getKey()) >= e.getValue())) {
                        return;
                    }
                    for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(20))) {
                        long now = System.nanoTime();
                        int index = ByteBuffer.wrap(record.key()).getInt();
                        if (index < 0) {
                            warmUps++;
                            continue;
                        }
                        Header header = record.headers().lastHeader(KafkaMlConfig.MODEL_VERSION_HEADER);
                        if (header == null) {
                            throw new IllegalStateException("A prediction without a "
                                    + KafkaMlConfig.MODEL_VERSION_HEADER + " header at " + record.topic() + "-"
                                    + record.partition() + "@" + record.offset());
                        }
                        int version = Integer.parseInt(new String(header.value(), StandardCharsets.UTF_8));
                        firstByVersion.putIfAbsent(version, now);
                        if (size == arrivals.length) {
                            overflow++;
                            continue;
                        }
                        arrivals[size] = now;
                        indexes[size] = index;
                        versions[size] = version;
                        size++;
                        if (!seen[index]) {
                            seen[index] = true;
                            distinct++;
                        }
                    }
                }
            } catch (RuntimeException e) {
                failure = e;
            }
        }

        /** Inputs with at least one prediction so far. */
        int distinct() {
            if (failure != null) {
                throw new IllegalStateException("Reading the predictions failed: " + failure.getMessage(), failure);
            }
            return distinct;
        }

        /** When the first prediction by {@code version} was polled ({@code System.nanoTime()}), or 0. */
        long firstNanos(int version) {
            distinct();
            return firstByVersion.getOrDefault(version, 0L);
        }

        int size() {
            return size;
        }

        /** Warm-up inputs answered (not kept). */
        int warmUps() {
            distinct();
            return warmUps;
        }

        /** Predictions beyond the arrays' capacity (all duplicates: counted, not kept). */
        long overflow() {
            return overflow;
        }

        /** Reads on until every partition's position reaches {@code ends}, then stops. */
        void readTo(Map<TopicPartition, Long> ends, Duration timeout) throws InterruptedException {
            target = ends;
            thread.join(timeout.toMillis());
            distinct();
            if (thread.isAlive()) {
                throw new IllegalStateException("The reader did not reach the end of the output topic " + ends
                        + " within " + timeout.toSeconds() + " s");
            }
        }

        @Override
        public void close() throws InterruptedException {
            stopping.set(true);
            thread.join(TimeUnit.SECONDS.toMillis(10));
        }
    }
}
