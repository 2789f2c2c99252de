package io.kafkaml.benchmarks;

import io.kafkaml.control.ControlChannel;
import io.kafkaml.control.ControlMessage;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.Registry;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.stream.StreamSlice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * {@code stream-memory}: training on a stream several times larger than the trainer's heap (issue 17, item 4).
 * {@code --megabytes} of RAW float32 records ({@code --features} per record, a uint8 label of 10 classes) are sent to
 * one partition; a {@code kafkaml train} JVM started as a user starts it, with {@code -Xmx} {@code --xmx}, trains an
 * MLP on them for {@code --epochs} epochs (batch {@code --batch}) with the default cache budget, which the stream
 * exceeds: every epoch reads Kafka again. It must finish; the benchmark reports the child's peak heap after and before
 * collections (from its GC log, {@code -Xlog:gc}), its peak resident set ({@code VmHWM} of
 * {@code /proc/PID/status}, sampled every 100 ms until it exits) and their difference (off-heap: ND4J/JavaCPP
 * buffers, thread stacks, metaspace, code), and the stream ÷ heap ratio (goal ≥ 4).
 *
 * <p>The {@code ratio} is the throughput of the trainer (records per second, all epochs) against the stream's
 * throughput into Kafka, for scale only; the memory numbers are the point.
 *
 * <p>Options: {@code --megabytes 200 --xmx 64m --features 784 --epochs 1 --batch 128} (the full setting: {@code
 * --megabytes 2048 --xmx 512m}).
 */
final class StreamMemoryBenchmark implements Benchmark {

    private static final Pattern GC_LINE = Pattern.compile("(\\d+)([KMG])->(\\d+)([KMG])\\((\\d+)([KMG])\\)");

    @Override
    public String name() {
        return "stream-memory";
    }

    @Override
    public String description() {
        return "a kafkaml train JVM with a small -Xmx trains on a RAW stream several times its heap; peak heap, RSS";
    }

    @Override
    public List<BenchmarkResult> run(BenchmarkContext context) throws Exception {
        long megabytes = context.longOption("megabytes", 200);
        String xmx = context.options().getOrDefault("xmx", "64m");
        int features = (int) context.longOption("features", 784);
        int epochs = (int) context.longOption("epochs", 1);
        int batch = (int) context.longOption("batch", 128);
        long records = megabytes * 1_000_000L / (features * 4L + 1);
        Random random = new Random(42);
        byte[][] templates = new byte[64][];
        for (int t = 0; t < templates.length; t++) {
            ByteBuffer buffer = ByteBuffer.allocate(features * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (int f = 0; f < features; f++) {
                buffer.putFloat(random.nextFloat());
            }
            templates[t] = buffer.array();
        }
        String topic = context.topic("bench-stream-memory");
        long sendStart = System.nanoTime();
        List<StreamSlice> slices = BenchmarkSupport.produce(
                context,
                topic,
                1,
                records,
                i -> new BenchmarkSupport.KeyValue(new byte[] {(byte) (i % 10)}, templates[(int) (i % 64)]));
        double sendSeconds = (System.nanoTime() - sendStart) / 1e9;
        long streamBytes = records * (features * 4L + 1);

        String prefix = "bench-memory-" + System.currentTimeMillis();
        String id = "memory-" + System.currentTimeMillis();
        Path gcLog = Files.createTempFile("kafkaml-bench-stream-memory-gc-", ".log");
        Path settings = ChildProcess.settingsFile(context.clientConfig());
        try (Registry registry = Registry.connect(context.clientConfig(), prefix, Duration.ofSeconds(60));
                ControlChannel control = ControlChannel.create(context.clientConfig())) {
            registry.registerModel(ModelDefinition.of("mlp", "Dense 32 relu, Dense 10 softmax", mlp(features)));
            registry.createConfiguration(new Configuration("memory", "", List.of("mlp")));
            ControlMessage message = ControlMessage.builder()
                    .slices(slices)
                    .inputFormat("RAW")
                    .inputConfig(Map.of(
                            "data_type",
                            "float32",
                            "label_type",
                            "uint8",
                            "data_reshape",
                            String.valueOf(features),
                            "label_reshape",
                            ""))
                    .totalMessages(records)
                    .deploymentId(id)
                    .build();
            List<String> jvm = new ArrayList<>(List.of("-Xmx" + xmx, "-Xlog:gc:file=" + gcLog));
            jvm.addAll(ChildProcess.jvmOptions(context));
            long deadline = System.nanoTime() + TimeUnit.HOURS.toNanos(2);
            long peakRss = 0;
            TrainingResult result;
            try (ChildProcess child = ChildProcess.kafkaml(
                    context,
                    jvm,
                    "train",
                    "--config",
                    settings.toString(),
                    "--registry-prefix",
                    prefix,
                    "--control-topic",
                    control.topic(),
                    "--configuration",
                    "memory",
                    "--deployment-id",
                    id,
                    "--batch-size",
                    String.valueOf(batch),
                    "--epochs",
                    String.valueOf(epochs),
                    "--wait")) {
                while (registry.deployment(id).isEmpty()) {
                    child.checkAlive();
                    peakRss = Math.max(peakRss, child.peakRssBytes());
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("kafkaml train did not record deployment " + id);
                    }
                    Thread.sleep(100);
                }
                control.publish(message, Duration.ofSeconds(30));
                while (true) {
                    peakRss = Math.max(peakRss, child.peakRssBytes());
                    Optional<TrainingResult> done = registry.result(id + ".mlp");
                    if (done.isPresent() && done.get().status().isTerminal()) {
                        if (done.get().status() != DeploymentStatus.FINISHED) {
                            throw new IllegalStateException("kafkaml train at -Xmx" + xmx + " ended "
                                    + done.get().status() + ": " + done.get().error() + "\n" + child.tail());
                        }
                        result = done.get();
                        break;
                    }
                    child.checkNotFailed();
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("kafkaml train did not finish in 2 hours: " + child.tail());
                    }
                    Thread.sleep(100);
                }
            }
            long[] heap = peakHeap(gcLog);
            long maxHeap = parseSize(xmx);
            Map<String, Object> extra = new LinkedHashMap<>();
            extra.put("xmx", xmx);
            extra.put("streamBytes", streamBytes);
            extra.put("streamOverHeap", BenchmarkResult.round(streamBytes / (double) maxHeap));
            extra.put("epochs", epochs);
            extra.put("batch", batch);
            extra.put("features", features);
            extra.put("status", result.status().name());
            extra.put("trainingSeconds", result.trainingMillis() / 1e3);
            extra.put("peakHeapBeforeGcBytes", heap[0]);
            extra.put("peakHeapAfterGcBytes", heap[1]);
            extra.put("peakHeapCommittedBytes", heap[2]);
            extra.put("peakLiveHeapAfterFullGcBytes", heap[3]);
            extra.put("fullGcs", heap[4]);
            extra.put("peakRssBytes", peakRss);
            extra.put("offHeapEstimateBytes", peakRss > 0 ? peakRss - heap[2] : "n/a");
            extra.put(
                    "offHeapDefinition", "peak RSS (VmHWM) - peak committed heap (GC log): ND4J/JavaCPP, metaspace...");
            extra.put("gcLog", gcLog.toString());
            System.err.printf(
                    "stream-memory: %d MB (%.1f x -Xmx%s) trained in %.1f s; heap peak %d MB before GC, %d MB after, "
                            + "%d MB committed, %d MB live after a full GC (%d full GCs); RSS peak %d MB%n",
                    streamBytes / 1_000_000,
                    streamBytes / (double) maxHeap,
                    xmx,
                    result.trainingMillis() / 1e3,
                    heap[0] >> 20,
                    heap[1] >> 20,
                    heap[2] >> 20,
                    heap[3] >> 20,
                    heap[4],
                    peakRss >> 20);
            long trained = records * epochs;
            return List.of(BenchmarkResult.of(
                    name(),
                    trained,
                    result.trainingMillis() / 1e3,
                    "producing the stream into Kafka (acks=all), for scale",
                    sendSeconds * epochs,
                    extra));
        }
    }

    private static org.deeplearning4j.nn.conf.MultiLayerConfiguration mlp(int features) {
        return new NeuralNetConfiguration.Builder()
                .seed(42)
                .updater(new Adam(1e-3))
                .list()
                .layer(new DenseLayer.Builder()
                        .nIn(features)
                        .nOut(32)
                        .activation(Activation.RELU)
                        .build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                        .nIn(32)
                        .nOut(10)
                        .activation(Activation.SOFTMAX)
                        .build())
                .build();
    }

    /**
     * From a {@code -Xlog:gc} file: the peak heap used before a collection, after one, committed, the largest live set
     * a full collection left (-1 without one), in bytes, and the number of full collections.
     */
    static long[] peakHeap(Path gcLog) throws IOException {
        long before = 0;
        long after = 0;
        long committed = 0;
        long live = -1;
        int full = 0;
        for (String line : Files.readAllLines(gcLog)) {
            Matcher m = GC_LINE.matcher(line);
            if (m.find()) {
                before = Math.max(before, bytes(m.group(1), m.group(2)));
                after = Math.max(after, bytes(m.group(3), m.group(4)));
                committed = Math.max(committed, bytes(m.group(5), m.group(6)));
                if (line.contains("Pause Full")) {
                    live = Math.max(live, bytes(m.group(3), m.group(4)));
                    full++;
                }
            }
        }
        return new long[] {before, after, committed, live, full};
    }

    private static long bytes(String number, String unit) {
        long n = Long.parseLong(number);
        return switch (unit) {
            case "K" -> n << 10;
            case "M" -> n << 20;
            default -> n << 30;
        };
    }

    /** {@code 64m}, {@code 2g}, {@code 512M}... in bytes. */
    static long parseSize(String size) {
        String s = size.trim().toLowerCase(java.util.Locale.ROOT);
        long n = Long.parseLong(s.replaceAll("[kmg]$", ""));
        return switch (s.charAt(s.length() - 1)) {
            case 'k' -> n << 10;
            case 'm' -> n << 20;
            case 'g' -> n << 30;
            default -> n;
        };
    }
}
