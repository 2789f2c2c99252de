package io.kafkaml.benchmarks;

import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.control.ControlMessage;
import io.kafkaml.format.RecordDecoder;
import io.kafkaml.format.RecordEncoder;
import io.kafkaml.format.RecordFormats;
import io.kafkaml.inference.InferenceSpec;
import io.kafkaml.inference.LocalInference;
import io.kafkaml.inference.ProcessingGuarantee;
import io.kafkaml.inference.ServedModel;
import io.kafkaml.internals.LatencyHistogram;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.Registry;
import io.kafkaml.samples.hcopd.Hcopd;
import io.kafkaml.training.LocalTrainingLauncher;
import io.kafkaml.training.Normalization;
import io.kafkaml.training.TrainingDeployments;
import io.kafkaml.training.TrainingHandle;
import io.kafkaml.training.TrainingSpec;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * {@code inference-latency} and {@code inference-throughput}: the HCOPD model (trained for the benchmark from the
 * stream) served by an inference deployment, against a bare consume-produce passthrough with no model (the
 * ceiling Kafka sets) and, for throughput, against Kafka-ML's serving loop re-created in Java (one prediction
 * per record, a commit every 16 records).
 */
final class InferenceBenchmarks {

    /**
     * {@code --separate-process true}: also run the server as a child process started as a user starts it
     * ({@code java -jar kafkaml.jar infer ...}) and the baselines in JVMs of their own ({@link BaselineProcess}), and
     * report those numbers after the in-process ones.
     */
    static final String SEPARATE_PROCESS = "separate-process";
    /** {@code --neighbour true} (latency): measure again while a CPU-bound process competes for the cores. */
    static final String NEIGHBOUR = "neighbour";
    /** {@code --exactly-once true} (throughput): also drain with an exactly-once deployment, against at-least-once. */
    static final String EXACTLY_ONCE = "exactly-once";
    /**
     * {@code --in-process false} (latency): skip the in-process measurement, for a long run of the separate processes
     * alone (the serving RSS over 10 minutes needs only the {@code kafkaml infer} process).
     */
    static final String IN_PROCESS = "in-process";

    private InferenceBenchmarks() {}

    /** {@code inference-latency}: one input at a time at a steady rate; end-to-end latency percentiles. */
    static final class Latency implements Benchmark {
        @Override
        public String name() {
            return "inference-latency";
        }

        @Override
        public String description() {
            return "one input at a time at 100/s: end-to-end latency p50/p95/p99 vs a passthrough"
                    + " (--separate-process true: also as child JVMs; --neighbour true: also beside a CPU hog;"
                    + " --in-process false: the child JVMs only)";
        }

        @Override
        public List<BenchmarkResult> run(BenchmarkContext context) throws Exception {
            int seconds = (int) context.longOption("seconds", 20);
            int rate = (int) context.longOption("rate", 100);
            boolean separate = context.booleanOption(SEPARATE_PROCESS, false);
            boolean neighbour = context.booleanOption(NEIGHBOUR, false);
            boolean inProcess = context.booleanOption(IN_PROCESS, true);
            if (!inProcess && !separate) {
                throw new IllegalArgumentException(
                        "--in-process false needs --separate-process true: nothing would be measured");
            }
            List<BenchmarkResult> results = new ArrayList<>();
            try (Served served = Served.start(context)) {
                String stamp = String.valueOf(System.currentTimeMillis());
                if (inProcess) {
                    createTopics(
                            context, 1, "lat-in-" + stamp, "lat-out-" + stamp, "lat-pin-" + stamp, "lat-pout-" + stamp);
                    try (LocalInference inference = LocalInference.start(
                                    served.registry,
                                    context.clientConfig(),
                                    "lat-" + stamp,
                                    InferenceSpec.builder(served.resultId, "lat-in-" + stamp, "lat-out-" + stamp)
                                            .build());
                            Passthrough passthrough = Passthrough.start(
                                    context.clientConfig(), "lat-pin-" + stamp, "lat-pout-" + stamp, false)) {
                        System.err.printf(
                                "inference-latency: serving %s with %d replica(s); passthrough %s%n",
                                served.resultId, inference.replicas().size(), passthrough);
                        Topics topics = new Topics(
                                "lat-in-" + stamp, "lat-out-" + stamp, "lat-pin-" + stamp, "lat-pout-" + stamp);
                        results.add(interleaved(context, served, topics, seconds, rate, "in-process", null));
                        if (neighbour) {
                            results.add(withNeighbour(
                                    context,
                                    description -> interleaved(
                                            context, served, topics, seconds, rate, "in-process", description)));
                        }
                    }
                }
                if (separate) {
                    createTopics(
                            context,
                            1,
                            "lat-sin-" + stamp,
                            "lat-sout-" + stamp,
                            "lat-spin-" + stamp,
                            "lat-spout-" + stamp);
                    Path settings = ChildProcess.settingsFile(context.clientConfig());
                    try (ChildProcess infer = ChildProcess.kafkaml(
                                    context,
                                    ChildProcess.jvmOptions(context),
                                    "infer",
                                    "--config",
                                    settings.toString(),
                                    "--registry-prefix",
                                    served.registryPrefix,
                                    "--result",
                                    served.resultId,
                                    "--input-topic",
                                    "lat-sin-" + stamp,
                                    "--output-topic",
                                    "lat-sout-" + stamp,
                                    "--id",
                                    "lat-sep-" + stamp);
                            ChildProcess bare = ChildProcess.baseline(
                                    "passthrough",
                                    "--config",
                                    settings.toString(),
                                    "--input-topic",
                                    "lat-spin-" + stamp,
                                    "--output-topic",
                                    "lat-spout-" + stamp)) {
                        double oursReady =
                                awaitServing(context, served, infer, "lat-sin-" + stamp, "lat-sout-" + stamp);
                        double bareReady =
                                awaitServing(context, served, bare, "lat-spin-" + stamp, "lat-spout-" + stamp);
                        System.err.printf(
                                "inference-latency: separate processes serving after %.2f s (kafkaml infer) and "
                                        + "%.2f s (passthrough) from their start%n",
                                oursReady, bareReady);
                        Topics topics = new Topics(
                                "lat-sin-" + stamp, "lat-sout-" + stamp, "lat-spin-" + stamp, "lat-spout-" + stamp);
                        long rssBefore = infer.rssBytes();
                        // serving must not grow the process: its resident set sampled every 10 s of the run, so
                        // that the JIT's and the buffers' growth of the first minute is told from a leak
                        List<long[]> rss = java.util.Collections.synchronizedList(new ArrayList<>());
                        long sampling = System.nanoTime();
                        java.util.concurrent.ScheduledExecutorService sampler =
                                java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
                        sampler.scheduleAtFixedRate(
                                () -> rss.add(
                                        new long[] {(System.nanoTime() - sampling) / 1_000_000_000L, infer.rssBytes()}),
                                10,
                                10,
                                TimeUnit.SECONDS);
                        BenchmarkResult alone;
                        try {
                            alone = interleaved(context, served, topics, seconds, rate, "separate-process", null);
                        } finally {
                            sampler.shutdownNow();
                        }
                        long rssAfter = infer.rssBytes();
                        alone.extra().put("rssBeforeBytes", rssBefore);
                        alone.extra().put("rssAfterBytes", rssAfter);
                        alone.extra().put("peakRssBytes", infer.peakRssBytes());
                        synchronized (rss) {
                            alone.extra()
                                    .put(
                                            "rssSamples",
                                            rss.stream()
                                                    .map(sample -> List.of(sample[0], sample[1]))
                                                    .toList());
                            // the first sample a minute or more into the run (the run's whole wall time covers both
                            // halves)
                            rss.stream()
                                    .filter(sample -> sample[0] >= 60)
                                    .findFirst()
                                    .ifPresent(warm -> {
                                        alone.extra().put("rssAfterFirstMinuteBytes", warm[1]);
                                        alone.extra().put("rssGrowthAfterFirstMinuteBytes", rssAfter - warm[1]);
                                    });
                        }
                        results.add(alone);
                        if (neighbour) {
                            results.add(withNeighbour(
                                    context,
                                    description -> interleaved(
                                            context, served, topics, seconds, rate, "separate-process", description)));
                        }
                        infer.checkAlive();
                        bare.checkAlive();
                    }
                }
                return results;
            }
        }

        /** Ours' and the baseline's input and output topics. */
        private record Topics(String in, String out, String bareIn, String bareOut) {}

        /** What a measurement with a neighbour does. */
        private interface Measurement {
            BenchmarkResult run(String neighbour) throws Exception;
        }

        /**
         * Runs {@code measurement} while a CPU-bound neighbour process spins on as many threads as this machine has
         * processors, and names it in the result.
         */
        private static BenchmarkResult withNeighbour(BenchmarkContext context, Measurement measurement)
                throws Exception {
            int threads = Runtime.getRuntime().availableProcessors();
            try (ChildProcess busy = ChildProcess.baseline("busy", "--threads", String.valueOf(threads))) {
                BenchmarkResult result = measurement.run("a CPU-bound process spinning on " + threads + " thread(s)");
                busy.checkAlive();
                return result;
            }
        }

        /**
         * Interleaved halves of ours and the baseline after a short warm-up of each side: one result, whose
         * {@code mode} says where the servers ran.
         */
        private BenchmarkResult interleaved(
                BenchmarkContext context,
                Served served,
                Topics topics,
                int seconds,
                int rate,
                String mode,
                String neighbour)
                throws Exception {
            List<Double> ours = new ArrayList<>();
            List<Double> bare = new ArrayList<>();
            measure(context, served, topics.in(), topics.out(), 2, rate);
            measure(context, served, topics.bareIn(), topics.bareOut(), 2, rate);
            for (int half = 0; half < 2; half++) {
                ours.addAll(measure(context, served, topics.in(), topics.out(), seconds / 2, rate));
                bare.addAll(measure(context, served, topics.bareIn(), topics.bareOut(), seconds / 2, rate));
            }
            Map<String, Object> extra = new LinkedHashMap<>();
            extra.put("mode", mode);
            extra.put("neighbour", neighbour == null ? "none" : neighbour);
            extra.put("rate", rate);
            extra.put("p50Millis", percentile(ours, 50));
            extra.put("p95Millis", percentile(ours, 95));
            extra.put("p99Millis", percentile(ours, 99));
            extra.put("baselineP50Millis", percentile(bare, 50));
            extra.put("baselineP95Millis", percentile(bare, 95));
            extra.put("baselineP99Millis", percentile(bare, 99));
            extra.put("p99OverBaselineP99", BenchmarkResult.round(percentile(ours, 99) / percentile(bare, 99)));
            extra.put("paperMillisPerPrediction", 374);
            extra.put("ratioDefinition", "baselineP50Millis / p50Millis");
            BenchmarkResult result = BenchmarkResult.of(
                    name(),
                    ours.size(),
                    ours.size() / (double) rate,
                    "consume-produce passthrough, no model" + ("separate-process".equals(mode) ? ", own JVM" : ""),
                    bare.size() / (double) rate,
                    extra);
            return result.withRatio(percentile(bare, 50) / percentile(ours, 50));
        }

        /**
         * Sends an input every 200 ms to a child that has just started until its output shows one, and returns the
         * seconds from the child's start until then.
         */
        static double awaitServing(BenchmarkContext context, Served served, ChildProcess child, String in, String out)
                throws Exception {
            Map<String, Object> producerConfig = context.producerConfig();
            producerConfig.put(ProducerConfig.LINGER_MS_CONFIG, 0);
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
            try (OutputCounter outputs = new OutputCounter(context, out);
                    KafkaProducer<byte[], byte[]> producer =
                            new KafkaProducer<>(producerConfig, new ByteArraySerializer(), new ByteArraySerializer())) {
                while (outputs.count() == 0) {
                    child.checkAlive();
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("No output within 3 minutes of the start: " + child.tail());
                    }
                    producer.send(new ProducerRecord<>(in, new byte[8], served.input(0)));
                    producer.flush();
                    Thread.sleep(200);
                }
                return (outputs.firstNanos() - child.startNanos()) / 1e9;
            }
        }

        /** Sends one input every 1/rate s for {@code seconds}; returns each input's send-to-output latency in ms. */
        static List<Double> measure(
                BenchmarkContext context, Served served, String in, String out, int seconds, int rate)
                throws Exception {
            int count = seconds * rate;
            List<Double> latencies = new ArrayList<>(count);
            Map<String, Object> readerConfig = context.consumerConfig();
            readerConfig.put(ConsumerConfig.GROUP_ID_CONFIG, "reader-" + out + "-" + System.nanoTime());
            readerConfig.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
            Map<String, Object> producerConfig = context.producerConfig();
            producerConfig.put(ProducerConfig.LINGER_MS_CONFIG, 0);
            try (KafkaConsumer<byte[], byte[]> reader = new KafkaConsumer<>(
                            readerConfig, new ByteArrayDeserializer(), new ByteArrayDeserializer());
                    KafkaProducer<byte[], byte[]> producer =
                            new KafkaProducer<>(producerConfig, new ByteArraySerializer(), new ByteArraySerializer())) {
                reader.subscribe(List.of(out));
                while (reader.assignment().isEmpty()) {
                    reader.poll(Duration.ofMillis(50));
                }
                reader.seekToEnd(reader.assignment());
                reader.assignment().forEach(reader::position);
                AtomicBoolean done = new AtomicBoolean();
                Thread sender = new Thread(
                        () -> {
                            long start = System.nanoTime();
                            for (int i = 0; i < count; i++) {
                                long due = start + i * (1_000_000_000L / rate);
                                long wait = due - System.nanoTime();
                                if (wait > 0) {
                                    java.util.concurrent.locks.LockSupport.parkNanos(wait);
                                }
                                byte[] key = ByteBuffer.allocate(8)
                                        .putLong(System.nanoTime())
                                        .array();
                                producer.send(new ProducerRecord<>(in, key, served.input(i)));
                            }
                            done.set(true);
                        },
                        "latency-sender");
                sender.start();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds + 30);
                while (latencies.size() < count && System.nanoTime() < deadline) {
                    for (ConsumerRecord<byte[], byte[]> record : reader.poll(Duration.ofMillis(20))) {
                        long sent = ByteBuffer.wrap(record.key()).getLong();
                        latencies.add((System.nanoTime() - sent) / 1e6);
                    }
                }
                sender.join();
            }
            if (latencies.size() < count) {
                // a lost or very late prediction is a failure to report, not a sample to leave out of the percentiles
                throw new IllegalStateException(String.format(
                        "%d of %d inputs sent to %s got no prediction on %s within %d s of the first",
                        count - latencies.size(), count, in, out, seconds + 30));
            }
            return latencies;
        }
    }

    /**
     * {@code first-prediction}: seconds from starting {@code java -jar kafkaml.jar infer ...} to its first prediction
     * of a backlog that is there before the process starts, beside the same for a passthrough JVM with no model
     * ({@link BaselineProcess}), the processes started one after the other, round after round (medians). With
     * {@code --compare-jvm-options} (AppCDS, say) or {@code --compare-jar} (an older build) a second {@code infer}
     * variant runs in the same rounds, so that a before/after comparison comes from one run.
     */
    static final class FirstPrediction implements Benchmark {
        /** {@code --compare-jvm-options "..."}: a second {@code infer} variant with these JVM options. */
        static final String COMPARE_JVM_OPTIONS = "compare-jvm-options";
        /** {@code --compare-jar PATH}: a second {@code infer} variant from this kafkaml jar. */
        static final String COMPARE_JAR = "compare-jar";
        /**
         * {@code --appcds true}: also an {@code infer} variant started with a class-data archive that one more
         * {@code infer} run (not counted) recorded with {@code -XX:ArchiveClassesAtExit} (JDK 13+).
         */
        static final String APPCDS = "appcds";
        /**
         * {@code --appcds-record infer|quickstart}: what records the archive of {@code --appcds true}: one more
         * {@code infer} run (default), or {@code java -XX:ArchiveClassesAtExit=… -jar kafkaml.jar quickstart} run to
         * its end, as {@code kafkaml-k8s/Dockerfile} bakes the archive into the image.
         */
        static final String APPCDS_RECORD = "appcds-record";

        @Override
        public String name() {
            return "first-prediction";
        }

        @Override
        public String description() {
            return "seconds from starting 'kafkaml infer' as a process to its first prediction of a backlog, vs a "
                    + "passthrough JVM (--rounds 3; --appcds true: also with a class-data archive, recorded by one "
                    + "more infer run or, with --appcds-record quickstart, by the quickstart as the Dockerfile does; "
                    + "--compare-jvm-options/--compare-jar: another infer variant)";
        }

        /** One kind of child: how it is started, and its first-output seconds round by round. */
        private record Variant(String label, List<String> jvmOptions, String jar, List<Double> seconds) {}

        @Override
        public List<BenchmarkResult> run(BenchmarkContext context) throws Exception {
            int rounds = (int) context.longOption("rounds", 3);
            int backlog = (int) context.longOption("records", 1000);
            List<Variant> variants = new ArrayList<>();
            variants.add(new Variant("kafkaml infer", ChildProcess.jvmOptions(context), null, new ArrayList<>()));
            String compareOptions = context.options().get(COMPARE_JVM_OPTIONS);
            String compareJar = context.options().get(COMPARE_JAR);
            if (compareOptions != null || compareJar != null) {
                variants.add(new Variant(
                        "kafkaml infer"
                                + (compareJar != null ? " from " + compareJar : "")
                                + (compareOptions != null ? " with " + compareOptions : ""),
                        compareOptions == null || compareOptions.isBlank()
                                ? List.of()
                                : List.of(compareOptions.trim().split("\\s+")),
                        compareJar,
                        new ArrayList<>()));
            }
            boolean appCds = context.booleanOption(APPCDS, false);
            ClassLoads archiveUse = null;
            List<Double> passthrough = new ArrayList<>();
            try (Served served = Served.start(context)) {
                String in = context.topic("first-in");
                createTopics(context, 1, in);
                Throughput.fill(context, served, in, backlog);
                Path settings = ChildProcess.settingsFile(context.clientConfig());
                if (appCds) {
                    // JDK 13+: a dynamic archive of the classes one JVM loaded, written as it exits (SIGTERM
                    // included); JDK 19+ can do both steps with -XX:+AutoCreateSharedArchive
                    Path archive = java.nio.file.Files.createTempFile("kafkaml-infer-", ".jsa");
                    java.nio.file.Files.delete(archive);
                    archive.toFile().deleteOnExit();
                    // recorded with the options it is replayed with (review R15)
                    List<String> recordOptions = new ArrayList<>(ChildProcess.jvmOptions(context));
                    recordOptions.add("-XX:ArchiveClassesAtExit=" + archive);
                    String recorder = context.options().getOrDefault(APPCDS_RECORD, "infer");
                    String recordedBy;
                    if (recorder.equals("quickstart")) {
                        long start = System.nanoTime();
                        try (ChildProcess quickstart = ChildProcess.kafkaml(context, recordOptions, "quickstart")) {
                            quickstart.awaitExit(Duration.ofMinutes(5));
                        }
                        recordedBy = String.format(
                                java.util.Locale.ROOT,
                                "'kafkaml quickstart' (%.1f s)",
                                (System.nanoTime() - start) / 1e9);
                    } else if (recorder.equals("infer")) {
                        String id = "first-cds-" + System.nanoTime();
                        double recording = firstOutput(
                                context,
                                in + "-" + id,
                                out -> ChildProcess.kafkaml(
                                        context, recordOptions, inferArgs(settings, served, in, out, id)));
                        recordedBy = String.format(
                                java.util.Locale.ROOT, "'kafkaml infer' (first prediction after %.2f s)", recording);
                    } else {
                        throw new IllegalArgumentException(
                                "--" + APPCDS_RECORD + " is infer or quickstart, not '" + recorder + "'");
                    }
                    if (!java.nio.file.Files.isRegularFile(archive)) {
                        throw new IllegalStateException("The JVM wrote no class-data archive at " + archive);
                    }
                    // -Xshare:on: a JVM that cannot map the archive exits with an error instead of running without it
                    List<String> options = new ArrayList<>(ChildProcess.jvmOptions(context));
                    options.add("-Xshare:on");
                    options.add("-XX:SharedArchiveFile=" + archive);
                    archiveUse = archiveUse(context, settings, served, in, options);
                    System.err.printf(
                            "first-prediction: AppCDS archive %s (%d MB) recorded by %s; an infer run started with it "
                                    + "loaded %d of its %d classes from it%n",
                            archive,
                            java.nio.file.Files.size(archive) >> 20,
                            recordedBy,
                            archiveUse.fromArchive(),
                            archiveUse.loaded());
                    variants.add(new Variant(
                            "kafkaml infer with an AppCDS archive recorded by " + recorder + " (-XX:SharedArchiveFile)",
                            options,
                            null,
                            new ArrayList<>()));
                }
                for (int round = 0; round < rounds; round++) {
                    String stamp = round + "-" + System.nanoTime();
                    passthrough.add(firstOutput(
                            context,
                            in + "-pass-" + stamp,
                            out -> ChildProcess.baseline(
                                    "passthrough",
                                    "--config",
                                    settings.toString(),
                                    "--input-topic",
                                    in,
                                    "--output-topic",
                                    out)));
                    for (int v = 0; v < variants.size(); v++) {
                        Variant variant = variants.get(v);
                        String id = "first-" + v + "-" + stamp;
                        variant.seconds()
                                .add(firstOutput(
                                        context,
                                        in + "-" + id,
                                        out -> ChildProcess.kafkamlFrom(
                                                context,
                                                variant.jvmOptions(),
                                                variant.jar(),
                                                inferArgs(settings, served, in, out, id))));
                    }
                    System.err.printf(
                            "first-prediction round %d: passthrough %.2f s, %s%n",
                            round + 1,
                            passthrough.get(round),
                            variants.stream()
                                    .map(v -> String.format(
                                            java.util.Locale.ROOT,
                                            "%s %.2f s",
                                            v.label(),
                                            v.seconds().get(v.seconds().size() - 1)))
                                    .toList());
                }
            }
            List<BenchmarkResult> results = new ArrayList<>();
            double bare = percentile(passthrough, 50);
            long rebalanceDelay = initialRebalanceDelayMs(context);
            for (Variant variant : variants) {
                Map<String, Object> extra = new LinkedHashMap<>();
                extra.put("mode", "separate-process");
                extra.put("variant", variant.label());
                extra.put("rounds", rounds);
                extra.put(
                        "firstPredictionSeconds",
                        variant.seconds().stream().map(BenchmarkResult::round).toList());
                extra.put(
                        "baselineFirstOutputSeconds",
                        passthrough.stream().map(BenchmarkResult::round).toList());
                extra.put(
                        "definition",
                        "median seconds from ProcessBuilder.start() to the first output record a read_committed "
                                + "reader sees; the backlog is in the input topic before the process starts");
                extra.put("goalSeconds", 3.0);
                // a fresh group's first member waits this long on the broker before its assignment: a part of the
                // first prediction that is the broker's setting, not the process's (-1: could not be read)
                extra.put("brokerGroupInitialRebalanceDelayMs", rebalanceDelay);
                if (archiveUse != null && variant.jvmOptions().contains("-Xshare:on")) {
                    extra.put("archiveClasses", archiveUse.fromArchive());
                    extra.put("classesLoaded", archiveUse.loaded());
                }
                results.add(BenchmarkResult.ofTimeRatio(
                        name(),
                        backlog,
                        percentile(variant.seconds(), 50),
                        "consume-produce passthrough, no model, own JVM",
                        bare,
                        extra));
            }
            return results;
        }

        /** Classes an {@code infer} run loaded, and how many of them came from the dynamic archive (the top layer). */
        record ClassLoads(int loaded, int fromArchive) {

            /**
             * Counts the lines of a {@code -Xlog:class+load} log: every class loaded, and those whose source is the
             * dynamic archive ({@code source: shared objects file (top)}; the JDK's own base archive says
             * {@code shared objects file} without {@code (top)}).
             */
            static ClassLoads of(List<String> log) {
                int loaded = 0;
                int top = 0;
                for (String line : log) {
                    if (line.contains(" source: ")) {
                        loaded++;
                        if (line.contains("source: shared objects file (top)")) {
                            top++;
                        }
                    }
                }
                return new ClassLoads(loaded, top);
            }
        }

        /**
         * One {@code infer} run (not counted) started with {@code options} and a class-load log, to its first
         * prediction: how many of its classes came from the archive. Fails when none did (the archive was not used:
         * review R15).
         */
        private static ClassLoads archiveUse(
                BenchmarkContext context, Path settings, Served served, String in, List<String> options)
                throws Exception {
            Path log = java.nio.file.Files.createTempFile("kafkaml-infer-class-load-", ".log");
            log.toFile().deleteOnExit();
            List<String> logged = new ArrayList<>(options);
            logged.add("-Xlog:class+load=info:file=" + log);
            String id = "first-cds-check-" + System.nanoTime();
            firstOutput(
                    context,
                    in + "-" + id,
                    out -> ChildProcess.kafkaml(context, logged, inferArgs(settings, served, in, out, id)));
            ClassLoads loads = ClassLoads.of(java.nio.file.Files.readAllLines(log));
            if (loads.fromArchive() == 0) {
                throw new IllegalStateException("An infer run started with " + options + " loaded none of its "
                        + loads.loaded() + " classes from the archive (class-load log " + log + ")");
            }
            return loads;
        }

        /**
         * The broker's {@code group.initial.rebalance.delay.ms} (Kafka's default 3000; the embedded test broker's 0):
         * how long the first member of an empty group waits on the broker for others before it is assigned
         * partitions, part of every first prediction of a new group; -1 when it cannot be read.
         */
        static long initialRebalanceDelayMs(BenchmarkContext context) {
            try {
                String node = String.valueOf(context.admin()
                        .describeCluster()
                        .controller()
                        .get(30, TimeUnit.SECONDS)
                        .id());
                org.apache.kafka.common.config.ConfigResource broker =
                        new org.apache.kafka.common.config.ConfigResource(
                                org.apache.kafka.common.config.ConfigResource.Type.BROKER, node);
                org.apache.kafka.clients.admin.ConfigEntry entry = context.admin()
                        .describeConfigs(List.of(broker))
                        .all()
                        .get(30, TimeUnit.SECONDS)
                        .get(broker)
                        .get("group.initial.rebalance.delay.ms");
                return entry == null || entry.value() == null ? -1 : Long.parseLong(entry.value());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return -1;
            } catch (java.util.concurrent.ExecutionException
                    | java.util.concurrent.TimeoutException
                    | RuntimeException e) {
                System.err.println("first-prediction: cannot read the broker's group.initial.rebalance.delay.ms: " + e);
                return -1;
            }
        }

        private static String[] inferArgs(Path settings, Served served, String in, String out, String id) {
            return new String[] {
                "infer",
                "--config",
                settings.toString(),
                "--registry-prefix",
                served.registryPrefix,
                "--result",
                served.resultId,
                "--input-topic",
                in,
                "--output-topic",
                out,
                "--id",
                id
            };
        }

        private static double firstOutput(BenchmarkContext context, String out, Throughput.ChildStart start)
                throws Exception {
            createTopics(context, 1, out);
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
            try (OutputCounter outputs = new OutputCounter(context, out);
                    ChildProcess child = start.start(out)) {
                while (outputs.count() == 0) {
                    child.checkAlive();
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("No output within 3 minutes of the start: " + child.tail());
                    }
                    Thread.sleep(2);
                }
                return (outputs.firstNanos() - child.startNanos()) / 1e9;
            }
        }
    }

    /** {@code inference-throughput}: a backlog of inputs drained by ours, a passthrough, and Kafka-ML's loop. */
    static final class Throughput implements Benchmark {
        @Override
        public String name() {
            return "inference-throughput";
        }

        @Override
        public String description() {
            return "a backlog of 200,000 HCOPD inputs: batched replica vs passthrough and vs Kafka-ML's loop"
                    + " (--separate-process true: also as child JVMs; --exactly-once true: also exactly-once)";
        }

        @Override
        public List<BenchmarkResult> run(BenchmarkContext context) throws Exception {
            int records = (int) context.longOption("records", 200_000);
            int partitions = (int) context.longOption("partitions", 1);
            boolean separate = context.booleanOption(SEPARATE_PROCESS, false);
            boolean exactlyOnce = context.booleanOption(EXACTLY_ONCE, false);
            try (Served served = Served.start(context)) {
                String in = context.topic("thr-in");
                createTopics(context, partitions, in);
                fill(context, served, in, records);
                String warm = context.topic("thr-warm");
                createTopics(context, partitions, warm);
                fill(context, served, warm, Math.min(records, 20_000));
                // warm-up of each side on a smaller backlog
                drainWithInference(context, served, warm, Math.min(records, 20_000), ProcessingGuarantee.AT_LEAST_ONCE);
                drainWithPassthrough(context, warm, Math.min(records, 20_000));
                drainWithKafkaMlLoop(context, served, warm, Math.min(records, 5_000));

                double passthrough = drainWithPassthrough(context, in, records);
                double ours = drainWithInference(context, served, in, records, ProcessingGuarantee.AT_LEAST_ONCE);
                double kafkaMl = drainWithKafkaMlLoop(context, served, in, records);
                System.err.printf(
                        "inference-throughput: batched replica %.2f s, passthrough %.2f s, Kafka-ML loop %.2f s%n",
                        ours, passthrough, kafkaMl);
                Map<String, Object> extra = new LinkedHashMap<>();
                extra.put("mode", "in-process");
                extra.put("partitions", partitions);
                extra.put("replicas", 1);
                List<BenchmarkResult> results = new ArrayList<>();
                results.add(BenchmarkResult.of(
                        name(),
                        records,
                        ours,
                        "bare at-least-once consume-produce passthrough (flush, commit each poll), no model",
                        passthrough,
                        extra));
                results.add(BenchmarkResult.of(
                        name(),
                        records,
                        ours,
                        "Kafka-ML's loop in Java: one prediction per record, commit every 16",
                        kafkaMl,
                        extra));
                if (exactlyOnce) {
                    drainWithInference(
                            context, served, warm, Math.min(records, 20_000), ProcessingGuarantee.EXACTLY_ONCE);
                    double exact = drainWithInference(context, served, in, records, ProcessingGuarantee.EXACTLY_ONCE);
                    Map<String, Object> guarantee = new LinkedHashMap<>(extra);
                    guarantee.put("guarantee", "exactly-once");
                    guarantee.put("baselineGuarantee", "at-least-once");
                    results.add(BenchmarkResult.of(
                            name(), records, exact, "kafkaml at-least-once, same run", ours, guarantee));
                }
                if (separate) {
                    results.addAll(separateProcesses(context, served, in, records, partitions, exactlyOnce));
                }
                return results;
            }
        }

        /** Seconds to drain a backlog from the first output on, and the seconds from the process start to it. */
        private record Drain(double seconds, double firstOutputSeconds) {}

        /**
         * The backlog {@code in} drained by child processes, one after the other: a passthrough JVM, {@code kafkaml
         * infer} (at least once), the idealised batched loop's JVM, and with {@code exactly-once} {@code kafkaml infer
         * --exactly-once}; each into an output topic of its own, counted by a {@code read_committed} consumer.
         */
        private List<BenchmarkResult> separateProcesses(
                BenchmarkContext context, Served served, String in, int records, int partitions, boolean exactlyOnce)
                throws Exception {
            Path settings = ChildProcess.settingsFile(context.clientConfig());
            String stamp = String.valueOf(System.nanoTime());
            Drain passthrough = drainWithChild(
                    context,
                    records,
                    in + "-spass-" + stamp,
                    out -> ChildProcess.baseline(
                            "passthrough",
                            "--config",
                            settings.toString(),
                            "--input-topic",
                            in,
                            "--output-topic",
                            out));
            Drain ours = drainWithChild(
                    context,
                    records,
                    in + "-sinf-" + stamp,
                    out -> inferProcess(context, served, settings, in, out, "thr-sep-" + stamp, false, null));
            Drain batched = drainWithChild(
                    context,
                    records,
                    in + "-sbat-" + stamp,
                    out -> ChildProcess.baseline(
                            "batched",
                            "--config",
                            settings.toString(),
                            "--input-topic",
                            in,
                            "--output-topic",
                            out,
                            "--registry-prefix",
                            served.registryPrefix,
                            "--result",
                            served.resultId));
            System.err.printf(
                    "inference-throughput, separate processes: kafkaml infer %.2f s (first output %.2f s after its "
                            + "start), passthrough %.2f s (%.2f s), batched loop %.2f s (%.2f s)%n",
                    ours.seconds(),
                    ours.firstOutputSeconds(),
                    passthrough.seconds(),
                    passthrough.firstOutputSeconds(),
                    batched.seconds(),
                    batched.firstOutputSeconds());
            List<BenchmarkResult> results = new ArrayList<>();
            results.add(separateResult(
                    records,
                    partitions,
                    ours,
                    "bare at-least-once consume-produce passthrough (flush, commit each poll), no model, own JVM",
                    passthrough,
                    null));
            results.add(separateResult(
                    records,
                    partitions,
                    ours,
                    "idealised batched consume-decode-predict-produce loop (flush, commit each poll), own JVM",
                    batched,
                    null));
            if (exactlyOnce) {
                Drain exact = drainWithChild(
                        context,
                        records,
                        in + "-seos-" + stamp,
                        out -> inferProcess(context, served, settings, in, out, "thr-seos-" + stamp, true, null));
                results.add(separateResult(
                        records,
                        partitions,
                        exact,
                        "kafkaml infer at-least-once, own JVM, same run",
                        ours,
                        "exactly-once"));
            }
            return results;
        }

        private BenchmarkResult separateResult(
                int records, int partitions, Drain ours, String baseline, Drain theirs, String guarantee) {
            Map<String, Object> extra = new LinkedHashMap<>();
            extra.put("mode", "separate-process");
            extra.put("partitions", partitions);
            extra.put("replicas", 1);
            if (guarantee != null) {
                extra.put("guarantee", guarantee);
                extra.put("baselineGuarantee", "at-least-once");
            }
            extra.put("firstOutputSeconds", BenchmarkResult.round(ours.firstOutputSeconds()));
            extra.put("baselineFirstOutputSeconds", BenchmarkResult.round(theirs.firstOutputSeconds()));
            extra.put("firstOutputDefinition", "seconds from the process start to the first output record seen");
            return BenchmarkResult.of(name(), records, ours.seconds(), baseline, theirs.seconds(), extra);
        }

        /**
         * {@code kafkaml infer} serving {@code served}'s model from {@code in} to {@code out}, as a child process, with
         * {@code --instance-id instanceId} unless it is {@code null} (then a random one per process).
         */
        static ChildProcess inferProcess(
                BenchmarkContext context,
                Served served,
                Path settings,
                String in,
                String out,
                String id,
                boolean exactlyOnce,
                String instanceId)
                throws Exception {
            List<String> args = new ArrayList<>(List.of(
                    "infer",
                    "--config",
                    settings.toString(),
                    "--registry-prefix",
                    served.registryPrefix,
                    "--result",
                    served.resultId,
                    "--input-topic",
                    in,
                    "--output-topic",
                    out,
                    "--id",
                    id));
            if (exactlyOnce) {
                args.add("--exactly-once");
            }
            if (instanceId != null) {
                args.add("--instance-id");
                args.add(instanceId);
            }
            return ChildProcess.kafkaml(context, ChildProcess.jvmOptions(context), args.toArray(String[]::new));
        }

        /** Starts a child that drains the backlog into {@code out}; what it took from its first output on. */
        interface ChildStart {
            ChildProcess start(String out) throws Exception;
        }

        private static Drain drainWithChild(BenchmarkContext context, int records, String out, ChildStart start)
                throws Exception {
            createTopics(context, 1, out);
            try (OutputCounter outputs = new OutputCounter(context, out);
                    ChildProcess child = start.start(out)) {
                double seconds = drain(outputs, records, child);
                return new Drain(seconds, (outputs.firstNanos() - child.startNanos()) / 1e9);
            }
        }

        static void fill(BenchmarkContext context, Served served, String topic, int records) throws Exception {
            Map<String, Object> config = context.producerConfig();
            config.put(ProducerConfig.LINGER_MS_CONFIG, 10);
            config.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
            try (KafkaProducer<byte[], byte[]> producer =
                    new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer())) {
                for (int i = 0; i < records; i++) {
                    producer.send(new ProducerRecord<>(topic, null, served.input(i)));
                }
                producer.flush();
            }
        }

        private static double drainWithInference(
                BenchmarkContext context, Served served, String in, int records, ProcessingGuarantee guarantee)
                throws Exception {
            String id = "thr-" + System.nanoTime();
            createTopics(context, 1, in + "-" + id);
            try (OutputCounter outputs = new OutputCounter(context, in + "-" + id);
                    LocalInference inference = LocalInference.start(
                            served.registry,
                            context.clientConfig(),
                            id,
                            InferenceSpec.builder(served.resultId, in, in + "-" + id)
                                    .guarantee(guarantee)
                                    .build())) {
                double seconds = drain(outputs, records, null);
                System.err.printf(
                        "inference-throughput (%s): replica stages, µs per input: %s; %s%n",
                        guarantee, inference.stats().microsPerRecord(), inference.stats());
                return seconds;
            }
        }

        private static double drainWithPassthrough(BenchmarkContext context, String in, int records) throws Exception {
            String out = in + "-pass-" + System.nanoTime();
            createTopics(context, 1, out);
            try (OutputCounter outputs = new OutputCounter(context, out);
                    Passthrough passthrough = Passthrough.start(context.clientConfig(), in, out, true)) {
                return drain(outputs, records, null);
            }
        }

        /**
         * Seconds to drain a backlog of {@code records} in steady state, from the first output on (without the
         * start-up: group join, model loading), from the outputs' timestamps ({@link OutputCounter#drainSeconds}):
         * it holds however small the backlog. Waits at most 10 minutes for every output.
         */
        private static double drain(OutputCounter outputs, int records, ChildProcess child)
                throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
            while (outputs.count() < records) {
                if (child != null) {
                    child.checkAlive();
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("The output holds " + outputs.count() + " of " + records
                            + " after 10 minutes" + (child != null ? ": " + child.tail() : ""));
                }
                Thread.sleep(2);
            }
            if (outputs.count() > records) {
                System.err.printf("%d outputs for %d inputs (duplicates)%n", outputs.count(), records);
            }
            return outputs.drainSeconds(records);
        }

        /** Kafka-ML's serving loop: for each record decode, predict one row, send; commit every 16 records. */
        private static double drainWithKafkaMlLoop(BenchmarkContext context, Served served, String in, int records)
                throws Exception {
            String out = in + "-kml-" + System.nanoTime();
            createTopics(context, 1, out);
            ServedModel model = ServedModel.load(
                    served.registry,
                    InferenceSpec.builder(served.resultId, in, out).build());
            RecordDecoder decoder = model.decoder();
            float[] row = new float[decoder.featureCount()];
            Map<String, Object> consumerConfig = context.consumerConfig();
            consumerConfig.put(ConsumerConfig.GROUP_ID_CONFIG, "kafka-ml-loop-" + System.nanoTime());
            consumerConfig.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            consumerConfig.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
            long start = System.nanoTime();
            long processed = 0;
            try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(
                            consumerConfig, new ByteArrayDeserializer(), new ByteArrayDeserializer());
                    KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(
                            context.producerConfig(), new ByteArraySerializer(), new ByteArraySerializer())) {
                consumer.subscribe(List.of(in));
                while (processed < records) {
                    for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(100))) {
                        decoder.decodeFeatures(record.key(), record.value(), row, 0);
                        float[] prediction = model.predict(row, 1);
                        producer.send(new ProducerRecord<>(out, record.key(), model.encode(prediction, 0)));
                        processed++;
                        if (processed % 16 == 0) {
                            consumer.commitSync(Map.of(
                                    new TopicPartition(record.topic(), record.partition()),
                                    new OffsetAndMetadata(record.offset() + 1)));
                        }
                        if (processed >= records) {
                            break;
                        }
                    }
                }
                producer.flush();
            }
            return (System.nanoTime() - start) / 1e9;
        }
    }

    /** A trained HCOPD model in a registry of its own, and HCOPD-sized inputs in its training format. */
    static final class Served implements AutoCloseable {
        final Registry registry;
        final LocalTrainingLauncher launcher;
        final String resultId;
        /** The registry's topic prefix, for child processes ({@code --registry-prefix}). */
        final String registryPrefix;

        final byte[][] inputs = new byte[256][];

        private Served(
                Registry registry,
                String registryPrefix,
                LocalTrainingLauncher launcher,
                String resultId,
                ControlMessage stream) {
            this.registry = registry;
            this.registryPrefix = registryPrefix;
            this.launcher = launcher;
            this.resultId = resultId;
            RecordEncoder encoder = RecordFormats.forName(stream.inputFormat()).newEncoder(stream.inputConfig());
            Random random = new Random(1);
            for (int i = 0; i < inputs.length; i++) {
                inputs[i] = encoder.encode(
                                new double[] {random.nextInt(2), 20 + random.nextInt(70), 1 + random.nextInt(3)}, null)
                        .value();
            }
        }

        static Served start(BenchmarkContext context) throws Exception {
            String prefix = "bench-inference-" + System.currentTimeMillis();
            Registry registry = Registry.connect(context.clientConfig(), prefix, Duration.ofSeconds(60));
            LocalTrainingLauncher launcher = new LocalTrainingLauncher(registry, context.clientConfig(), 1, null);
            Hcopd.models("hcopd", 42).forEach(registry::registerModel);
            registry.createConfiguration(new Configuration("paper", "", List.of("hcopd-paper")));
            TrainingHandle handle = new TrainingDeployments(registry, launcher)
                    .deploy(
                            "paper",
                            TrainingSpec.builder()
                                    .batchSize(10)
                                    .epochs(20)
                                    .normalization(Normalization.STANDARDIZE)
                                    .controlTimeout(Duration.ofMinutes(1))
                                    .build());
            String data = context.topic("bench-inference-train");
            createTopics(context, 1, data);
            ControlMessage stream = Hcopd.send(
                            context.clientConfig(),
                            data,
                            handle.deploymentId(),
                            Hcopd.read(Hcopd.defaultCsv()),
                            0.1,
                            0.1)
                    .controlMessage();
            if (handle.await(Duration.ofMinutes(5)).orElse(DeploymentStatus.FAILED) != DeploymentStatus.FINISHED) {
                throw new IllegalStateException("Training the served model failed: "
                        + registry.deployment(handle.deploymentId())
                                .orElseThrow()
                                .error());
            }
            return new Served(registry, prefix, launcher, handle.deploymentId() + ".hcopd-paper", stream);
        }

        byte[] input(int i) {
            return inputs[i % inputs.length];
        }

        @Override
        public void close() {
            launcher.close();
            registry.close();
        }
    }

    /**
     * The bare at-least-once consume-produce loop with no model: it sends each poll's records as they are, waits
     * for the acknowledgements and commits the poll's offsets (Kafka's own ceiling for a correct loop; a loop that
     * commits without waiting for its sends is faster but may lose records).
     */
    static final class Passthrough implements AutoCloseable {
        private final Thread thread;
        private final AtomicBoolean stopping = new AtomicBoolean();
        private volatile long processed;

        private Passthrough(Map<String, Object> clientConfig, String in, String out, boolean fromEarliest) {
            Map<String, Object> consumerConfig = new KafkaMlConfig(clientConfig).consumerConfig();
            consumerConfig.put(ConsumerConfig.GROUP_ID_CONFIG, "passthrough-" + System.nanoTime());
            consumerConfig.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, fromEarliest ? "earliest" : "latest");
            consumerConfig.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
            consumerConfig.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 500);
            consumerConfig.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 10);
            Map<String, Object> producerConfig = new KafkaMlConfig(clientConfig).producerConfig();
            producerConfig.put(ProducerConfig.LINGER_MS_CONFIG, 0);
            this.thread = new Thread(
                    () -> {
                        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(
                                        consumerConfig, new ByteArrayDeserializer(), new ByteArrayDeserializer());
                                KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(
                                        producerConfig, new ByteArraySerializer(), new ByteArraySerializer())) {
                            consumer.subscribe(List.of(in));
                            while (!stopping.get()) {
                                ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(100));
                                if (records.isEmpty()) {
                                    continue;
                                }
                                for (ConsumerRecord<byte[], byte[]> record : records) {
                                    producer.send(new ProducerRecord<>(out, record.key(), record.value()));
                                }
                                producer.flush();
                                consumer.commitSync();
                                processed += records.count();
                            }
                            producer.flush();
                        }
                    },
                    "passthrough");
            thread.setDaemon(true);
        }

        static Passthrough start(Map<String, Object> clientConfig, String in, String out, boolean fromEarliest) {
            Passthrough passthrough = new Passthrough(clientConfig, in, out, fromEarliest);
            passthrough.thread.start();
            return passthrough;
        }

        long processed() {
            return processed;
        }

        @Override
        public void close() {
            stopping.set(true);
            try {
                thread.join(TimeUnit.SECONDS.toMillis(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    static void createTopics(BenchmarkContext context, int partitions, String... topics) throws Exception {
        List<NewTopic> newTopics = Arrays.stream(topics)
                .map(t -> new NewTopic(t, partitions, (short) 1))
                .toList();
        context.admin().createTopics(newTopics).all().get(30, TimeUnit.SECONDS);
        // an idempotent producer's first batches to a new partition can be lost to Kafka bug KAFKA-15591
        io.kafkaml.internals.Topics.awaitWritable(context.admin(), List.of(topics), Duration.ofSeconds(30));
    }

    /** A percentile of latencies in milliseconds, from kafkaml's one histogram (HdrHistogram, 3 digits). */
    static double percentile(List<Double> values, double percentile) {
        LatencyHistogram histogram = new LatencyHistogram();
        values.forEach(histogram::recordMillis);
        return BenchmarkResult.round(histogram.percentileMillis(percentile));
    }
}
