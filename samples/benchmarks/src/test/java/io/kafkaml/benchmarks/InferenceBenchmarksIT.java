package io.kafkaml.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The inference benchmarks' contract (tiny sizes), apart from {@link BenchmarksIT} because it is the longest: the two
 * classes run in parallel JVMs.
 */
@ExtendWith(EmbeddedKafkaExtension.class)
class InferenceBenchmarksIT {

    @Test
    void inferenceBenchmarksPrintLatencyPercentilesAndThroughputAgainstBothBaselines(EmbeddedKafkaBroker kafka)
            throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Benchmarks.run(
                new String[] {
                    "inference-latency",
                    "--bootstrap-servers",
                    kafka.bootstrapServers(),
                    "--seconds",
                    "2",
                    "--rate",
                    "50"
                },
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(status).as(err.toString(StandardCharsets.UTF_8)).isZero();
        JsonNode latency = mapper.readTree(
                out.toString(StandardCharsets.UTF_8).lines().toList().get(0));
        assertThat(latency.fieldNames())
                .toIterable()
                .containsAll(BenchmarksIT.CONTRACT)
                .contains("p50Millis", "p95Millis", "p99Millis");
        assertThat(latency.get("records").asLong()).isEqualTo(100);
        assertThat(latency.get("p99Millis").asDouble())
                .isGreaterThanOrEqualTo(latency.get("p50Millis").asDouble());

        out.reset();
        status = Benchmarks.run(
                new String[] {
                    "inference-throughput", "--bootstrap-servers", kafka.bootstrapServers(), "--records", "3000"
                },
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(status).as(err.toString(StandardCharsets.UTF_8)).isZero();
        List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
        assertThat(lines).hasSize(2);
        // 3,000 inputs are drained within a poll or two: timed from the outputs' timestamps, never a division by 0
        for (String line : lines) {
            assertThat(mapper.readTree(line).get("recordsPerSecond").asDouble())
                    .isPositive()
                    .isFinite();
            assertThat(mapper.readTree(line).get("baselineRecordsPerSecond").asDouble())
                    .isPositive()
                    .isFinite();
        }
        assertThat(mapper.readTree(lines.get(0)).get("baseline").asText()).contains("passthrough");
        assertThat(mapper.readTree(lines.get(1)).get("baseline").asText()).contains("Kafka-ML");
    }

    /**
     * {@code --separate-process true}: the in-process lines, then {@code kafkaml infer} as a child JVM
     * ({@code java -jar kafkaml-cli/target/kafkaml.jar infer}) against a passthrough and the batched loop in child JVMs
     * of their own, each with its time from process start to first output; {@code --exactly-once true} adds
     * exactly-once against at-least-once, in process and as child processes.
     */
    @Test
    void throughputAsSeparateProcessesReportsTimeToFirstOutputAndExactlyOnceAgainstAtLeastOnce(
            EmbeddedKafkaBroker kafka) throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Benchmarks.run(
                new String[] {
                    "inference-throughput",
                    "--bootstrap-servers",
                    kafka.bootstrapServers(),
                    "--records",
                    "3000",
                    "--separate-process",
                    "true",
                    "--exactly-once",
                    "true"
                },
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(status).as(err.toString(StandardCharsets.UTF_8)).isZero();
        List<JsonNode> lines = out.toString(StandardCharsets.UTF_8)
                .lines()
                .map(line -> {
                    try {
                        return mapper.readTree(line);
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                })
                .toList();
        assertThat(lines).hasSize(6);
        assertThat(lines.subList(0, 3))
                .allSatisfy(line -> assertThat(line.get("mode").asText()).isEqualTo("in-process"));
        assertThat(lines.get(2).get("guarantee").asText()).isEqualTo("exactly-once");
        assertThat(lines.subList(3, 6)).allSatisfy(line -> {
            assertThat(line.get("mode").asText()).isEqualTo("separate-process");
            assertThat(line.get("baseline").asText()).contains("own JVM");
            assertThat(line.get("firstOutputSeconds").asDouble()).isPositive();
            assertThat(line.get("baselineFirstOutputSeconds").asDouble()).isPositive();
            assertThat(line.get("recordsPerSecond").asDouble()).isPositive();
        });
        assertThat(lines.get(3).get("baseline").asText()).contains("passthrough");
        assertThat(lines.get(4).get("baseline").asText()).contains("batched");
        assertThat(lines.get(5).get("guarantee").asText()).isEqualTo("exactly-once");
    }

    /**
     * {@code first-prediction}, one round on a backlog of 20 inputs: {@code kafkaml infer} as a child JVM and a
     * passthrough JVM, each timed from its start to its first output; one line with the round's seconds of both.
     */
    @Test
    void firstPredictionTimesInferAndAPassthroughFromProcessStartToFirstOutput(EmbeddedKafkaBroker kafka)
            throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Benchmarks.run(
                new String[] {
                    "first-prediction",
                    "--bootstrap-servers",
                    kafka.bootstrapServers(),
                    "--rounds",
                    "1",
                    "--records",
                    "20"
                },
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(status).as(err.toString(StandardCharsets.UTF_8)).isZero();
        List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
        assertThat(lines).hasSize(1);
        JsonNode line = mapper.readTree(lines.get(0));
        assertThat(line.fieldNames())
                .toIterable()
                .containsAll(BenchmarksIT.CONTRACT)
                .contains("firstPredictionSeconds", "baselineFirstOutputSeconds", "goalSeconds");
        assertThat(line.get("variant").asText()).isEqualTo("kafkaml infer");
        // the embedded test broker's setting, read from the broker: a part of the time that is the broker's
        assertThat(line.get("brokerGroupInitialRebalanceDelayMs").asLong()).isZero();
        assertThat(line.get("firstPredictionSeconds")).hasSize(1);
        assertThat(line.get("firstPredictionSeconds").get(0).asDouble()).isPositive();
        assertThat(line.get("baselineFirstOutputSeconds")).hasSize(1);
        assertThat(line.get("baselineFirstOutputSeconds").get(0).asDouble()).isPositive();
        // the median of one round: that round (within the histogram's precision)
        assertThat(line.get("seconds").asDouble())
                .isCloseTo(
                        line.get("firstPredictionSeconds").get(0).asDouble(),
                        org.assertj.core.data.Percentage.withPercentage(1));
    }

    /**
     * {@code swap-latency} at a tiny size: two promotions while 4,000 inputs flow at 2,000/s to two replicas following
     * the promoted version; a line per swap with the time from the promotion to the first prediction by the new
     * version and the window's throughput against the run's steady state, and the count check (nothing missing).
     */
    @Test
    void swapLatencyPrintsPerSwapTheTimeToTheNewVersionAndTheThroughputAgainstTheSteadyState(EmbeddedKafkaBroker kafka)
            throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Benchmarks.run(
                new String[] {
                    "swap-latency",
                    "--bootstrap-servers",
                    kafka.bootstrapServers(),
                    "--records",
                    "4000",
                    "--rate",
                    "2000",
                    "--swaps",
                    "2",
                    "--window-ms",
                    "200",
                    "--warmup-ms",
                    "500"
                },
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(status).as(err.toString(StandardCharsets.UTF_8)).isZero();
        List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
        assertThat(lines).hasSize(2);
        for (int swap = 1; swap <= 2; swap++) {
            JsonNode line = mapper.readTree(lines.get(swap - 1));
            assertThat(line.fieldNames())
                    .toIterable()
                    .containsAll(BenchmarksIT.CONTRACT)
                    .contains("promotionToFirstPredictionMillis", "maxOutputGapMillis", "steadyP99LatencyMillis");
            assertThat(line.get("benchmark").asText()).isEqualTo("swap-latency");
            assertThat(line.get("swap").asInt()).isEqualTo(swap);
            assertThat(line.get("toVersion").asInt())
                    .isEqualTo(line.get("fromVersion").asInt() + 1);
            assertThat(line.get("promotionToFirstPredictionMillis").asDouble()).isPositive();
            assertThat(line.get("ratio").asDouble()).isPositive();
            assertThat(line.get("baselineRecordsPerSecond").asDouble()).isPositive();
            assertThat(line.get("inputs").asInt()).isGreaterThanOrEqualTo(4000);
            assertThat(line.get("missing").asInt()).isZero();
            assertThat(line.get("versionWentBack").asInt()).isZero();
            assertThat(line.get("outputs").asInt())
                    .isGreaterThanOrEqualTo(line.get("inputs").asInt());
        }
    }
}
