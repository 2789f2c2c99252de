package io.kafkaml.benchmarks;

import io.kafkaml.control.ControlChannel;
import io.kafkaml.control.ControlMessage;
import io.kafkaml.format.RecordDecoder;
import io.kafkaml.inference.InferenceSpec;
import io.kafkaml.inference.LocalInference;
import io.kafkaml.inference.ServedModel;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.Registry;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.samples.hcopd.Hcopd;
import io.kafkaml.training.LocalTrainingLauncher;
import io.kafkaml.training.Normalization;
import io.kafkaml.training.TrainingDeployments;
import io.kafkaml.training.TrainingHandle;
import io.kafkaml.training.TrainingSpec;
import java.awt.Color;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;

/**
 * {@code paper-tables}: the Kafka-ML paper's Tables I and II on this machine, in one run, with the paper's figures
 * beside ours and PNG plots drawn with XChart.
 *
 * <p><b>Table I</b>, training time of the HCOPD model (Dropout 0.2, Dense 4 sigmoid, Dense 2 softmax, Adam; batch
 * 10; the paper: 1000 epochs, {@code --epochs}): (1) plain DL4J from an in-memory {@code DataSet}; (2) from the Kafka
 * stream through a training deployment in this JVM; (3) from the stream in a separate {@code kafkaml train} JVM
 * started as a user starts it ({@code java -jar kafkaml.jar train ...}; the paper's "containerized" column). Both
 * stream columns are the {@code trainingMillis} their runner records in the result (from the start of training, once
 * the stream's first pass has been read for the normalizer and cached, to the end of the test evaluation); the
 * memory column times the same work and a little more (standardization fit, model creation, fit, per-epoch
 * validation, test evaluation). Both sides also report the seconds in the batches' {@code fit} loop alone. The paper: 27.37 s from memory, 29.61 s through Kafka-ML (1.082×), as quoted in
 * {@link TrainOverheadBenchmark}.
 *
 * <p><b>Table II</b>, one prediction (one input at a time, {@code --rate} per second, {@code --predictions} of them):
 * (1) the model in process (decode one RAW record, one forward pass, encode the prediction); (2) through Kafka to an
 * inference deployment in this JVM (send → prediction consumed); (3) the same to a separate {@code kafkaml infer}
 * process. The paper: 374 ms per prediction through Kafka-ML.
 *
 * <p>The memory column is the mean of two runs, one before and one after the in-process stream side (both printed),
 * so that the machine's drift over a run weighs on both sides alike. With {@code --memory-jvm true} (the default) the
 * memory side also runs once in a fresh JVM of its own ({@link BaselineProcess} {@code train-memory}): the separate
 * process's line then says how much of its gap a cold JIT explains ({@code ratioToFreshJvmBaseline}).
 *
 * <p>Options: {@code --epochs 1000 --predictions 200 --rate 10 --plots benchmark-plots --data PATH --memory-jvm true}
 * (plus the child options {@code --kafkaml-jar}, {@code --child-jvm-options}).
 */
final class PaperTablesBenchmark implements Benchmark {

    /** The paper's Table I, seconds: from memory, through Kafka-ML (1000 epochs). */
    static final double PAPER_MEMORY_SECONDS = 27.37;

    static final double PAPER_STREAM_SECONDS = 29.61;
    /** The paper's Table II: one prediction through Kafka-ML, milliseconds. */
    static final double PAPER_PREDICTION_MILLIS = 374;

    @Override
    public String name() {
        return "paper-tables";
    }

    @Override
    public String description() {
        return "the paper's Tables I (HCOPD training: memory / stream / separate train JVM) and II (one prediction:"
                + " model / Kafka / separate infer JVM), with XChart plots (--plots DIR)";
    }

    @Override
    public List<BenchmarkResult> run(BenchmarkContext context) throws Exception {
        int epochs = (int) context.longOption("epochs", 1000);
        int predictions = (int) context.longOption("predictions", 200);
        int rate = (int) context.longOption("rate", 10);
        Path plots = Path.of(context.options().getOrDefault("plots", "benchmark-plots"));
        String data = context.options().get("data");
        List<Hcopd.Row> rows = Hcopd.read(data != null ? Path.of(data) : Hcopd.defaultCsv());
        List<BenchmarkResult> results = new ArrayList<>();
        double[] table1 = tableOne(context, rows, epochs, results);
        double[][] table2 = tableTwo(context, predictions, rate, results);
        Files.createDirectories(plots);
        plotTableOne(plots.resolve("paper-table1-training.png"), table1, epochs);
        plotTableTwo(plots.resolve("paper-table2-prediction.png"), table2);
        System.err.printf("paper-tables: plots written to %s%n", plots.toAbsolutePath());
        return results;
    }

    /** Table I: seconds from memory, from the stream in process, from the stream in a separate JVM. */
    private double[] tableOne(BenchmarkContext context, List<Hcopd.Row> rows, int epochs, List<BenchmarkResult> out)
            throws Exception {
        String topic = context.topic("paper-hcopd");
        InferenceBenchmarks.createTopics(context, 1, topic);
        String prefix = "paper-" + System.currentTimeMillis();
        try (Registry registry = Registry.connect(context.clientConfig(), prefix, Duration.ofSeconds(60));
                LocalTrainingLauncher launcher = new LocalTrainingLauncher(registry, context.clientConfig(), 1, null);
                ControlChannel control = ControlChannel.create(context.clientConfig())) {
            TrainingDeployments deployments = new TrainingDeployments(registry, launcher);
            List<ModelDefinition> models = Hcopd.models("hcopd", 42);
            models.forEach(registry::registerModel);
            registry.createConfiguration(new Configuration("paper", "", List.of("hcopd-paper")));
            ControlMessage source = Hcopd.send(context.clientConfig(), topic, "source", rows, 0.1, 0.1)
                    .controlMessage();
            // warm-up of the JIT on both in-JVM sides (a few epochs), so that neither pays it alone
            TrainOverheadBenchmark.trainInMemory(rows, Math.min(5, epochs));
            trainInProcess(registry, deployments, control, source, "paper-warm", Math.min(5, epochs));

            // memory before and after the stream side, their mean the baseline: the machine's drift over the minutes
            // of a run (other processes, the JVM's heap and JIT state) then weighs on both sides alike
            double[] before = TrainOverheadBenchmark.trainInMemory(rows, epochs);
            TrainingResult stream = trainInProcess(registry, deployments, control, source, "paper-stream", epochs);
            double[] after = TrainOverheadBenchmark.trainInMemory(rows, epochs);
            double[] memory = {(before[0] + after[0]) / 2, before[1]};
            // the same split for both sides: the seconds in the batches' fit calls alone (a deployment's epochs'
            // millis) against the rest (per-epoch validation, metrics, the stream read, the test evaluation)
            double memoryFit = (before[2] + after[2]) / 2;
            double streamFit = registry.epochs("paper-stream.hcopd-paper").stream()
                            .mapToLong(io.kafkaml.registry.EpochMetrics::millis)
                            .sum()
                    / 1e3;
            TrainingResult separate = trainInChild(context, registry, control, source, prefix, "paper-child", epochs);
            double streamSeconds = stream.trainingMillis() / 1e3;
            double separateSeconds = separate.trainingMillis() / 1e3;
            // the same plain DL4J training in a fresh JVM of its own: what a cold JIT costs a separate process
            double[] freshJvm = Boolean.parseBoolean(context.options().getOrDefault("memory-jvm", "true"))
                    ? trainInMemoryChild(context, epochs)
                    : null;
            System.err.printf(
                    "paper-tables Table I (%d epochs): memory %.2f s (%.2f before, %.2f after the stream side; test "
                            + "accuracy %.3f), stream %.2f s (%.3f), separate kafkaml train JVM %.2f s (%.3f)%s%n",
                    epochs,
                    memory[0],
                    before[0],
                    after[0],
                    memory[1],
                    streamSeconds,
                    stream.testMetrics().get("accuracy"),
                    separateSeconds,
                    separate.testMetrics().get("accuracy"),
                    freshJvm == null ? "" : String.format(", memory in a fresh JVM %.2f s", freshJvm[0]));
            System.err.printf(
                    "paper-tables Table I: of which in the batches' fit calls: memory %.2f s, stream %.2f s; the rest "
                            + "(validation every epoch, metrics, stream read, test): memory %.2f s, stream %.2f s%n",
                    memoryFit, streamFit, memory[0] - memoryFit, streamSeconds - streamFit);
            long trainRecords = Math.round(rows.size() * 0.8) * epochs;
            for (Object[] side : new Object[][] {
                {"stream-in-process", stream, streamSeconds, PAPER_STREAM_SECONDS},
                {"stream-separate-process", separate, separateSeconds, null}
            }) {
                Map<String, Object> extra = new LinkedHashMap<>();
                extra.put("table", "I");
                extra.put("column", side[0]);
                extra.put("epochs", epochs);
                extra.put("batch", 10);
                extra.put("rows", rows.size());
                extra.put(
                        "testAccuracy", ((TrainingResult) side[1]).testMetrics().get("accuracy"));
                extra.put("baselineTestAccuracy", memory[1]);
                extra.put("baselineRunsSeconds", List.of(before[0], after[0]));
                extra.put("baselineFitSeconds", BenchmarkResult.round(memoryFit));
                if ("stream-in-process".equals(side[0])) {
                    extra.put("fitSeconds", BenchmarkResult.round(streamFit));
                }
                if (freshJvm != null && "stream-separate-process".equals(side[0])) {
                    // a separate JVM's gap, of which a cold JIT explains this much: memory in a fresh JVM vs warm
                    extra.put("freshJvmBaselineSeconds", freshJvm[0]);
                    extra.put("ratioToFreshJvmBaseline", BenchmarkResult.round((double) side[2] / freshJvm[0]));
                }
                extra.put("paperEpochs", 1000);
                extra.put("paperSeconds", side[3] == null ? "not in the paper's figures at hand" : side[3]);
                extra.put("paperBaselineSeconds", PAPER_MEMORY_SECONDS);
                extra.put("paperRatio", side[3] == null ? "n/a" : PAPER_STREAM_SECONDS / PAPER_MEMORY_SECONDS);
                out.add(BenchmarkResult.ofTimeRatio(
                        name() + "-training",
                        trainRecords,
                        (double) side[2],
                        "plain DL4J from an in-memory DataSet (same model, batch, epochs, evaluation)",
                        memory[0],
                        extra));
            }
            return new double[] {memory[0], streamSeconds, separateSeconds};
        }
    }

    /** {@link TrainOverheadBenchmark#trainInMemory} in a fresh JVM ({@link BaselineProcess} {@code train-memory}). */
    private static double[] trainInMemoryChild(BenchmarkContext context, int epochs) throws Exception {
        List<String> args = new ArrayList<>(List.of("--epochs", String.valueOf(epochs)));
        if (context.options().get("data") != null) {
            args.addAll(List.of("--data", context.options().get("data")));
        }
        try (ChildProcess child = ChildProcess.baseline("train-memory", args.toArray(String[]::new))) {
            for (String line : child.awaitOutput(Duration.ofHours(2))) {
                if (line.startsWith(BaselineProcess.TRAIN_MEMORY_LINE)) {
                    String[] values = line.substring(BaselineProcess.TRAIN_MEMORY_LINE.length())
                            .trim()
                            .split(" ");
                    return new double[] {Double.parseDouble(values[0]), Double.parseDouble(values[1])};
                }
            }
            throw new IllegalStateException("train-memory printed no result: " + child.tail());
        }
    }

    private static TrainingSpec spec(int epochs) {
        return TrainingSpec.builder()
                .batchSize(10)
                .epochs(epochs)
                .seed(42)
                .normalization(Normalization.STANDARDIZE)
                .controlTimeout(Duration.ofMinutes(1))
                .build();
    }

    private static TrainingResult trainInProcess(
            Registry registry,
            TrainingDeployments deployments,
            ControlChannel control,
            ControlMessage source,
            String id,
            int epochs) {
        TrainingHandle handle = deployments.deploy("paper", spec(epochs), id);
        control.publish(source.withDeploymentId(id), Duration.ofSeconds(30)); // the stream re-used, not sent again
        DeploymentStatus status = handle.await(Duration.ofHours(2))
                .orElseThrow(() -> new IllegalStateException("Deployment " + id + " did not finish in 2 hours"));
        if (status != DeploymentStatus.FINISHED) {
            throw new IllegalStateException("Deployment " + id + " ended " + status + ": "
                    + registry.deployment(id).orElseThrow().error());
        }
        return registry.result(id + ".hcopd-paper").orElseThrow();
    }

    /**
     * {@code java -jar kafkaml.jar train --configuration paper --deployment-id ID ...} as a child JVM; once it has
     * recorded its deployment the stream is announced to it, and its result is read back from the registry.
     */
    private static TrainingResult trainInChild(
            BenchmarkContext context,
            Registry registry,
            ControlChannel control,
            ControlMessage source,
            String prefix,
            String id,
            int epochs)
            throws Exception {
        Path settings = ChildProcess.settingsFile(context.clientConfig());
        long deadline = System.nanoTime() + TimeUnit.HOURS.toNanos(2);
        try (ChildProcess child = ChildProcess.kafkaml(
                context,
                ChildProcess.jvmOptions(context),
                "train",
                "--config",
                settings.toString(),
                "--registry-prefix",
                prefix,
                "--control-topic",
                control.topic(),
                "--configuration",
                "paper",
                "--deployment-id",
                id,
                "--batch-size",
                "10",
                "--epochs",
                String.valueOf(epochs),
                "--seed",
                "42",
                "--normalize",
                "standardize",
                "--wait")) {
            while (registry.deployment(id).isEmpty()) {
                child.checkAlive();
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("kafkaml train did not record deployment " + id);
                }
                Thread.sleep(20);
            }
            control.publish(source.withDeploymentId(id), Duration.ofSeconds(30));
            while (true) {
                Optional<TrainingResult> result = registry.result(id + ".hcopd-paper");
                if (result.isPresent() && result.get().status().isTerminal()) {
                    if (result.get().status() != DeploymentStatus.FINISHED) {
                        throw new IllegalStateException("kafkaml train ended "
                                + result.get().status() + ": " + result.get().error() + "\n" + child.tail());
                    }
                    return result.get();
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("kafkaml train did not finish in 2 hours: " + child.tail());
                }
                child.checkNotFailed();
                Thread.sleep(50);
            }
        }
    }

    /**
     * Table II: per column {p50, p99} milliseconds per prediction: the model in process, through Kafka in process,
     * through a separate {@code kafkaml infer}.
     */
    private double[][] tableTwo(BenchmarkContext context, int predictions, int rate, List<BenchmarkResult> out)
            throws Exception {
        int seconds = Math.max(1, predictions / rate);
        try (InferenceBenchmarks.Served served = InferenceBenchmarks.Served.start(context)) {
            String stamp = String.valueOf(System.currentTimeMillis());
            String in = "paper-in-" + stamp;
            String result = "paper-out-" + stamp;
            String childIn = "paper-sin-" + stamp;
            String childOut = "paper-sout-" + stamp;
            InferenceBenchmarks.createTopics(context, 1, in, result, childIn, childOut);

            // (1) the model in process: decode, one forward pass of one row, encode
            ServedModel model = ServedModel.load(
                    served.registry,
                    InferenceSpec.builder(served.resultId, in, result).build());
            RecordDecoder decoder = model.decoder();
            float[] row = new float[decoder.featureCount()];
            List<Double> local = new ArrayList<>();
            for (int i = -1_000; i < Math.max(predictions, 1_000); i++) { // 1000 to warm up the JIT
                long begin = System.nanoTime();
                decoder.decodeFeatures(null, served.input(Math.abs(i)), row, 0);
                float[] prediction = model.predict(row, 1);
                byte[] encoded = model.encode(prediction, 0);
                double millis = (System.nanoTime() - begin) / 1e6;
                if (i >= 0 && encoded.length > 0) {
                    local.add(millis);
                }
            }

            // (2) through Kafka to a deployment in this JVM
            List<Double> kafka;
            try (LocalInference inference = LocalInference.start(
                    served.registry,
                    context.clientConfig(),
                    "paper-" + stamp,
                    InferenceSpec.builder(served.resultId, in, result).build())) {
                InferenceBenchmarks.Latency.measure(context, served, in, result, 2, rate); // warm-up
                kafka = InferenceBenchmarks.Latency.measure(context, served, in, result, seconds, rate);
            }

            // (3) through Kafka to a separate kafkaml infer process
            List<Double> separate;
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
                    childIn,
                    "--output-topic",
                    childOut,
                    "--id",
                    "paper-sep-" + stamp)) {
                double ready = InferenceBenchmarks.Latency.awaitServing(context, served, infer, childIn, childOut);
                System.err.printf(
                        "paper-tables: kafkaml infer served its first prediction %.2f s after its start%n", ready);
                InferenceBenchmarks.Latency.measure(context, served, childIn, childOut, 2, rate); // warm-up
                separate = InferenceBenchmarks.Latency.measure(context, served, childIn, childOut, seconds, rate);
                infer.checkAlive();
            }
            String[] columns = {"model-in-process", "kafka-in-process", "kafka-separate-infer-process"};
            List<List<Double>> sides = List.of(local, kafka, separate);
            double[][] table = new double[3][];
            for (int c = 0; c < 3; c++) {
                List<Double> latencies = sides.get(c);
                table[c] = new double[] {
                    InferenceBenchmarks.percentile(latencies, 50), InferenceBenchmarks.percentile(latencies, 99)
                };
                Map<String, Object> extra = new LinkedHashMap<>();
                extra.put("table", "II");
                extra.put("column", columns[c]);
                extra.put("rate", c == 0 ? "back to back" : rate);
                extra.put("p50Millis", table[c][0]);
                extra.put("p95Millis", InferenceBenchmarks.percentile(latencies, 95));
                extra.put("p99Millis", table[c][1]);
                extra.put("paperMillisPerPrediction", PAPER_PREDICTION_MILLIS);
                extra.put("ratioDefinition", "paperMillisPerPrediction / p50Millis (how many times faster)");
                double ourSeconds =
                        latencies.stream().mapToDouble(Double::doubleValue).sum() / 1e3;
                out.add(BenchmarkResult.of(
                                name() + "-prediction",
                                latencies.size(),
                                ourSeconds,
                                "the paper's Kafka-ML: 374 ms per prediction",
                                latencies.size() * PAPER_PREDICTION_MILLIS / 1e3,
                                extra)
                        .withRatio(PAPER_PREDICTION_MILLIS / table[c][0]));
            }
            System.err.printf(
                    "paper-tables Table II: p50/p99 ms per prediction: model %.3f/%.3f, Kafka in process %.2f/%.2f, "
                            + "separate kafkaml infer %.2f/%.2f (paper: %.0f)%n",
                    table[0][0],
                    table[0][1],
                    table[1][0],
                    table[1][1],
                    table[2][0],
                    table[2][1],
                    PAPER_PREDICTION_MILLIS);
            return table;
        }
    }

    /** Table I as bars of time relative to training from memory, ours beside the paper's. */
    static void plotTableOne(Path png, double[] seconds, int epochs) throws java.io.IOException {
        CategoryChart chart = new CategoryChartBuilder()
                .width(900)
                .height(500)
                .title("Table I: HCOPD training time relative to training from memory")
                .yAxisTitle("time / time from memory")
                .build();
        style(chart);
        List<String> columns = List.of("from memory", "from the stream", "stream, separate JVM");
        chart.addSeries(
                String.format(
                        "kafkaml (%d epochs: %.1f s, %.1f s, %.1f s)", epochs, seconds[0], seconds[1], seconds[2]),
                columns,
                List.of(1.0, seconds[1] / seconds[0], seconds[2] / seconds[0]));
        chart.addSeries(
                String.format(
                        "Kafka-ML paper (1000 epochs: %.2f s, %.2f s)", PAPER_MEMORY_SECONDS, PAPER_STREAM_SECONDS),
                columns,
                Arrays.asList(1.0, PAPER_STREAM_SECONDS / PAPER_MEMORY_SECONDS, null));
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    /** Table II as bars of milliseconds per prediction on a log scale, ours (p50, p99) and the paper's one figure. */
    static void plotTableTwo(Path png, double[][] millis) throws java.io.IOException {
        CategoryChart chart = new CategoryChartBuilder()
                .width(900)
                .height(500)
                .title("Table II: one prediction, milliseconds (log scale)")
                .yAxisTitle("ms per prediction")
                .build();
        style(chart);
        chart.getStyler().setYAxisLogarithmic(true);
        // a bar starts at the axis' minimum, which a log axis needs below every bar: the power of 10 under the least
        double least = PAPER_PREDICTION_MILLIS;
        for (double[] column : millis) {
            least = Math.min(least, Math.max(1e-3, Math.min(column[0], column[1])));
        }
        chart.getStyler().setYAxisMin(Math.pow(10, Math.floor(Math.log10(least))));
        List<String> columns = List.of("model in process", "Kafka, in process", "Kafka, separate infer JVM", "paper");
        // a log axis takes no empty bar: the paper's one figure stands for both of its percentiles
        double floor = 1e-3;
        chart.addSeries(
                "p50",
                columns,
                List.of(
                        Math.max(floor, millis[0][0]),
                        Math.max(floor, millis[1][0]),
                        Math.max(floor, millis[2][0]),
                        PAPER_PREDICTION_MILLIS));
        chart.addSeries(
                "p99",
                columns,
                List.of(
                        Math.max(floor, millis[0][1]),
                        Math.max(floor, millis[1][1]),
                        Math.max(floor, millis[2][1]),
                        PAPER_PREDICTION_MILLIS));
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    private static void style(CategoryChart chart) {
        System.setProperty("java.awt.headless", "true");
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setPlotBackgroundColor(Color.WHITE);
        chart.getStyler().setSeriesColors(new Color[] {new Color(0x1f77b4), new Color(0xff7f0e)});
    }
}
