package io.kafkaml.cli;

import io.kafkaml.KafkaMl;
import io.kafkaml.Training;
import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.format.raw.RawDataSink;
import io.kafkaml.format.raw.RawType;
import io.kafkaml.inference.InferenceSpec;
import io.kafkaml.inference.LocalInference;
import io.kafkaml.internals.LatencyHistogram;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.sink.DataSink;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.training.Normalization;
import io.kafkaml.training.TrainingSpec;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kafkaml quickstart}: the whole pipeline in one command. Starts a broker in this process (unless
 * {@code --bootstrap-servers}), registers a small model, streams a data set through Kafka with a RAW data sink,
 * trains, deploys the model for inference, sends inputs one at a time, reads the predictions back and prints a
 * summary. The data set is generated from a fixed seed (three Gaussian clusters of 4 features, 600 rows):
 * nothing is downloaded.
 */
@Command(
        name = "quickstart",
        mixinStandardHelpOptions = true,
        description = "Run the whole pipeline on an in-process broker and print a summary.")
final class QuickstartCommand implements Callable<Integer> {

    private static final int ROWS = 600;
    private static final int FEATURES = 4;
    private static final int CLASSES = 3;

    @Spec
    CommandSpec spec;

    @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT", description = "Use this cluster instead")
    String bootstrapServers;

    @Option(names = "--epochs", defaultValue = "30", description = "Default: ${DEFAULT-VALUE}")
    int epochs;

    @Option(
            names = "--inputs",
            defaultValue = "200",
            description = "Inputs sent for inference (default: ${DEFAULT-VALUE})")
    int inputs;

    @Option(
            names = "--warm-up-inputs",
            defaultValue = "400",
            description = "Inputs sent (every 5 ms) before those measured, not counted: a JVM started seconds ago is "
                    + "still loading classes and compiling (default: ${DEFAULT-VALUE})")
    int warmUpInputs;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (inputs < 1 || inputs > 1_000_000 || warmUpInputs < 0 || warmUpInputs > 1_000_000) {
            throw new picocli.CommandLine.ParameterException(
                    spec.commandLine(),
                    "--inputs must be 1 to 1000000 and --warm-up-inputs 0 to 1000000 (got " + inputs + " and "
                            + warmUpInputs + ")");
        }
        long begin = System.nanoTime();
        // the broker's startup WARNs (an empty metadata log is normal for a fresh one) would clutter the summary
        EmbeddedKafkaBroker broker = bootstrapServers == null
                ? EmbeddedKafkaBroker.builder().brokerLogLevel("ERROR").build().start()
                : null;
        try {
            Map<String, Object> kafka =
                    Map.of("bootstrap.servers", broker != null ? broker.bootstrapServers() : bootstrapServers);
            String run = "quickstart-" + System.currentTimeMillis();
            out.println("kafkaml quickstart on " + kafka.get("bootstrap.servers")
                    + (broker != null ? " (an in-process broker)" : ""));
            float[][] rows = new float[ROWS][];
            int[] labels = new int[ROWS];
            generate(rows, labels, new Random(7));
            try (Admin admin = Admin.create(kafka)) {
                admin.createTopics(List.of(
                                new NewTopic(run + "-data", 3, (short) 1),
                                new NewTopic(run + "-in", 2, (short) 1),
                                new NewTopic(run + "-out", 2, (short) 1)))
                        .all()
                        .get(30, TimeUnit.SECONDS);
                // an idempotent producer's first batches to a new partition can be lost to Kafka bug KAFKA-15591
                io.kafkaml.internals.Topics.awaitWritable(
                        admin, List.of(run + "-data", run + "-in", run + "-out"), Duration.ofSeconds(30));
            }
            Map<String, Object> settings = new HashMap<>(kafka);
            settings.put(KafkaMlConfig.REGISTRY_PREFIX_CONFIG, run);
            try (KafkaMl ml = KafkaMl.builder(settings)
                    .controlLogger(false)
                    .registryTimeout(Duration.ofSeconds(30))
                    .build()
                    .start()) {
                ml.models()
                        .register(ModelDefinition.of(
                                "quickstart-mlp",
                                "4 features, 3 classes",
                                new NeuralNetConfiguration.Builder()
                                        .seed(42)
                                        .updater(new Adam(0.01))
                                        .list()
                                        .layer(new DenseLayer.Builder()
                                                .nIn(FEATURES)
                                                .nOut(16)
                                                .activation(Activation.RELU)
                                                .build())
                                        .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                                                .nIn(16)
                                                .nOut(CLASSES)
                                                .activation(Activation.SOFTMAX)
                                                .build())
                                        .build()));
                ml.configurations().create("quickstart", "quickstart-mlp");
                Training handle = ml.train(
                        "quickstart",
                        TrainingSpec.builder()
                                .batchSize(16)
                                .epochs(epochs)
                                .shuffle(true)
                                .normalization(Normalization.STANDARDIZE)
                                .controlTimeout(Duration.ofMinutes(2))
                                .build());
                long trainBegin = System.nanoTime();
                try (RawDataSink sink = ml.sink(RawDataSink::builder)
                        .topic(run + "-data")
                        .deploymentId(handle.deploymentId())
                        .labelType(RawType.UINT8)
                        .validationRate(0.1)
                        .testRate(0.2)
                        .partitioning(DataSink.Partitioning.ROUND_ROBIN)
                        .build()) {
                    for (int i = 0; i < ROWS; i++) {
                        sink.send(rows[i], labels[i]);
                    }
                }
                DeploymentStatus status = handle.await(Duration.ofMinutes(10)).orElse(DeploymentStatus.FAILED);
                TrainingResult result = ml.results()
                        .get(handle.deploymentId() + ".quickstart-mlp")
                        .orElseThrow();
                if (status != DeploymentStatus.FINISHED) {
                    out.println(
                            "training " + status + ": " + handle.deployment().error());
                    return 1;
                }
                out.printf(
                        "  trained quickstart-mlp on %d records streamed through Kafka (RAW, 3 partitions): test accuracy "
                                + "%.3f, %d epochs in %.1f s%n",
                        ROWS,
                        result.testMetrics().get("accuracy"),
                        result.epochCount(),
                        (System.nanoTime() - trainBegin) / 1e9);
                try (LocalInference inference = ml.serve(
                        run + "-serving",
                        InferenceSpec.builder(result.id(), run + "-in", run + "-out")
                                .build())) {
                    infer(out, kafka, run, rows, labels, inference);
                }
            }
            out.printf("  done in %.1f s%n", (System.nanoTime() - begin) / 1e9);
            out.flush();
            return 0;
        } finally {
            if (broker != null) {
                broker.close();
            }
        }
    }

    /**
     * Sends inputs one at a time (every 5 ms) while a reader thread reads the predictions back; prints accuracy
     * and the send-to-prediction latency percentiles.
     */
    private void infer(
            PrintWriter out,
            Map<String, Object> kafka,
            String run,
            float[][] rows,
            int[] labels,
            LocalInference inference)
            throws Exception {
        Map<String, Object> readerConfig = new HashMap<>(kafka);
        readerConfig.put(ConsumerConfig.GROUP_ID_CONFIG, run + "-reader");
        readerConfig.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
        readerConfig.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 10);
        Map<String, Object> producerConfig = new HashMap<>(kafka);
        producerConfig.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        int warmUp = warmUpInputs;
        long[] sentAt = new long[warmUp + inputs];
        double[] latencies = new double[warmUp + inputs];
        java.util.concurrent.atomic.AtomicInteger received = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger correct = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.CountDownLatch assigned = new java.util.concurrent.CountDownLatch(1);
        Thread reader = new Thread(
                () -> {
                    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(
                            readerConfig, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
                        consumer.subscribe(List.of(run + "-out"));
                        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                        while (received.get() < sentAt.length && System.nanoTime() < deadline) {
                            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(20))) {
                                long now = System.nanoTime();
                                int index = Integer.parseInt(new String(record.key()));
                                latencies[index] = (now - sentAt[index]) / 1e6;
                                try {
                                    if (Output.JSON
                                                            .readTree(record.value())
                                                            .get("class")
                                                            .asInt()
                                                    == labels[index % ROWS]
                                            && index >= warmUp) {
                                        correct.incrementAndGet();
                                    }
                                } catch (java.io.IOException e) {
                                    throw new java.io.UncheckedIOException(e);
                                }
                                received.incrementAndGet();
                            }
                            if (!consumer.assignment().isEmpty()) {
                                assigned.countDown();
                            }
                        }
                    }
                },
                "quickstart-reader");
        reader.start();
        assigned.await(30, TimeUnit.SECONDS);
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(producerConfig, new ByteArraySerializer(), new ByteArraySerializer())) {
            // The first warmUp (not counted) warm up a fresh JVM: class loading, JIT, connections.
            for (int i = 0; i < sentAt.length; i++) {
                byte[] value = encode(rows[i % ROWS]);
                sentAt[i] = System.nanoTime();
                producer.send(
                        new ProducerRecord<>(run + "-in", String.valueOf(i).getBytes(), value));
                Thread.sleep(5);
            }
        }
        reader.join(TimeUnit.SECONDS.toMillis(90));
        LatencyHistogram measured = new LatencyHistogram();
        java.util.Arrays.stream(latencies, warmUp, latencies.length)
                .filter(l -> l > 0)
                .forEach(measured::recordMillis);
        LatencyHistogram cold = new LatencyHistogram();
        java.util.Arrays.stream(latencies, 0, Math.min(warmUp, 50))
                .filter(l -> l > 0)
                .forEach(cold::recordMillis);
        out.printf(
                "  inference: %d/%d predictions received, accuracy %.3f, latency p50 %.1f ms, p95 %.1f ms, p99 %.1f ms"
                        + " (send to prediction read back, after %d warm-up inputs)%n",
                measured.count(),
                inputs,
                correct.get() / (double) Math.max(1, measured.count()),
                measured.percentileMillis(50),
                measured.percentileMillis(95),
                measured.percentileMillis(99),
                warmUp);
        if (cold.count() > 0) {
            out.printf(
                    "  the first %d warm-up inputs: latency p50 %.1f ms, p99 %.1f ms (a JVM seconds old still loads "
                            + "classes and compiles; the inference-latency benchmark measures a warm one)%n",
                    cold.count(), cold.percentileMillis(50), cold.percentileMillis(99));
        }
        out.println("  replicas: " + inference.stats());
    }

    private static byte[] encode(float[] row) {
        ByteBuffer value = ByteBuffer.allocate(FEATURES * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float feature : row) {
            value.putFloat(feature);
        }
        return value.array();
    }

    private static double percentile(double[] sorted, double percentile) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        return sorted[Math.max(0, Math.min(sorted.length - 1, (int) Math.ceil(percentile / 100 * sorted.length) - 1))];
    }

    /** Three Gaussian clusters in 4 dimensions, on different scales (so normalization matters). */
    static void generate(float[][] rows, int[] labels, Random random) {
        float[][] centers = {{1, 10, 100, -5}, {3, 14, 80, -1}, {5, 8, 120, 3}};
        float[] spread = {0.8f, 2f, 12f, 1.5f};
        for (int i = 0; i < rows.length; i++) {
            int label = i % CLASSES;
            labels[i] = label;
            rows[i] = new float[FEATURES];
            for (int f = 0; f < FEATURES; f++) {
                rows[i][f] = centers[label][f] + (float) random.nextGaussian() * spread[f];
            }
        }
        if (Arrays.stream(labels).distinct().count() != CLASSES) {
            throw new IllegalStateException("the generated data set lacks a class");
        }
    }
}
