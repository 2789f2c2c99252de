package io.kafkaml.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The benchmark jar's contract: one JSON object per line with the documented fields. Tiny sizes. */
@ExtendWith(EmbeddedKafkaExtension.class)
class BenchmarksIT {

    static final List<String> CONTRACT = List.of(
            "benchmark", "records", "seconds", "recordsPerSecond", "baseline", "baselineRecordsPerSecond", "ratio");

    @Test
    void streamReadPrintsOneJsonObjectPerLine(EmbeddedKafkaBroker kafka) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Benchmarks.run(
                new String[] {
                    "stream-read",
                    "--bootstrap-servers",
                    kafka.bootstrapServers(),
                    "--records",
                    "3000",
                    "--rounds",
                    "1",
                    "--warmup",
                    "0"
                },
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(status).as(err.toString(StandardCharsets.UTF_8)).isZero();
        List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
        assertThat(lines).hasSize(2);
        ObjectMapper mapper = new ObjectMapper();
        for (String line : lines) {
            JsonNode json = mapper.readTree(line);
            assertThat(json.fieldNames()).toIterable().containsAll(CONTRACT);
            assertThat(json.get("benchmark").asText()).isEqualTo("stream-read");
            assertThat(json.get("records").asLong()).isEqualTo(3000);
            double ratio = json.get("recordsPerSecond").asDouble()
                    / json.get("baselineRecordsPerSecond").asDouble();
            assertThat(json.get("ratio").asDouble())
                    .isCloseTo(ratio, org.assertj.core.data.Offset.offset(0.01 * ratio));
        }
    }

    @Test
    void settingsComeFromTheConfigFileAsTheCliReadsThem(EmbeddedKafkaBroker kafka, @TempDir Path dir) throws Exception {
        Path file = dir.resolve("client.properties");
        Files.writeString(
                file,
                "bootstrap.servers=" + kafka.bootstrapServers() + "\nconsumer.max.poll.records=100\n"
                        + "kafkaml.max.record.bytes=4096\n");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        java.util.Set<String> before = kafka.admin().listTopics().names().get(30, TimeUnit.SECONDS);
        // no --bootstrap-servers: the file's broker is used, not an embedded one
        int status = Benchmarks.run(
                new String[] {
                    "stream-read", "--config", file.toString(), "--records", "1000", "--rounds", "1", "--warmup", "0"
                },
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(status).as(err.toString(StandardCharsets.UTF_8)).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8).lines()).hasSize(2);
        java.util.Set<String> after =
                new java.util.HashSet<>(kafka.admin().listTopics().names().get(30, TimeUnit.SECONDS));
        after.removeAll(before);
        assertThat(after).as("the benchmark's topic is on the file's broker").isNotEmpty();

        ByteArrayOutputStream missingErr = new ByteArrayOutputStream();
        assertThat(Benchmarks.run(
                        new String[] {
                            "stream-read",
                            "--config",
                            dir.resolve("absent.properties").toString()
                        },
                        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                        new PrintStream(missingErr, true, StandardCharsets.UTF_8)))
                .isEqualTo(2);
        assertThat(missingErr.toString(StandardCharsets.UTF_8)).startsWith("Cannot read the settings file ");
    }

    @Test
    void fuzzRunsTheCasesAndFindsNoFailureKind(EmbeddedKafkaBroker kafka) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Benchmarks.run(
                new String[] {"fuzz", "--bootstrap-servers", kafka.bootstrapServers(), "--cases", "5000", "--seed", "7"
                },
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(status).as(err.toString(StandardCharsets.UTF_8)).isZero();
        JsonNode json = new ObjectMapper()
                .readTree(
                        out.toString(StandardCharsets.UTF_8).lines().findFirst().orElseThrow());
        assertThat(json.fieldNames()).toIterable().containsAll(CONTRACT).contains("slowestInput");
        assertThat(json.get("casesRun").asLong()).isEqualTo(5000);
        assertThat(json.get("failureKinds").asInt())
                .as(json.get("failures").toString())
                .isZero();
        assertThat(json.get("slowestMicros").asLong()).isNotNegative();
    }

    @Test
    void rawDecodePrintsOneJsonObjectWithMegabytesPerSecond(EmbeddedKafkaBroker kafka) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Benchmarks.run(
                new String[] {
                    "raw-decode",
                    "--bootstrap-servers",
                    kafka.bootstrapServers(),
                    "--records",
                    "2000",
                    "--features",
                    "16",
                    "--batch",
                    "32",
                    "--rounds",
                    "1",
                    "--warmup",
                    "0"
                },
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(status).as(err.toString(StandardCharsets.UTF_8)).isZero();
        List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
        assertThat(lines).hasSize(1);
        JsonNode json = new ObjectMapper().readTree(lines.get(0));
        assertThat(json.fieldNames()).toIterable().containsAll(CONTRACT).contains("megabytesPerSecond");
        assertThat(json.get("benchmark").asText()).isEqualTo("raw-decode");
        assertThat(json.get("records").asLong()).isEqualTo(2000);
        assertThat(json.get("ratio").asDouble()).isPositive();
    }

    @Test
    void trainOverheadPrintsTheTimeRatioAndTheSharedReadLine(EmbeddedKafkaBroker kafka) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Benchmarks.run(
                new String[] {
                    "train-overhead",
                    "--bootstrap-servers",
                    kafka.bootstrapServers(),
                    "--epochs",
                    "3",
                    "--rounds",
                    "1",
                    "--shared-epochs",
                    "2"
                },
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(status).as(err.toString(StandardCharsets.UTF_8)).isZero();
        List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
        assertThat(lines).hasSize(2);
        ObjectMapper mapper = new ObjectMapper();
        JsonNode overhead = mapper.readTree(lines.get(0));
        assertThat(overhead.fieldNames()).toIterable().containsAll(CONTRACT);
        assertThat(overhead.get("benchmark").asText()).isEqualTo("train-overhead");
        assertThat(overhead.get("ratioDefinition").asText()).isEqualTo("seconds / baselineSeconds");
        assertThat(overhead.get("ratio").asDouble()).isPositive();
        JsonNode shared = mapper.readTree(lines.get(1));
        assertThat(shared.get("benchmark").asText()).isEqualTo("train-overhead-shared-read");
        // the broker runs in this JVM: what it served from the data topic, one read per epoch against three
        assertThat(shared.get("kafkaBytesFetched").asLong()).isPositive();
        assertThat(shared.get("kafkaBytesRatio").asDouble())
                .isCloseTo(1 / 3.0, org.assertj.core.data.Offset.offset(0.02));
    }

    /**
     * {@code stream-memory}: a {@code kafkaml train} child JVM with a small heap trains on the stream to FINISHED;
     * its heap peaks come from its GC log and its peak RSS from {@code /proc}.
     */
    @Test
    void streamMemoryTrainsInAChildJvmWithASmallHeapAndReportsItsMemory(EmbeddedKafkaBroker kafka) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Benchmarks.run(
                new String[] {
                    "stream-memory",
                    "--bootstrap-servers",
                    kafka.bootstrapServers(),
                    "--megabytes",
                    "4",
                    "--features",
                    "64",
                    "--xmx",
                    "96m"
                },
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(status).as(err.toString(StandardCharsets.UTF_8)).isZero();
        JsonNode json = new ObjectMapper()
                .readTree(out.toString(StandardCharsets.UTF_8).lines().toList().get(0));
        assertThat(json.fieldNames()).toIterable().containsAll(CONTRACT);
        assertThat(json.get("status").asText()).isEqualTo("FINISHED");
        assertThat(json.get("records").asLong()).isEqualTo(4_000_000 / (64 * 4 + 1));
        assertThat(json.get("peakHeapCommittedBytes").asLong()).isPositive().isLessThanOrEqualTo(96L << 20);
        if (Files.exists(Path.of("/proc/self/status"))) {
            assertThat(json.get("peakRssBytes").asLong())
                    .isGreaterThan(json.get("peakHeapAfterGcBytes").asLong());
        }
    }

    @Test
    void unknownBenchmarksAndBadOptionsExitWithStatusTwo() throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream errStream = new PrintStream(err, true, StandardCharsets.UTF_8);
        PrintStream outStream = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        assertThat(Benchmarks.run(new String[] {"no-such"}, outStream, errStream))
                .isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8))
                .contains("Unknown benchmark 'no-such'")
                .contains("stream-read");
        assertThat(Benchmarks.run(new String[] {"stream-read", "--records"}, outStream, errStream))
                .isEqualTo(2);
    }
}
