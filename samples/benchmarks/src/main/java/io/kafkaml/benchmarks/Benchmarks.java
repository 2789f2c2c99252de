package io.kafkaml.benchmarks;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;

/**
 * The benchmark suite's entry point:
 * {@code java -jar samples/benchmarks/target/kafkaml-benchmarks.jar NAME [--bootstrap-servers HOST:PORT]
 * [--config FILE] [--OPTION VALUE ...]}. It starts an embedded broker unless bootstrap servers are given (the flag,
 * the file or the environment), runs the named benchmark and prints one JSON object per line on standard output;
 * logs go to standard error.
 * Settings are read as the CLI reads them ({@link KafkaMlConfig}): the {@code --config} properties file (security,
 * {@code consumer.*}, {@code producer.*}, {@code admin.*}, {@code kafkaml.*}), then the {@code KAFKAML_*}
 * environment, then {@code --bootstrap-servers}; every client of a benchmark derives its settings from them.
 */
public final class Benchmarks {

    static final List<Benchmark> ALL = List.of(
            new StreamReadBenchmark(),
            new RawDecodeBenchmark(),
            new TrainOverheadBenchmark(),
            new PaperTablesBenchmark(),
            new StreamMemoryBenchmark(),
            new InferenceBenchmarks.Latency(),
            new InferenceBenchmarks.Throughput(),
            new InferenceBenchmarks.FirstPrediction(),
            new FaultRunBenchmark(),
            new SwapLatencyBenchmark(),
            new FuzzBenchmark());

    private Benchmarks() {}

    public static void main(String[] args) throws Exception {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("list")) {
            usage(args.length == 0 ? err : out);
            return args.length == 0 ? 2 : 0;
        }
        if (args[0].equals("report")) {
            return ResultsReport.run(args, out, err);
        }
        Benchmark benchmark =
                ALL.stream().filter(b -> b.name().equals(args[0])).findFirst().orElse(null);
        if (benchmark == null) {
            err.println("Unknown benchmark '" + args[0] + "'.");
            usage(err);
            return 2;
        }
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 1; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                err.println("Expected --option value, got '" + args[i] + "'");
                return 2;
            }
            options.put(args[i].substring(2), args[++i]);
        }
        String servers = options.remove("bootstrap-servers");
        String configFile = options.remove("config");
        Map<String, Object> settings = new HashMap<>();
        if (configFile != null) {
            Properties properties = new Properties();
            try (InputStream in = Files.newInputStream(Path.of(configFile))) {
                properties.load(in);
            } catch (IOException e) {
                err.println("Cannot read the settings file " + configFile + ": " + e.getMessage());
                return 2;
            }
            properties.forEach((key, value) -> settings.put(key.toString(), value));
        }
        settings.putAll(KafkaMlConfig.settingsFromEnvironment(System.getenv()));
        EmbeddedKafkaBroker broker = null;
        try {
            if (servers == null) {
                servers = (String) settings.get(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
            }
            if (servers == null && !benchmark.usesCluster()) {
                return print(benchmark.run(new BenchmarkContext(new HashMap<>(settings), null, options)), out, err);
            }
            if (servers == null) {
                broker = EmbeddedKafkaBroker.builder().build().start();
                servers = broker.bootstrapServers();
            }
            Map<String, Object> clientConfig = new HashMap<>(settings);
            clientConfig.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, servers);
            try (Admin admin = Admin.create(new KafkaMlConfig(clientConfig).adminConfig())) {
                return print(benchmark.run(new BenchmarkContext(clientConfig, admin, options)), out, err);
            }
        } finally {
            if (broker != null) {
                broker.close();
            }
        }
    }

    /** Prints one JSON line per result; 1 when one of them says {@code "valid": false}, else 0. */
    static int print(List<BenchmarkResult> results, PrintStream out, PrintStream err)
            throws com.fasterxml.jackson.core.JsonProcessingException {
        ObjectMapper json = new ObjectMapper();
        int status = 0;
        for (BenchmarkResult result : results) {
            out.println(json.writeValueAsString(result));
            out.flush();
            if (Boolean.FALSE.equals(result.extra().get("valid"))) {
                err.println("INVALID: " + result.benchmark() + " broke its guarantee: " + result.extra());
                status = 1;
            }
        }
        return status;
    }

    private static void usage(PrintStream out) {
        out.println("usage: java -jar kafkaml-benchmarks.jar NAME [--bootstrap-servers HOST:PORT] [--config FILE] "
                + "[--OPTION VALUE ...]");
        out.println(
                "--config: a properties file of settings (security.protocol, sasl.*, ssl.*, consumer.*, producer.*,");
        out.println("admin.*, kafkaml.*; see docs/settings.md); KAFKAML_* environment variables apply after it.");
        out.println("Prints one JSON object per line: benchmark, records, seconds, recordsPerSecond, baseline,");
        out.println("baselineSeconds, baselineRecordsPerSecond, ratio (ours / baseline, same run), then extras.");
        out.println(
                "report --results FILE [--plots DIR]: issue 17's goals as a Markdown table (met / not met) from the");
        out.println(
                "JSON lines of a run (run-issue17.sh's results.jsonl), and its serving/training numbers as PNG plots.");
        out.println("benchmarks:");
        for (Benchmark benchmark : ALL) {
            out.printf("  %-22s %s%n", benchmark.name(), benchmark.description());
        }
    }
}
