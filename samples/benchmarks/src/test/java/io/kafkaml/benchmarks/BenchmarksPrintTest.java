package io.kafkaml.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The suite prints every result, and exits 1 when one of them broke its guarantee ({@code "valid": false}). */
class BenchmarksPrintTest {

    @Test
    void aResultThatIsNotValidIsPrintedAndMakesTheStatusOne() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        BenchmarkResult valid = BenchmarkResult.of("b", 10, 1.0, "x", 2.0, Map.of("valid", true));
        BenchmarkResult broken = BenchmarkResult.of("b", 10, 1.0, "x", 2.0, Map.of("valid", false, "missing", 3));
        int status = Benchmarks.print(
                List.of(valid, broken),
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(status).isEqualTo(1);
        assertThat(out.toString(StandardCharsets.UTF_8).lines()).hasSize(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("INVALID: b").contains("missing=3");
        assertThat(Benchmarks.print(
                        List.of(valid),
                        new PrintStream(out, true, StandardCharsets.UTF_8),
                        new PrintStream(err, true, StandardCharsets.UTF_8)))
                .isZero();
    }
}
