package io.kafkaml.inference;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.inference.internals.InferenceCounters;
import io.kafkaml.metrics.InferenceMetrics;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** In this package to drive {@link InferenceStats}' counters as a replica does. */
class InferenceMetricsTest {

    @Test
    void theMetersReadTheStatsAtEachScrapeAndCloseRemovesThem() {
        InferenceCounters counters = new InferenceCounters();
        InferenceStats stats = new InferenceStats(counters);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        InferenceMetrics metrics =
                InferenceMetrics.of(stats, Tags.of("deployment", "d", "instance", "i", "result", "r"));
        metrics.bindTo(registry);
        assertThat(registry.get("kafkaml.inference.batch.latency.percentile")
                        .tag("percentile", "50")
                        .gauge()
                        .value())
                .isNaN();

        counters.recordsIn.add(10);
        counters.recordsOut.add(7);
        counters.deadLettered.add(2);
        counters.dropped.add(1);
        counters.batches.add(2);
        counters.recordLatency(TimeUnit.MILLISECONDS.toNanos(3));
        counters.recordLatency(TimeUnit.MILLISECONDS.toNanos(5));

        assertThat(registry.get("kafkaml.inference.records.in")
                        .tag("deployment", "d")
                        .functionCounter()
                        .count())
                .isEqualTo(stats.recordsIn());
        assertThat(registry.get("kafkaml.inference.records.out")
                        .functionCounter()
                        .count())
                .isEqualTo(7);
        assertThat(registry.get("kafkaml.inference.records.dead.lettered")
                        .functionCounter()
                        .count())
                .isEqualTo(2);
        assertThat(registry.get("kafkaml.inference.records.dropped")
                        .functionCounter()
                        .count())
                .isEqualTo(1);
        assertThat(registry.get("kafkaml.inference.batches").functionCounter().count())
                .isEqualTo(2);
        var timer = registry.get("kafkaml.inference.batch.latency").functionTimer();
        assertThat(timer.count()).isEqualTo(2);
        assertThat(timer.totalTime(TimeUnit.MILLISECONDS)).isEqualTo(8);
        assertThat(registry.get("kafkaml.inference.batch.latency.percentile")
                        .tag("percentile", "100")
                        .gauge()
                        .value())
                .isEqualTo(stats.batchLatencyMillis(100) / 1e3);

        metrics.close();
        assertThat(registry.find("kafkaml.inference.records.in").meters()).isEmpty();
        assertThat(registry.getMeters()).isEmpty();
        metrics.close(); // idempotent
    }
}
