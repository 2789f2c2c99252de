package io.kafkaml.samples.hcopd;

import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.Registry;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.training.LocalTrainingLauncher;
import io.kafkaml.training.Normalization;
import io.kafkaml.training.TrainingDeployments;
import io.kafkaml.training.TrainingHandle;
import io.kafkaml.training.TrainingSpec;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The paper's validation as a program: registers the paper's HCOPD model and two variants, deploys them for
 * training, streams the HCOPD table through Kafka with {@code AvroDataSink}, waits, and prints each model's
 * test metrics. Starts an in-process broker unless {@code --bootstrap-servers} is given.
 *
 * <pre>
 * java -cp ... io.kafkaml.samples.hcopd.HcopdExample [--bootstrap-servers HOST:PORT] [--epochs 100]
 *     [--data ../shared/data/hcopd/HCOPD_Dataset.csv]
 * </pre>
 */
public final class HcopdExample {

    private HcopdExample() {}

    public static void main(String[] args) {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            options.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        List<TrainingResult> results = run(
                options.get("bootstrap-servers"),
                Integer.parseInt(options.getOrDefault("epochs", "100")),
                options.containsKey("data") ? Path.of(options.get("data")) : Hcopd.defaultCsv(),
                System.out);
        System.exit(results.stream().allMatch(r -> r.status() == DeploymentStatus.FINISHED) ? 0 : 1);
    }

    /**
     * Runs the example and returns the results, printing a summary to {@code out}.
     *
     * @param bootstrapServers a Kafka cluster, or {@code null} for an in-process broker
     */
    public static List<TrainingResult> run(String bootstrapServers, int epochs, Path csv, PrintStream out) {
        List<Hcopd.Row> rows = Hcopd.read(csv);
        EmbeddedKafkaBroker broker =
                bootstrapServers == null ? EmbeddedKafkaBroker.builder().build().start() : null;
        try {
            Map<String, Object> kafka =
                    Map.of("bootstrap.servers", broker != null ? broker.bootstrapServers() : bootstrapServers);
            String prefix = "hcopd-example-" + System.currentTimeMillis();
            try (Registry registry = Registry.connect(kafka, prefix, Duration.ofSeconds(60));
                    LocalTrainingLauncher launcher = new LocalTrainingLauncher(registry, kafka, 1, null)) {
                Hcopd.models("hcopd", 42).forEach(registry::registerModel);
                registry.createConfiguration(new Configuration(
                        "hcopd-all",
                        "the paper's model and two variants",
                        List.of("hcopd-paper", "hcopd-wide", "hcopd-deep")));
                TrainingHandle handle = new TrainingDeployments(registry, launcher)
                        .deploy(
                                "hcopd-all",
                                TrainingSpec.builder()
                                        .batchSize(10)
                                        .epochs(epochs)
                                        .shuffle(true)
                                        .seed(42)
                                        .normalization(Normalization.STANDARDIZE)
                                        .controlTimeout(Duration.ofMinutes(1))
                                        .build());
                Hcopd.send(kafka, prefix + "-data", handle.deploymentId(), rows, 0.1, 0.1);
                DeploymentStatus status = handle.await(Duration.ofHours(1)).orElse(DeploymentStatus.FAILED);
                List<TrainingResult> results = registry.results(handle.deploymentId());
                out.printf("HCOPD: %d rows, deployment %s %s%n", rows.size(), handle.deploymentId(), status);
                for (TrainingResult result : results) {
                    Map<String, Double> test = result.testMetrics();
                    out.printf(
                            "  %-12s %-8s test accuracy %.3f  f1 %.3f  (%d epochs, %.1f s)%s%n",
                            result.model(),
                            result.status(),
                            test.getOrDefault("accuracy", Double.NaN),
                            test.getOrDefault("f1", Double.NaN),
                            result.epochCount(),
                            result.trainingMillis() / 1000.0,
                            result.error() == null ? "" : "  " + result.error());
                }
                return results;
            }
        } finally {
            if (broker != null) {
                broker.close();
            }
        }
    }
}
