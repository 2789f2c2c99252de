package io.kafkaml.benchmarks;

import com.fasterxml.jackson.annotation.JsonAnyGetter;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One measurement: ours against a baseline measured in the same run. Printed as one JSON line; the field
 * names are a contract with scripts that read them.
 *
 * @param benchmark the benchmark's name
 * @param records records processed per measured round
 * @param seconds our median seconds per round
 * @param recordsPerSecond {@code records / seconds}
 * @param baseline what we are compared with
 * @param baselineSeconds the baseline's median seconds per round
 * @param baselineRecordsPerSecond {@code records / baselineSeconds}
 * @param ratio {@code recordsPerSecond / baselineRecordsPerSecond}
 * @param extra further numbers (MB/s, rounds, percentiles), written after the fixed fields
 */
@JsonPropertyOrder({
    "benchmark",
    "records",
    "seconds",
    "recordsPerSecond",
    "baseline",
    "baselineSeconds",
    "baselineRecordsPerSecond",
    "ratio"
})
public record BenchmarkResult(
        String benchmark,
        long records,
        double seconds,
        double recordsPerSecond,
        String baseline,
        double baselineSeconds,
        double baselineRecordsPerSecond,
        double ratio,
        @com.fasterxml.jackson.annotation.JsonIgnore Map<String, Object> extra) {

    /** A result from median round times of ours and the baseline over the same number of records. */
    public static BenchmarkResult of(
            String benchmark,
            long records,
            double seconds,
            String baseline,
            double baselineSeconds,
            Map<String, Object> extra) {
        double ours = records / seconds;
        double theirs = records / baselineSeconds;
        return new BenchmarkResult(
                benchmark,
                records,
                round(seconds),
                round(ours),
                baseline,
                round(baselineSeconds),
                round(theirs),
                round(ours / theirs),
                new LinkedHashMap<>(extra));
    }

    /**
     * A result whose {@code ratio} is a ratio of times, {@code seconds / baselineSeconds} (lower is better), for
     * benchmarks that the issue tracker defines that way; {@code ratioDefinition} says so in the JSON.
     */
    public static BenchmarkResult ofTimeRatio(
            String benchmark,
            long records,
            double seconds,
            String baseline,
            double baselineSeconds,
            Map<String, Object> extra) {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("ratioDefinition", "seconds / baselineSeconds");
        fields.putAll(extra);
        return new BenchmarkResult(
                benchmark,
                records,
                round(seconds),
                round(records / seconds),
                baseline,
                round(baselineSeconds),
                round(records / baselineSeconds),
                round(seconds / baselineSeconds),
                fields);
    }

    /** The same result with another ratio (for example the median of per-round ratios). */
    public BenchmarkResult withRatio(double newRatio) {
        return new BenchmarkResult(
                benchmark,
                records,
                seconds,
                recordsPerSecond,
                baseline,
                baselineSeconds,
                baselineRecordsPerSecond,
                round(newRatio),
                extra);
    }

    @JsonAnyGetter
    Map<String, Object> extraFields() {
        return extra;
    }

    static double round(double value) {
        return Math.round(value * 10_000) / 10_000.0;
    }
}
