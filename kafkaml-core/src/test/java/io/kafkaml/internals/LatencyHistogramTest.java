package io.kafkaml.internals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class LatencyHistogramTest {

    @Test
    void percentilesAreNearestRankWithinThreeSignificantDigits() {
        LatencyHistogram histogram = new LatencyHistogram();
        assertThat(histogram.percentileMillis(50)).isNaN();
        for (int i = 1; i <= 1000; i++) {
            histogram.recordMillis(i); // 1 ms .. 1000 ms
        }
        assertThat(histogram.count()).isEqualTo(1000);
        assertThat(histogram.percentileMillis(50)).isCloseTo(500, within(0.5));
        assertThat(histogram.percentileMillis(99)).isCloseTo(990, within(1.0));
        assertThat(histogram.percentileMillis(100)).isCloseTo(1000, within(1.0));
        histogram.recordNanos(-5); // a clock step back counts as 0, not an error
        assertThat(histogram.percentileMillis(0)).isZero();
        assertThatThrownBy(() -> histogram.percentileMillis(101)).isInstanceOf(IllegalArgumentException.class);
    }
}
