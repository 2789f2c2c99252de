package io.kafkaml.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.Color;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;

/**
 * {@code java -jar kafkaml-benchmarks.jar report --results FILE [--plots DIR]}: reads the JSON lines a run of
 * {@code samples/benchmarks/run-issue17.sh} wrote ({@code results.jsonl}) and prints issue 17's goals as a Markdown
 * table (goal, value measured in that run, met / not met / not measured), and, with {@code --plots}, draws the
 * serving and training numbers as PNG bar charts (XChart): {@code serving-throughput.png},
 * {@code serving-latency.png}, {@code first-prediction.png}, {@code training-ratios.png}.
 *
 * <p>It starts no broker and measures nothing: every value is one the benchmarks printed, so a table in
 * BENCHMARKS.md can be regenerated from the file it came from. Lines of other benchmarks are ignored; a goal whose
 * benchmark is not in the file is "not measured". Each goal's definition is the (item numbers as there).
 */
final class ResultsReport {

    /** One goal of the issue: what it asks, what the run measured, and whether that meets it ({@code null}: not measured or no threshold). */
    record Goal(String item, String goal, String measured, Boolean met) {

        String verdict() {
            return met == null ? (measured.isEmpty() ? "not measured" : "—") : met ? "**met**" : "**not met**";
        }
    }

    private ResultsReport() {}

    static int run(String[] args, PrintStream out, PrintStream err) throws IOException {
        Path results = null;
        Path plots = null;
        for (int i = 1; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--results" -> results = Path.of(args[i + 1]);
                case "--plots" -> plots = Path.of(args[i + 1]);
                default -> {
                    err.println("report: unknown option " + args[i] + " (expected --results FILE [--plots DIR])");
                    return 2;
                }
            }
        }
        if (results == null || args.length % 2 == 0) {
            err.println("usage: java -jar kafkaml-benchmarks.jar report --results results.jsonl [--plots DIR]");
            return 2;
        }
        List<JsonNode> lines = read(results);
        Path file = results;
        repeated(lines)
                .forEach((kind, count) -> err.println("report: " + count + " lines of " + kind + " in " + file
                        + ": the last one is judged (a file of one run holds one of each)"));
        out.print(markdown(goals(lines)));
        if (plots != null) {
            Files.createDirectories(plots);
            plot(lines, plots);
            err.println("report: plots in " + plots);
        }
        return 0;
    }

    /**
     * The kinds of line that the file holds more than once (several runs appended to one file), with their counts: a
     * kind is a benchmark's line told apart by the fields that one run varies (mode, guarantee, neighbour, column,
     * variant, baseline; a 10-minute latency run apart from the 20-second one).
     */
    static java.util.Map<String, Integer> repeated(List<JsonNode> lines) {
        java.util.Map<String, Integer> counts = new java.util.LinkedHashMap<>();
        for (JsonNode line : lines) {
            StringBuilder kind = new StringBuilder(line.path("benchmark").asText());
            for (String field : List.of(
                    "mode", "guarantee", "baselineGuarantee", "neighbour", "column", "variant", "restartInstanceId")) {
                if (line.has(field)) {
                    kind.append(", ")
                            .append(field)
                            .append(' ')
                            .append(line.path(field).asText());
                }
            }
            kind.append(" (vs ").append(line.path("baseline").asText()).append(')');
            if ("inference-latency".equals(line.path("benchmark").asText())
                    && line.path("seconds").asDouble() >= 600) {
                kind.append(", 10 minutes");
            }
            counts.merge(kind.toString(), 1, Integer::sum);
        }
        counts.values().removeIf(count -> count < 2);
        return counts;
    }

    /** The JSON objects of a results file, one per line; lines that are not JSON objects (e.g. "== …") are skipped. */
    static List<JsonNode> read(Path results) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> lines = new ArrayList<>();
        for (String line : Files.readAllLines(results)) {
            if (line.startsWith("{")) {
                lines.add(json.readTree(line));
            }
        }
        return lines;
    }

    private static Optional<JsonNode> find(List<JsonNode> lines, String benchmark, Predicate<JsonNode> which) {
        // the last matching line: a re-run appended to the same file replaces an earlier one
        JsonNode found = null;
        for (JsonNode line : lines) {
            if (benchmark.equals(line.path("benchmark").asText()) && which.test(line)) {
                found = line;
            }
        }
        return Optional.ofNullable(found);
    }

    /** An exactly-once {@code inference-faults} line's figure: the ratio, the drains behind it, exact or not. */
    private static String faultRun(JsonNode line) {
        return f(
                "%.2f, the median of the rounds' ratios (median drains %.0f / %.0f inputs/s, %d round(s)); "
                        + "exactly-once %s",
                line.path("exactlyOnceOverAtLeastOnce").asDouble(),
                line.path("recordsPerSecond").asDouble(),
                line.path("baselineRecordsPerSecond").asDouble(),
                line.path("rounds").asInt(),
                line.path("exactlyOnceExact").asBoolean() ? "exact" : "NOT exact");
    }

    private static Predicate<JsonNode> field(String name, String value) {
        return line -> value.equals(line.path(name).asText());
    }

    private static String f(String format, Object... values) {
        return String.format(Locale.ROOT, format, values);
    }

    /** Issue 17's goals, in the order, judged on {@code lines}. */
    static List<Goal> goals(List<JsonNode> lines) {
        List<Goal> goals = new ArrayList<>();
        // item 2: throughput as separate processes
        Optional<JsonNode> throughput = find(
                lines,
                "inference-throughput",
                line -> field("mode", "separate-process").test(line)
                        && !line.has("guarantee")
                        && line.path("baseline").asText().contains("passthrough"));
        goals.add(throughput
                .map(l -> new Goal(
                        "2",
                        "throughput as separate processes ≥ 0.8 × passthrough JVM",
                        f(
                                "%.1fk / %.1fk inputs/s = %.2f",
                                l.path("recordsPerSecond").asDouble() / 1000,
                                l.path("baselineRecordsPerSecond").asDouble() / 1000,
                                l.path("ratio").asDouble()),
                        l.path("ratio").asDouble() >= 0.8))
                .orElse(notMeasured("2", "throughput as separate processes ≥ 0.8 × passthrough JVM")));
        // item 2: p99 latency as separate processes, alone and with a neighbour
        for (boolean neighbour : new boolean[] {false, true}) {
            String goal = "latency p99 as separate processes ≤ 2 × passthrough's p99, "
                    + (neighbour ? "beside a CPU-bound neighbour" : "alone");
            Optional<JsonNode> latency = find(
                    lines,
                    "inference-latency",
                    line -> field("mode", "separate-process").test(line)
                            && "none".equals(line.path("neighbour").asText()) != neighbour
                            && line.path("seconds").asDouble() < 600);
            goals.add(latency.map(l -> new Goal(
                            "2",
                            goal,
                            f(
                                    "%.1f / %.1f ms = %.2f",
                                    l.path("p99Millis").asDouble(),
                                    l.path("baselineP99Millis").asDouble(),
                                    l.path("p99OverBaselineP99").asDouble()),
                            l.path("p99OverBaselineP99").asDouble() <= 2.0))
                    .orElse(notMeasured("2", goal)));
        }
        // item 2: first prediction
        for (String variant : new String[] {"kafkaml infer", "kafkaml infer with an AppCDS archive"}) {
            String goal = "first prediction ≤ 3 s after process start (" + variant + ")";
            Optional<JsonNode> first = find(
                    lines,
                    "first-prediction",
                    line -> variant.contains("AppCDS")
                            ? line.path("variant").asText().contains("AppCDS")
                            : variant.equals(line.path("variant").asText()));
            goals.add(first.map(l -> new Goal(
                            "2",
                            goal,
                            f(
                                    "%.2f s median (passthrough JVM %.2f s)",
                                    l.path("seconds").asDouble(),
                                    l.path("baselineSeconds").asDouble()),
                            l.path("seconds").asDouble()
                                    <= l.path("goalSeconds").asDouble(3.0)))
                    .orElse(notMeasured("2", goal)));
        }
        // item 3: Table I, beat the paper's 8 %
        String tableOne = "Table I: training from the stream ≤ the paper's 1.082 × training from memory";
        goals.add(find(lines, "paper-tables-training", field("column", "stream-in-process"))
                .map(l -> new Goal(
                        "3",
                        tableOne,
                        f(
                                "%.2f s / %.2f s = %.3f (%d epochs)",
                                l.path("seconds").asDouble(),
                                l.path("baselineSeconds").asDouble(),
                                l.path("ratio").asDouble(),
                                l.path("epochs").asInt()),
                        l.path("ratio").asDouble() <= 1.082))
                .orElse(notMeasured("3", tableOne)));
        goals.add(find(lines, "paper-tables-training", field("column", "stream-separate-process"))
                .map(l -> new Goal(
                        "3",
                        "Table I: from the stream in a separate `kafkaml train` JVM (the paper's containerized column;"
                                + " its figure not at hand)",
                        f(
                                "%.2f s / %.2f s = %.3f",
                                l.path("seconds").asDouble(),
                                l.path("baselineSeconds").asDouble(),
                                l.path("ratio").asDouble()),
                        null))
                .orElse(notMeasured("3", "Table I: from the stream in a separate JVM")));
        String overhead = "train-overhead (median of rounds) ≤ the paper's 1.082";
        goals.add(find(lines, "train-overhead", line -> true)
                .map(l -> new Goal(
                        "3",
                        overhead,
                        f("%.3f (rounds %s)", l.path("ratio").asDouble(), rounded(l.path("roundRatios"))),
                        l.path("ratio").asDouble() <= 1.082))
                .orElse(notMeasured("3", overhead)));
        String tableTwo =
                "Table II: one prediction through a separate `kafkaml infer` JVM faster than the paper's 374 ms";
        goals.add(find(lines, "paper-tables-prediction", field("column", "kafka-separate-infer-process"))
                .map(l -> new Goal(
                        "3",
                        tableTwo,
                        f(
                                "p50 %.1f ms, p99 %.1f ms (%.0f × faster at p50)",
                                l.path("p50Millis").asDouble(),
                                l.path("p99Millis").asDouble(),
                                l.path("ratio").asDouble()),
                        l.path("p99Millis").asDouble() < 374))
                .orElse(notMeasured("3", tableTwo)));
        // item 4: memory
        String memory = "training on a stream ≥ 4 × the heap to completion";
        goals.add(find(lines, "stream-memory", line -> true)
                .map(l -> new Goal(
                        "4",
                        memory,
                        f(
                                "%.0f MB at -Xmx%s = %.2f × heap, %s; peak heap %.0f MB, peak RSS %.0f MB (off-heap ≈ %.0f MB)",
                                l.path("streamBytes").asDouble() / 1e6,
                                l.path("xmx").asText(),
                                l.path("streamOverHeap").asDouble(),
                                l.path("status").asText(),
                                l.path("peakHeapBeforeGcBytes").asDouble() / 1e6,
                                l.path("peakRssBytes").asDouble() / 1e6,
                                l.path("offHeapEstimateBytes").asDouble() / 1e6),
                        l.path("streamOverHeap").asDouble() >= 4.0
                                && "FINISHED".equals(l.path("status").asText())))
                .orElse(notMeasured("4", memory)));
        String rss = "serving RSS does not grow over a 10-minute run (end ≤ 1.05 × its value a minute in)";
        goals.add(find(
                        lines,
                        "inference-latency",
                        line -> line.path("seconds").asDouble() >= 600 && line.has("rssBeforeBytes"))
                .map(l -> new Goal(
                        "4",
                        rss,
                        f(
                                "%.0f MB at the start, %s, %.0f MB at the end of %.0f s (peak %.0f MB)",
                                l.path("rssBeforeBytes").asDouble() / 1e6,
                                l.has("rssAfterFirstMinuteBytes")
                                        ? f(
                                                "%.0f MB a minute in",
                                                l.path("rssAfterFirstMinuteBytes")
                                                                .asDouble()
                                                        / 1e6)
                                        : "no sample a minute in",
                                l.path("rssAfterBytes").asDouble() / 1e6,
                                l.path("seconds").asDouble(),
                                l.path("peakRssBytes").asDouble() / 1e6),
                        l.has("rssAfterFirstMinuteBytes")
                                ? (Boolean) (l.path("rssAfterBytes").asDouble()
                                        <= 1.05
                                                * l.path("rssAfterFirstMinuteBytes")
                                                        .asDouble())
                                : null))
                .orElse(notMeasured("4", rss)));
        // item 5: exactly once at speed, judged under the fault run (inference-faults); an exactly-once drain
        // that was not exact (duplicates or missing inputs under read_committed) is not met whatever its speed
        String exactly = "exactly-once ÷ at-least-once throughput ≥ 0.7 under the issue's fault run (broker and one "
                + "of 2 infer processes SIGKILLed, 4 partitions, the killed one restarted under a new instance id; "
                + "inference-faults), exactly-once exact";
        // the at-least-once drains of the same run must have lost nothing either, and the kills must have come
        // mid-drain (a fast drain of a small backlog can outrun them: then no fault run was measured)
        // judged on the drains whose killed process came back under a new instance id (as InferenceChaosIT's, where
        // the figures come from): its open transaction holds read_committed readers back until it times out;
        // lines without the field are such drains (written before it existed)
        Predicate<JsonNode> newIdentity = line -> !line.has("restartInstanceId")
                || "new".equals(line.path("restartInstanceId").asText());
        Optional<JsonNode> atLeastOnceFaults = find(
                lines,
                "inference-faults",
                line -> field("guarantee", "at-least-once").test(line) && newIdentity.test(line));
        goals.add(find(
                        lines,
                        "inference-faults",
                        line -> field("guarantee", "exactly-once").test(line) && newIdentity.test(line))
                .map(l -> {
                    // both guarantees' drains must have had their faults mid-drain: a comparison with a drain
                    // that outran its kills is not the fault run's
                    boolean midDrain = Stream.concat(Stream.of(l), atLeastOnceFaults.stream())
                            .allMatch(line -> !line.path("faultsMidDrain").isBoolean()
                                    || line.path("faultsMidDrain").asBoolean());
                    long lost = atLeastOnceFaults
                            .map(a -> a.path("missing").asLong())
                            .orElse(0L);
                    return new Goal(
                            "5",
                            exactly,
                            faultRun(l)
                                    + f(
                                            ": %d duplicates, %d missing%s%s",
                                            l.path("duplicates").asLong(),
                                            l.path("missing").asLong(),
                                            lost > 0 ? f("; at-least-once LOST %d inputs", lost) : "",
                                            midDrain ? "" : "; the kills came after the drain (no fault run measured)"),
                            !midDrain
                                    ? null
                                    : l.path("exactlyOnceOverAtLeastOnce").asDouble() >= 0.7
                                            && l.path("exactlyOnceExact").asBoolean()
                                            && l.path("valid").asBoolean()
                                            && lost == 0);
                })
                .orElse(notMeasured("5", exactly)));
        // the killed process restarted under its own instance id (a supervisor's restart): information
        String sameIdentity = "exactly-once ÷ at-least-once under the same fault run, the killed infer process "
                + "restarted under its own instance id (fences its open transaction; information)";
        goals.add(find(
                        lines,
                        "inference-faults",
                        line -> field("guarantee", "exactly-once").test(line)
                                && "same".equals(line.path("restartInstanceId").asText()))
                .map(l -> new Goal("5", sameIdentity, faultRun(l), null))
                .orElse(notMeasured("5", sameIdentity)));
        // the fault-free drain of inference-throughput, as information (the goal is the fault run's)
        String faultFree = "exactly-once ÷ at-least-once throughput without faults (separate processes, "
                + "inference-throughput; information, not the goal)";
        goals.add(find(
                        lines,
                        "inference-throughput",
                        line -> field("mode", "separate-process").test(line)
                                && field("guarantee", "exactly-once").test(line))
                .map(l -> new Goal(
                        "5", faultFree, f("%.2f without faults", l.path("ratio").asDouble()), null))
                .orElse(notMeasured("5", faultFree)));
        // item 6
        String decode = "raw-decode ≥ 0.9 × the bare consumer loop";
        goals.add(find(lines, "raw-decode", line -> true)
                .map(l -> new Goal(
                        "6",
                        decode,
                        f("%.3f", l.path("ratio").asDouble()),
                        l.path("ratio").asDouble() >= 0.9))
                .orElse(notMeasured("6", decode)));
        Optional<JsonNode> shared = find(lines, "train-overhead-shared-read", line -> true);
        String bytes = "shared read: Kafka bytes fetched = 1/n of n separate reads";
        goals.add(shared.map(l -> new Goal(
                        "6",
                        bytes,
                        f(
                                "%d / %d bytes = %.3f (n = %d)",
                                l.path("kafkaBytesFetched").asLong(),
                                l.path("baselineKafkaBytesFetched").asLong(),
                                l.path("kafkaBytesRatio").asDouble(),
                                l.path("models").asInt()),
                        l.path("kafkaBytesRatio").asDouble()
                                <= 1.0 / l.path("models").asInt(3) + 0.01))
                .orElse(notMeasured("6", bytes)));
        String wall = "shared read: wall time ≤ 0.6 × n separate reads (cache off)";
        goals.add(shared.map(l -> new Goal(
                        "6",
                        wall,
                        f(
                                "%.2f s / %.2f s = %.3f",
                                l.path("seconds").asDouble(),
                                l.path("baselineSeconds").asDouble(),
                                l.path("ratio").asDouble()),
                        l.path("ratio").asDouble() <= 0.6))
                .orElse(notMeasured("6", wall)));
        return goals;
    }

    private static String rounded(JsonNode values) {
        List<String> out = new ArrayList<>();
        values.forEach(v -> out.add(f("%.2f", v.asDouble())));
        return String.join(", ", out);
    }

    private static Goal notMeasured(String item, String goal) {
        return new Goal(item, goal, "", null);
    }

    /** The goals as a Markdown table. */
    static String markdown(List<Goal> goals) {
        StringBuilder table = new StringBuilder("| item | goal | measured | verdict |\n|---|---|---|---|\n");
        for (Goal goal : goals) {
            table.append(f("| %s | %s | %s | %s |%n", goal.item(), goal.goal(), goal.measured(), goal.verdict()));
        }
        return table.toString();
    }

    /** Draws the run's serving and training numbers; a chart whose benchmark is not in {@code lines} is not drawn. */
    static List<Path> plot(List<JsonNode> lines, Path dir) throws IOException {
        List<Path> written = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        List<Double> ours = new ArrayList<>();
        List<Double> baseline = new ArrayList<>();
        for (JsonNode l : lines) {
            if ("inference-throughput".equals(l.path("benchmark").asText())) {
                String against = l.has("guarantee")
                        ? "EOS vs ALOS"
                        : l.path("baseline").asText().contains("passthrough")
                                ? "passthrough"
                                : l.path("baseline").asText().contains("Kafka-ML") ? "Kafka-ML loop" : "batched loop";
                labels.add(("separate-process".equals(l.path("mode").asText()) ? "processes: " : "in process: ")
                        + against);
                ours.add(l.path("recordsPerSecond").asDouble() / 1000);
                baseline.add(l.path("baselineRecordsPerSecond").asDouble() / 1000);
            }
        }
        if (!labels.isEmpty()) {
            written.add(bars(
                    dir.resolve("serving-throughput.png"),
                    "Throughput draining a backlog (thousand inputs/s)",
                    "k inputs/s",
                    labels,
                    "kafkaml",
                    ours,
                    "baseline, same run",
                    baseline));
        }
        labels = new ArrayList<>();
        ours = new ArrayList<>();
        baseline = new ArrayList<>();
        for (JsonNode l : lines) {
            if ("inference-latency".equals(l.path("benchmark").asText())
                    && l.path("seconds").asDouble() < 600) {
                labels.add(l.path("mode").asText()
                        + ("none".equals(l.path("neighbour").asText()) ? "" : ", neighbour"));
                ours.add(l.path("p99Millis").asDouble());
                baseline.add(l.path("baselineP99Millis").asDouble());
            }
        }
        if (!labels.isEmpty()) {
            written.add(bars(
                    dir.resolve("serving-latency.png"),
                    "Latency p99, send to prediction read back (ms)",
                    "ms",
                    labels,
                    "kafkaml p99",
                    ours,
                    "passthrough p99",
                    baseline));
        }
        labels = new ArrayList<>();
        ours = new ArrayList<>();
        baseline = new ArrayList<>();
        for (JsonNode l : lines) {
            if ("first-prediction".equals(l.path("benchmark").asText())) {
                String variant = l.path("variant").asText();
                labels.add(
                        variant.contains("AppCDS")
                                ? "infer with an AppCDS archive"
                                : variant.equals("kafkaml infer") ? "kafkaml infer" : "infer (compared variant)");
                ours.add(l.path("seconds").asDouble());
                baseline.add(l.path("baselineSeconds").asDouble());
            }
        }
        if (!labels.isEmpty()) {
            written.add(bars(
                    dir.resolve("first-prediction.png"),
                    "Process start to first prediction, median seconds (goal: 3 s)",
                    "s",
                    labels,
                    "kafkaml infer",
                    ours,
                    "passthrough JVM",
                    baseline));
        }
        labels = new ArrayList<>();
        ours = new ArrayList<>();
        baseline = new ArrayList<>();
        for (JsonNode l : lines) {
            String name = l.path("benchmark").asText();
            if (name.equals("paper-tables-training")
                    || name.equals("train-overhead")
                    || name.equals("train-overhead-shared-read")
                    || name.equals("raw-decode")) {
                labels.add(
                        name.equals("paper-tables-training")
                                ? "Table I, " + l.path("column").asText()
                                : name);
                ours.add(l.path("ratio").asDouble());
                baseline.add(
                        switch (name) {
                            case "paper-tables-training", "train-overhead" -> 1.082;
                            case "train-overhead-shared-read" -> 0.6;
                            default -> 0.9;
                        });
            }
        }
        if (!labels.isEmpty()) {
            written.add(bars(
                    dir.resolve("training-ratios.png"),
                    "Training and decoding: measured ratio beside its goal",
                    "ratio",
                    labels,
                    "measured",
                    ours,
                    "goal (the paper's 1.082, 0.6, 0.9)",
                    baseline));
        }
        return written;
    }

    private static Path bars(
            Path png,
            String title,
            String axis,
            List<String> labels,
            String oursName,
            List<Double> ours,
            String baselineName,
            List<Double> baseline)
            throws IOException {
        System.setProperty("java.awt.headless", "true");
        CategoryChart chart = new CategoryChartBuilder()
                .width(1400)
                .height(520)
                .title(title)
                .yAxisTitle(axis)
                .build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setPlotBackgroundColor(Color.WHITE);
        chart.getStyler().setXAxisLabelRotation(0);
        chart.getStyler().setAxisTickLabelsFont(new java.awt.Font(java.awt.Font.SANS_SERIF, java.awt.Font.PLAIN, 12));
        chart.getStyler().setSeriesColors(new Color[] {new Color(0x1f77b4), new Color(0xff7f0e)});
        chart.addSeries(oursName, labels, ours);
        chart.addSeries(baselineName, labels, baseline);
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
        return png;
    }
}
