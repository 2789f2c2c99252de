package io.kafkaml.samples.realdata;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.format.RecordEncoder;
import io.kafkaml.format.RecordFormats;
import io.kafkaml.format.raw.RawDataSink;
import io.kafkaml.format.raw.RawFormat;
import io.kafkaml.inference.InferenceSpec;
import io.kafkaml.inference.LocalInference;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.EpochMetrics;
import io.kafkaml.registry.ModelVersion;
import io.kafkaml.registry.Registry;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.training.IncrementalSpec;
import io.kafkaml.training.LocalTrainingLauncher;
import io.kafkaml.training.PromotionPolicy;
import io.kafkaml.training.TrainingDeployments;
import io.kafkaml.training.TrainingHandle;
import io.kafkaml.training.TrainingSpec;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Continuous learning on the NO3 soft sensor (issue 14, item 6): the data set arrives in three parts with pauses
 * between them, is trained incrementally, and a model version is promoted after each part while an inference
 * deployment that follows the promoted version serves throughout and switches versions while inputs flow.
 *
 * <ol>
 *   <li>The NO3 rows (in a seeded random order, {@link RealDataSamples#SEND_ORDER_SEED}) are split: the last
 *       {@value #HELD_OUT_PERCENT}% are held out (never streamed: they are the inputs served), the rest is streamed in
 *       three equal parts.
 *   <li>The NO3 MLP ({@link Sample#NO3}: Dense 64 relu, Dense 32 relu, linear output, MSE; features standardized,
 *       fitted on the first window) is deployed for incremental training ({@link IncrementalSpec}): windows of one
 *       part's records, at most three windows, promotion on the hold-out {@code mse} going down
 *       ({@link PromotionPolicy#kafkaMl}, Kafka-ML's rule).
 *   <li>The parts are sent through an online {@link RawDataSink} ({@code online(true)}: Kafka-ML's online control
 *       message, {@code "incremental": true} and the bare topic, goes first), validation rate 0.1; after each part the
 *       sample waits until its window is fitted (and its version promoted) and pauses.
 *   <li>Once version 1 is promoted an inference deployment following the promoted version
 *       ({@link InferenceSpec.Builder#followPromoted(boolean)}) is started, and the held-out rows are sent to it at a
 *       steady rate, over and over, until the last promoted version has served them; every prediction names the
 *       version that made it in its {@code kafkaml.model.version} header.
 *   <li>Printed: per window its records, prequential (test-then-train) and hold-out MSE/MAE and the version it became;
 *       per version its hold-out metrics, the predictions it served and their MSE/MAE against the held-out targets;
 *       the count check (every input sent has a prediction) and whether any input was predicted by an older version
 *       than an earlier input (never, without a rollback).
 * </ol>
 *
 * <pre>
 * java -cp samples/realdata/target/kafkaml-realdata.jar io.kafkaml.samples.realdata.No3Incremental
 *     [--data ../shared/data] [--rows N] [--epochs 5] [--pause-ms 3000] [--rate 500] [--bootstrap-servers HOST:PORT]
 * </pre>
 *
 * <p>Not thread-safe: one run at a time. A run uses its own registry (topic prefix {@code no3-incremental-<millis>})
 * and control topic.
 */
public final class No3Incremental {

    /** The share of the rows held out of the stream and served. */
    public static final int HELD_OUT_PERCENT = 10;
    /** The parts the stream is sent in. */
    public static final int PARTS = 3;

    private static final ObjectMapper JSON = new ObjectMapper();

    private No3Incremental() {}

    /**
     * A run's settings.
     *
     * @param epochs epochs per window
     * @param pause the pause after each part's window was fitted, while serving goes on
     * @param rate held-out inputs sent to the inference deployment per second
     * @param timeout how long each wait may take (a window's fit, the last predictions)
     */
    public record Settings(int epochs, Duration pause, int rate, Duration timeout) {}

    /**
     * What a version served.
     *
     * @param predictions predictions it made
     * @param mse their mean squared error against the held-out targets
     * @param mae their mean absolute error
     */
    public record Served(long predictions, double mse, double mae) {}

    /**
     * A run's outcome.
     *
     * @param status the training deployment's final status
     * @param windows the windows fitted, in order
     * @param versions the model versions published (each promoted when published)
     * @param served per version, what it served
     * @param inputs held-out inputs sent to the inference deployment
     * @param answered inputs with at least one prediction
     * @param duplicates predictions beyond one per input
     * @param wentBack predictions by an older version than an earlier input's of the same partition
     */
    public record Outcome(
            DeploymentStatus status,
            List<EpochMetrics> windows,
            List<ModelVersion> versions,
            Map<Integer, Served> served,
            long inputs,
            long answered,
            long duplicates,
            long wentBack) {}

    /**
     * Runs the sample on {@code table} against a Kafka cluster and prints what it does and measures to {@code out}.
     *
     * @param clientConfig {@code bootstrap.servers} and any client settings
     */
    public static Outcome run(Map<String, Object> clientConfig, Table table, Settings settings, PrintStream out)
            throws Exception {
        String run = "no3-incremental-" + System.currentTimeMillis();
        Table rows = RealData.shuffled(table, RealDataSamples.SEND_ORDER_SEED);
        int heldOut = rows.rows() * HELD_OUT_PERCENT / 100;
        int streamed = rows.rows() - heldOut;
        int part = streamed / PARTS;
        String data = run + "-data";
        String in = run + "-in";
        String outTopic = run + "-out";
        createTopics(clientConfig, settings.timeout(), data, in, outTopic);
        out.printf(
                "no3-incremental: %d rows: %d streamed in %d parts of %d, %d held out and served%n",
                rows.rows(), part * PARTS, PARTS, part, heldOut);
        try (Registry registry = Registry.connect(clientConfig, run, Duration.ofSeconds(60));
                LocalTrainingLauncher launcher = new LocalTrainingLauncher(registry, clientConfig, 1, null)) {
            Sample sample = Sample.NO3;
            registry.registerModel(ModelDefinition.of("no3", sample.description(), sample.model(RealDataSamples.SEED)));
            registry.createConfiguration(new Configuration("no3", sample.description(), List.of("no3")));
            TrainingHandle handle = new TrainingDeployments(registry, launcher, run + ".control")
                    .deploy(
                            "no3",
                            TrainingSpec.builder()
                                    .batchSize(sample.batchSize())
                                    .epochs(settings.epochs())
                                    .seed(RealDataSamples.SEED)
                                    .normalization(sample.normalization())
                                    .controlTimeout(settings.timeout())
                                    .incremental(IncrementalSpec.builder()
                                            .windowRecords(part)
                                            .maxWindows(PARTS)
                                            .streamTimeout(settings.timeout())
                                            .monitoring("mse", PromotionPolicy.Direction.DOWN, 0.0)
                                            .build())
                                    .build());
            String resultId = TrainingResult.idOf(handle.deploymentId(), "no3");
            RawDataSink.Builder builder = RawDataSink.builder(clientConfig)
                    .topic(data)
                    .deploymentId(handle.deploymentId())
                    .controlTopic(run + ".control")
                    .validationRate(RealDataSamples.VALIDATION_RATE)
                    .testRate(0)
                    .online(true)
                    .description(sample.description());
            sample.configure(builder);
            Serving serving = null;
            try (RawDataSink sink = builder.build()) {
                for (int p = 0; p < PARTS; p++) {
                    long start = System.nanoTime();
                    for (int i = p * part; i < (p + 1) * part; i++) {
                        sink.send(rows.features()[i], (Object) rows.labels()[i]);
                    }
                    sink.flush();
                    int window = p + 1;
                    awaitWindow(registry, resultId, window, settings.timeout());
                    EpochMetrics fitted = registry.epochs(resultId).get(window - 1);
                    Optional<ModelVersion> promoted = registry.promotedVersion(resultId);
                    out.printf(
                            "part %d: %d records sent, window %d fitted %.1f s after the part's first record: "
                                    + "prequential mse %.4f mae %.4f, hold-out mse %.4f mae %.4f; promoted version %s%n",
                            window,
                            part,
                            window,
                            (System.nanoTime() - start) / 1e9,
                            fitted.prequential().getOrDefault("mse", Double.NaN),
                            fitted.prequential().getOrDefault("mae", Double.NaN),
                            fitted.validation().getOrDefault("mse", Double.NaN),
                            fitted.validation().getOrDefault("mae", Double.NaN),
                            promoted.map(v -> String.valueOf(v.version())).orElse("none"));
                    if (serving == null && promoted.isPresent()) {
                        RecordEncoder encoder = RecordFormats.forName(RawFormat.NAME)
                                .newEncoder(sink.controlMessage().inputConfig());
                        serving = Serving.start(
                                registry, clientConfig, resultId, in, outTopic, encoder, rows, streamed, settings);
                        serving.awaitVersion(promoted.get().version());
                        out.printf(
                                "serving: an inference deployment following the promoted version of %s, %d held-out "
                                        + "inputs/s; version %d's first prediction read%n",
                                resultId, settings.rate(), promoted.get().version());
                    }
                    if (window < PARTS) {
                        Thread.sleep(settings.pause().toMillis()); // the stream pauses; serving goes on
                    }
                }
            } catch (Exception | Error e) {
                if (serving != null) {
                    serving.close();
                }
                throw e;
            }
            DeploymentStatus status = handle.await(settings.timeout()).orElse(null);
            List<ModelVersion> versions = registry.versions(resultId);
            Outcome outcome;
            if (serving == null) {
                outcome = new Outcome(status, registry.epochs(resultId), versions, Map.of(), 0, 0, 0, 0);
            } else {
                Serving started = serving;
                try (started) {
                    if (!versions.isEmpty()) {
                        started.awaitVersion(versions.get(versions.size() - 1).version());
                    }
                    outcome = started.finish(status, registry.epochs(resultId), versions, rows);
                }
            }
            print(outcome, out);
            return outcome;
        }
    }

    /** Waits until the result has {@code window} windows, or the deployment ended. */
    private static void awaitWindow(Registry registry, String resultId, int window, Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Optional<TrainingResult> result = registry.result(resultId);
            if (result.isPresent() && result.get().epochCount() >= window) {
                return;
            }
            if (result.isPresent() && result.get().status().isTerminal()) {
                throw new IllegalStateException(
                        "The incremental run ended (" + result.get().status() + ") after "
                                + result.get().epochCount() + " windows, before window " + window + ": "
                                + result.get().error());
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("Window " + window + " was not fitted within " + timeout);
            }
            Thread.sleep(50);
        }
    }

    private static void print(Outcome outcome, PrintStream out) {
        out.printf(
                "training deployment: %s, %d windows%n",
                outcome.status(), outcome.windows().size());
        out.println("version  window  hold-out mse  hold-out mae  served predictions  served mse  served mae");
        for (ModelVersion version : outcome.versions()) {
            Served served = outcome.served().getOrDefault(version.version(), new Served(0, Double.NaN, Double.NaN));
            out.printf(
                    "%7d  %6s  %12.4f  %12.4f  %18d  %10.4f  %10.4f%n",
                    version.version(),
                    windowOf(outcome, version),
                    version.metrics().getOrDefault("val_mse", Double.NaN),
                    version.metrics().getOrDefault("val_mae", Double.NaN),
                    served.predictions(),
                    served.mse(),
                    served.mae());
        }
        out.printf(
                "served: %d inputs sent, %d with a prediction, %d duplicates, %d predicted by an older version than an "
                        + "earlier input%n",
                outcome.inputs(), outcome.answered(), outcome.duplicates(), outcome.wentBack());
    }

    /** The window whose hold-out metrics a version carries (matched on its val_mse), or "?". */
    private static String windowOf(Outcome outcome, ModelVersion version) {
        Double mse = version.metrics().get("val_mse");
        for (EpochMetrics window : outcome.windows()) {
            if (mse != null && mse.equals(window.validation().get("mse"))) {
                return String.valueOf(window.epoch());
            }
        }
        return "?";
    }

    private static void createTopics(Map<String, Object> clientConfig, Duration timeout, String... names)
            throws InterruptedException, ExecutionException, TimeoutException {
        List<NewTopic> topics = new ArrayList<>();
        for (String topic : names) {
            topics.add(new NewTopic(topic, Optional.of(1), Optional.empty()));
        }
        try (Admin admin = Admin.create(clientConfig)) {
            admin.createTopics(topics).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            // an idempotent producer's first batches to a new partition can be lost to Kafka bug KAFKA-15591
            io.kafkaml.internals.Topics.awaitWritable(admin, List.of(names), timeout);
        }
    }

    /**
     * The inference deployment following the promoted version, a sender of held-out inputs (input {@code n} is held-out
     * row {@code n % heldOut}, key {@code n} as 8 bytes) at a steady rate, and a reader of its predictions.
     */
    private static final class Serving implements AutoCloseable {
        private final LocalInference inference;
        private final Thread sender;
        private final Thread reader;
        private final AtomicBoolean stopSending = new AtomicBoolean();
        private final AtomicBoolean stopReading = new AtomicBoolean();
        private final AtomicReference<Throwable> failure = new AtomicReference<>();
        private final Duration timeout;
        private final int firstHeldOut;
        private final int heldOut;
        private volatile long sent;
        /** Per input: the version of each of its predictions and the value predicted, in arrival order. */
        private final Map<Long, List<double[]>> predictions = new java.util.concurrent.ConcurrentHashMap<>();

        private volatile int newestVersionSeen;

        private Serving(
                LocalInference inference,
                Map<String, Object> clientConfig,
                String in,
                String out,
                RecordEncoder encoder,
                Table rows,
                int firstHeldOut,
                Settings settings) {
            this.inference = inference;
            this.timeout = settings.timeout();
            this.firstHeldOut = firstHeldOut;
            this.heldOut = rows.rows() - firstHeldOut;
            byte[][] encoded = new byte[heldOut][];
            for (int i = 0; i < heldOut; i++) {
                float[] features = rows.features()[firstHeldOut + i];
                double[] values = new double[features.length];
                for (int f = 0; f < values.length; f++) {
                    values[f] = features[f];
                }
                encoded[i] = encoder.encode(values, null).value();
            }
            this.sender = new Thread(
                    () -> {
                        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(
                                clientConfig, new ByteArraySerializer(), new ByteArraySerializer())) {
                            long start = System.nanoTime();
                            for (long n = 0; !stopSending.get(); n++) {
                                long wait = start + n * 1_000_000_000L / settings.rate() - System.nanoTime();
                                if (wait > 0) {
                                    java.util.concurrent.locks.LockSupport.parkNanos(wait);
                                }
                                producer.send(
                                        new ProducerRecord<>(
                                                in,
                                                ByteBuffer.allocate(8)
                                                        .putLong(n)
                                                        .array(),
                                                encoded[(int) (n % heldOut)]),
                                        (metadata, e) -> {
                                            if (e != null) {
                                                failure.compareAndSet(null, e);
                                            }
                                        });
                                sent = n + 1;
                            }
                            producer.flush();
                        } catch (RuntimeException e) {
                            failure.compareAndSet(null, e);
                        }
                    },
                    "no3-sender");
            Map<String, Object> readerConfig = new HashMap<>(clientConfig);
            readerConfig.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
            this.reader = new Thread(
                    () -> {
                        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(
                                readerConfig, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
                            TopicPartition partition = new TopicPartition(out, 0);
                            consumer.assign(List.of(partition));
                            consumer.seekToBeginning(List.of(partition));
                            while (!stopReading.get()) {
                                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(50))) {
                                    Header header = record.headers().lastHeader(KafkaMlConfig.MODEL_VERSION_HEADER);
                                    int version = header == null
                                            ? 0
                                            : Integer.parseInt(new String(header.value(), StandardCharsets.UTF_8));
                                    double value = JSON.readTree(record.value())
                                            .get("values")
                                            .get(0)
                                            .asDouble();
                                    long n = ByteBuffer.wrap(record.key()).getLong();
                                    predictions
                                            .computeIfAbsent(n, k -> new ArrayList<>())
                                            .add(new double[] {version, value});
                                    newestVersionSeen = Math.max(newestVersionSeen, version);
                                }
                            }
                        } catch (IOException | RuntimeException e) {
                            failure.compareAndSet(null, e);
                        }
                    },
                    "no3-reader");
        }

        static Serving start(
                Registry registry,
                Map<String, Object> clientConfig,
                String resultId,
                String in,
                String out,
                RecordEncoder encoder,
                Table rows,
                int firstHeldOut,
                Settings settings) {
            LocalInference inference = LocalInference.start(
                    registry,
                    clientConfig,
                    resultId.replace('.', '-') + "-serving",
                    InferenceSpec.builder(resultId, in, out)
                            .followPromoted(true)
                            .build());
            Serving serving = new Serving(inference, clientConfig, in, out, encoder, rows, firstHeldOut, settings);
            serving.reader.start();
            serving.sender.start();
            return serving;
        }

        /** Waits until a prediction by {@code version} has been read. */
        void awaitVersion(int version) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (newestVersionSeen < version) {
                check();
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException(
                            "No prediction by version " + version + " within " + timeout + " of its promotion");
                }
                Thread.sleep(20);
            }
        }

        private void check() {
            if (failure.get() != null) {
                throw new IllegalStateException(
                        "Serving the held-out inputs failed: " + failure.get().getMessage(), failure.get());
            }
            if (inference.state() != LocalInference.State.RUNNING) {
                throw new IllegalStateException(
                        "The inference deployment ended: " + inference.state() + " " + inference.failure());
            }
        }

        /** Stops sending, waits for every input's prediction and scores them per version. */
        Outcome finish(DeploymentStatus status, List<EpochMetrics> windows, List<ModelVersion> versions, Table rows)
                throws InterruptedException {
            stopSending.set(true);
            sender.join(timeout.toMillis());
            long inputs = sent;
            long deadline = System.nanoTime() + timeout.toNanos();
            while (predictions.size() < inputs) {
                check();
                if (System.nanoTime() > deadline) {
                    break; // reported as unanswered
                }
                Thread.sleep(20);
            }
            stopReading.set(true);
            reader.join(timeout.toMillis());
            Map<Integer, double[]> sums = new TreeMap<>(); // version -> {count, squared error, absolute error}
            long duplicates = 0;
            long wentBack = 0;
            int newest = 0;
            for (long n = 0; n < inputs; n++) {
                List<double[]> made = predictions.get(n);
                if (made == null) {
                    continue;
                }
                duplicates += made.size() - 1;
                for (double[] prediction : made) {
                    int version = (int) prediction[0];
                    if (version < newest) {
                        wentBack++;
                    }
                    newest = Math.max(newest, version);
                    double error = prediction[1] - rows.labels()[firstHeldOut + (int) (n % heldOut)];
                    double[] sum = sums.computeIfAbsent(version, v -> new double[3]);
                    sum[0]++;
                    sum[1] += error * error;
                    sum[2] += Math.abs(error);
                }
            }
            Map<Integer, Served> served = new TreeMap<>();
            sums.forEach(
                    (version, sum) -> served.put(version, new Served((long) sum[0], sum[1] / sum[0], sum[2] / sum[0])));
            long answered =
                    predictions.keySet().stream().filter(n -> n < inputs).count();
            return new Outcome(status, windows, versions, served, inputs, answered, duplicates, wentBack);
        }

        @Override
        public void close() throws InterruptedException {
            stopSending.set(true);
            stopReading.set(true);
            sender.join(TimeUnit.SECONDS.toMillis(10));
            reader.join(TimeUnit.SECONDS.toMillis(10));
            inference.close();
        }
    }

    /** Runs the sample; exits 0 when the run finished, each of its inputs was answered and no version went back. */
    public static void main(String[] args) throws Exception {
        String usage = "Usage: java -cp kafkaml-realdata.jar io.kafkaml.samples.realdata.No3Incremental [--data DIR]"
                + " [--rows N] [--epochs N] [--pause-ms MS] [--rate N] [--bootstrap-servers HOST:PORT]";
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 == args.length) {
                System.err.println(usage);
                System.exit(2);
            }
            options.put(args[i].substring(2), args[++i]);
        }
        Settings settings;
        int rows;
        try {
            settings = new Settings(
                    Integer.parseInt(options.getOrDefault("epochs", "5")),
                    Duration.ofMillis(Long.parseLong(options.getOrDefault("pause-ms", "3000"))),
                    Integer.parseInt(options.getOrDefault("rate", "500")),
                    Duration.ofMinutes(10));
            rows = Integer.parseInt(options.getOrDefault("rows", "0"));
            if (settings.epochs() < 1 || settings.rate() < 1 || settings.pause().isNegative() || rows < 0) {
                throw new NumberFormatException(
                        "--epochs and --rate must be at least 1, --pause-ms and --rows at " + "least 0");
            }
        } catch (NumberFormatException e) {
            System.err.println(e.getMessage() + "\n" + usage);
            System.exit(2);
            return;
        }
        Path data = options.containsKey("data") ? Path.of(options.get("data")) : RealData.defaultDirectory();
        Table table = Sample.NO3.load(data, rows);
        String servers = options.get("bootstrap-servers");
        EmbeddedKafkaBroker broker =
                servers == null ? EmbeddedKafkaBroker.builder().build().start() : null;
        Outcome outcome;
        try {
            Map<String, Object> kafka = new HashMap<>();
            kafka.put("bootstrap.servers", broker != null ? broker.bootstrapServers() : servers);
            outcome = run(kafka, table, settings, System.out);
        } finally {
            if (broker != null) {
                broker.close();
            }
        }
        // the point of the sample: versions promoted and served while inputs flowed (not a vacuous 0 == 0)
        boolean ok = outcome.status() == DeploymentStatus.FINISHED
                && !outcome.versions().isEmpty()
                && outcome.inputs() > 0
                && outcome.answered() == outcome.inputs()
                && outcome.wentBack() == 0;
        System.exit(ok ? 0 : 1);
    }
}
