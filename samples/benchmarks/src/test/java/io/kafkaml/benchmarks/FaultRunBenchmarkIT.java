package io.kafkaml.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code inference-faults} on a small backlog: its own {@code kafkaml broker} and two {@code kafkaml infer} child
 * processes (the jar {@code kafkaml-cli/target/kafkaml.jar}), the broker and one {@code infer} SIGKILLed; one line per
 * guarantee, the exactly-once drain exact.
 */
class FaultRunBenchmarkIT {

    @Test
    void theFaultRunPrintsOneLinePerGuaranteeAndExactlyOnceIsExact() throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Benchmarks.run(
                new String[] {"inference-faults", "--records", "5000", "--partitions", "4"},
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(status).as(err.toString(StandardCharsets.UTF_8)).isZero();
        List<JsonNode> lines = new ArrayList<>();
        for (String line : out.toString(StandardCharsets.UTF_8).lines().toList()) {
            lines.add(mapper.readTree(line));
        }
        assertThat(lines).hasSize(2);
        assertThat(lines).allSatisfy(line -> {
            assertThat(line.fieldNames())
                    .toIterable()
                    .containsAll(BenchmarksIT.CONTRACT)
                    .contains(
                            "guarantee",
                            "predictionsRead",
                            "duplicates",
                            "missing",
                            "valid",
                            "drains",
                            "exactlyOnceOverAtLeastOnce",
                            "secondsDefinition",
                            "faultsMidDrain");
            assertThat(line.get("records").asLong()).isEqualTo(5000);
            assertThat(line.get("recordsPerSecond").asDouble()).isPositive().isFinite();
            assertThat(line.get("missing").asLong()).isZero();
            assertThat(line.get("valid").asBoolean()).isTrue();
            assertThat(line.get("drains")).hasSize(1);
            assertThat(line.get("drains").get(0).get("brokerDownSeconds").asDouble())
                    .isPositive();
            // the drain ends when the outputs can be read too, never before the offsets are committed
            assertThat(line.get("drains").get(0).get("seconds").asDouble())
                    .isGreaterThanOrEqualTo(
                            line.get("drains").get(0).get("committedSeconds").asDouble());
        });
        assertThat(lines.get(0).get("guarantee").asText()).isEqualTo("at-least-once");
        JsonNode exactlyOnce = lines.get(1);
        assertThat(exactlyOnce.get("guarantee").asText()).isEqualTo("exactly-once");
        assertThat(exactlyOnce.get("exactlyOnceExact").asBoolean()).isTrue();
        assertThat(exactlyOnce.get("duplicates").asLong()).isZero();
        assertThat(exactlyOnce.get("predictionsRead").asLong()).isEqualTo(5000);
        assertThat(exactlyOnce.get("ratio").asDouble())
                .isEqualTo(exactlyOnce.get("exactlyOnceOverAtLeastOnce").asDouble())
                .isPositive();
    }
}
