package io.kafkaml.inference.internals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class PollChunksTest {

    static final long INTERVAL = TimeUnit.SECONDS.toNanos(16);
    static final long SLOW = INTERVAL / 4 + 1;
    static final long FAST = INTERVAL / 16 - 1;
    static final long MIDDLE = INTERVAL / 8;

    @Test
    void slowChunksHalveTheSizeDownToOne() {
        PollChunks chunks = new PollChunks(500, INTERVAL);
        assertThat(chunks.size()).isEqualTo(500);
        assertThat(chunks.took(500, SLOW)).isEqualTo(-1);
        assertThat(chunks.size()).isEqualTo(250);
        for (int i = 0; i < 20; i++) {
            chunks.took(chunks.size(), SLOW);
        }
        assertThat(chunks.size()).isEqualTo(1);
        assertThat(chunks.took(1, SLOW)).as("never below one").isZero();
    }

    @Test
    void fastFullChunksGrowItBackToTheBatchSizeAndNoFurther() {
        PollChunks chunks = new PollChunks(500, INTERVAL);
        for (int i = 0; i < 5; i++) {
            chunks.took(chunks.size(), SLOW);
        }
        assertThat(chunks.size()).isEqualTo(15);
        assertThat(chunks.took(15, FAST)).isEqualTo(1);
        assertThat(chunks.size()).isEqualTo(30);
        for (int i = 0; i < 10; i++) {
            chunks.took(chunks.size(), FAST);
        }
        assertThat(chunks.size()).isEqualTo(500);
        assertThat(chunks.took(500, FAST)).as("never above the batch size").isZero();
    }

    @Test
    void aShortChunkOrOneInTheMiddleBandChangesNothing() {
        PollChunks chunks = new PollChunks(64, INTERVAL);
        chunks.took(64, SLOW);
        assertThat(chunks.size()).isEqualTo(32);
        assertThat(chunks.took(5, FAST))
                .as("a chunk shorter than the size (the poll's end) tells little")
                .isZero();
        assertThat(chunks.took(32, MIDDLE))
                .as("between a sixteenth and a quarter: keep")
                .isZero();
        assertThat(chunks.size()).isEqualTo(32);
    }

    @Test
    void theRestOfAPollIsPolledAgainAfterHalfTheInterval() {
        PollChunks chunks = new PollChunks(10, INTERVAL);
        assertThat(chunks.overdue(INTERVAL / 2)).isFalse();
        assertThat(chunks.overdue(INTERVAL / 2 + 1)).isTrue();
    }

    @Test
    void badArgumentsAreRefused() {
        assertThatThrownBy(() -> new PollChunks(0, INTERVAL)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new PollChunks(1, 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
