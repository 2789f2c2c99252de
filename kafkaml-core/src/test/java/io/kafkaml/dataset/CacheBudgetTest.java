package io.kafkaml.dataset;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The stream cache's budget counts every copy it makes and never exceeds half the heap. */
class CacheBudgetTest {

    @Test
    void everyCopyOfARowIsCounted() {
        // 784 features + 10 one-hot labels as float32 (3,176 B), a bad-record mark (1 B), two split indexes (8 B),
        // the normalizer's float32 copy of the features (3,136 B) and the batches built once for every epoch (the rows
        // again off-heap, 3,176 B, and each batch's objects: 1,000 rows in 32 batches of 32)
        assertThat(StreamDataSets.cacheBytes(1_000, 784, 10, 32))
                .isEqualTo(1_000L * (3_176 + 1 + 8 + 3_136 + 3_176) + 32 * StreamDataSets.BATCH_OVERHEAD_BYTES);
    }

    @Test
    void theBudgetInForceIsAtMostHalfTheHeap() {
        long mib = 1L << 20;
        assertThat(StreamDataSets.effectiveCacheBudget(256 * mib, 64 * mib)).isEqualTo(32 * mib);
        assertThat(StreamDataSets.effectiveCacheBudget(256 * mib, 4096 * mib)).isEqualTo(256 * mib);
        assertThat(StreamDataSets.effectiveCacheBudget(0, 4096 * mib)).isZero();
        assertThat(StreamDataSets.effectiveCacheBudget(256 * mib, Long.MAX_VALUE))
                .isEqualTo(256 * mib);
    }

    @Test
    void allCachesOfTheJvmTogetherStayWithinHalfTheHeap() {
        long heap = 100L << 20;
        long before = StreamDataSets.CACHE_RESERVED.get();
        long room = heap / 2 - before;
        // (other tests of this JVM may hold a reservation: measured from what is free)
        assertThat(StreamDataSets.reserve(room / 2 + 1, heap)).isTrue();
        try {
            assertThat(StreamDataSets.reserve(room / 2 + 1, heap))
                    .as("a second cache that fits its own budget but not beside the first")
                    .isFalse();
            assertThat(StreamDataSets.reserve(room / 2 - 1, heap)).isTrue();
            StreamDataSets.release(room / 2 - 1);
        } finally {
            StreamDataSets.release(room / 2 + 1);
        }
        assertThat(StreamDataSets.CACHE_RESERVED.get()).isEqualTo(before);
        assertThat(StreamDataSets.reserve(1, Long.MAX_VALUE)).isTrue();
        StreamDataSets.release(1);
    }

    @Test
    void aStreamFourTimesTheHeapIsNotCachedWithTheDefaultBudget() {
        long heap = 64L << 20;
        long records = 4 * heap / (784 * 4 + 1);
        assertThat(StreamDataSets.cacheBytes(records, 784, 10, 128))
                .isGreaterThan(StreamDataSets.effectiveCacheBudget(256L << 20, heap));
    }
}
