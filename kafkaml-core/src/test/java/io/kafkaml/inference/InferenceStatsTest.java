package io.kafkaml.inference;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.inference.internals.InferenceCounters;
import org.junit.jupiter.api.Test;

class InferenceStatsTest {

    @Test
    void beforeTheFirstBatchItSaysSoInsteadOfNaN() {
        InferenceCounters counters = new InferenceCounters();
        InferenceStats stats = new InferenceStats(counters);
        counters.dropped.add(2);
        assertThat(stats.toString())
                .isEqualTo("in 0, out 0, dead-lettered 0, dropped 2, batches 0, no batches")
                .doesNotContain("NaN");
    }

    @Test
    void afterBatchesItPrintsTheirPercentiles() {
        InferenceCounters counters = new InferenceCounters();
        InferenceStats stats = new InferenceStats(counters);
        counters.batches.increment();
        counters.recordLatency(2_500_000);
        assertThat(stats.toString()).endsWith("batches 1, batch p50 2.50 ms, p99 2.50 ms");
    }
}
