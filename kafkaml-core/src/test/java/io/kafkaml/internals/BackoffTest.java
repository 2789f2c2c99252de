package io.kafkaml.internals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class BackoffTest {

    @Test
    void doublesFromTheFirstWaitUpToTheLongest() {
        Backoff backoff = new Backoff(Duration.ofMillis(100), Duration.ofMillis(700), 0);
        assertThat(backoff.delay(1)).isEqualTo(Duration.ofMillis(100));
        assertThat(backoff.delay(2)).isEqualTo(Duration.ofMillis(200));
        assertThat(backoff.delay(3)).isEqualTo(Duration.ofMillis(400));
        assertThat(backoff.delay(4)).isEqualTo(Duration.ofMillis(700));
        assertThat(backoff.delay(1000)).isEqualTo(Duration.ofMillis(700));
        assertThat(new Backoff(Duration.ZERO, Duration.ZERO, 0).delay(5)).isZero();
    }

    @Test
    void jitterStaysWithinItsShareAndTheLongestWait() {
        Backoff backoff = new Backoff(Duration.ofMillis(1000), Duration.ofMillis(1500), 0.2);
        for (int i = 0; i < 200; i++) {
            assertThat(backoff.delay(1)).isBetween(Duration.ofMillis(800), Duration.ofMillis(1200));
            assertThat(backoff.delay(2)).isBetween(Duration.ofMillis(1200), Duration.ofMillis(1500));
        }
    }

    @Test
    void badArgumentsAreRefused() {
        assertThatThrownBy(() -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1), 0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(1), 1.0))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
