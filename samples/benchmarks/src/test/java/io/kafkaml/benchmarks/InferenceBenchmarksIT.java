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
        assertThat(mapper.readTree(lines.get(0)).get("baseline").asText()).contains("passthrough");
        assertThat(mapper.readTree(lines.get(1)).get("baseline").asText()).contains("Kafka-ML");
    }
}
