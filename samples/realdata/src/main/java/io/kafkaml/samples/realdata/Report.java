package io.kafkaml.samples.realdata;

import io.kafkaml.registry.DeploymentStatus;
import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * What one sample run found: the training deployment's test metrics, the metrics of the predictions the inference
 * deployment wrote for the test split, plain DL4J's test metrics on the same split, and a trivial predictor's.
 *
 * @param sample the sample
 * @param rows rows streamed
 * @param trainRows rows of the training split
 * @param testRows rows of the test split (the inputs sent for inference)
 * @param epochs epochs trained, by both sides
 * @param batchSize batch size, both sides
 * @param deploymentId the training deployment
 * @param status its final status ({@code null} if it did not end in time)
 * @param error its error, or {@code null}
 * @param stream the training result's test metrics
 * @param streamMillis the deployment's training time
 * @param served metrics of the predictions read back from the output topic (empty if training failed)
 * @param predictions predictions read back, one per test row when all went well
 * @param memory plain DL4J's test metrics
 * @param memoryMillis plain DL4J's training time
 * @param trivial a trivial predictor's test metrics: the training split's majority class, or its mean target
 */
public record Report(
        Sample sample,
        int rows,
        int trainRows,
        int testRows,
        int epochs,
        int batchSize,
        String deploymentId,
        DeploymentStatus status,
        String error,
        Map<String, Double> stream,
        long streamMillis,
        Map<String, Double> served,
        int predictions,
        Map<String, Double> memory,
        long memoryMillis,
        Map<String, Double> trivial) {

    /** Whether training finished and every test input got its prediction back. */
    public boolean complete() {
        return status == DeploymentStatus.FINISHED && predictions == testRows;
    }

    /**
     * Whether the served predictions score what the deployment's test evaluation scored: the same accuracy up to
     * one prediction, or an mse within 1%. They are the same network on the same rows, so anything else is a fault.
     */
    public boolean servedAgrees() {
        if (served.isEmpty() || stream.isEmpty()) {
            return false;
        }
        if (sample.labelKind() == Sample.LabelKind.REGRESSION) {
            return Math.abs(served.get("mse") - stream.get("mse")) <= 0.01 * stream.get("mse");
        }
        return Math.abs(served.get("accuracy") - stream.get("accuracy")) <= 1.5 / testRows;
    }

    /** Prints the report as a few aligned lines. */
    public void print(PrintStream out) {
        out.printf("%s: %s%n", sample.id(), sample.description());
        out.printf(
                "  %d rows (train %d, test %d), %d epochs, batch %d%n", rows, trainRows, testRows, epochs, batchSize);
        out.printf(
                "  %-38s %s  (%.1f s)%s%n",
                "from the stream (deployment " + deploymentId + "):",
                format(stream),
                streamMillis / 1000.0,
                status == DeploymentStatus.FINISHED ? "" : "  " + status + ": " + error);
        out.printf(
                "  %-38s %s%s%n",
                "served (" + predictions + "/" + testRows + " predictions):",
                format(served),
                served.isEmpty() || servedAgrees() ? "" : "  DISAGREES with the deployment's test metrics");
        out.printf(
                "  %-38s %s  (%.1f s)%n", "plain DL4J from memory, same split:", format(memory), memoryMillis / 1000.0);
        out.printf(
                "  %-38s %s%n",
                sample.labelKind() == Sample.LabelKind.REGRESSION
                        ? "trivial (training mean):"
                        : "trivial (majority class):",
                format(trivial));
    }

    /** The metrics that all four sources report, in order. */
    private String format(Map<String, Double> metrics) {
        List<String> names = sample.labelKind() == Sample.LabelKind.REGRESSION
                ? List.of("mse", "mae", "r2")
                : List.of("accuracy", "f1");
        if (metrics.isEmpty()) {
            return "-";
        }
        return names.stream()
                .map(name -> String.format(Locale.ROOT, "%s %.4f", name, metrics.getOrDefault(name, Double.NaN)))
                .collect(Collectors.joining("  "));
    }
}
