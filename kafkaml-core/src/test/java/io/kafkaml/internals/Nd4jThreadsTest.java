package io.kafkaml.internals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.config.KafkaMlConfig;
import java.util.Map;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

class Nd4jThreadsTest {

    @Test
    void withoutOmpNumThreadsTheAvailableProcessorsAreUsed() {
        assertThat(Nd4jThreads.threads(Map.of(), null, 2)).isEqualTo(2);
        assertThat(Nd4jThreads.threads(Map.of(), "", 6)).isEqualTo(6);
    }

    @Test
    void theSettingWinsOverTheProcessorsAndANegativeOneLeavesNd4jsChoice() {
        assertThat(Nd4jThreads.threads(Map.of(KafkaMlConfig.ND4J_THREADS_CONFIG, "3"), null, 8))
                .isEqualTo(3);
        assertThat(Nd4jThreads.threads(Map.of(KafkaMlConfig.ND4J_THREADS_CONFIG, -1), null, 8))
                .isZero();
    }

    @Test
    void ompNumThreadsSetByTheUserIsLeftToNd4j() {
        assertThat(Nd4jThreads.threads(Map.of(KafkaMlConfig.ND4J_THREADS_CONFIG, "3"), "1", 8))
                .isZero();
    }

    @Test
    void aSettingThatIsNotANumberIsRefusedNamingTheKey() {
        assertThatThrownBy(() -> Nd4jThreads.threads(Map.of(KafkaMlConfig.ND4J_THREADS_CONFIG, "many"), null, 2))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(KafkaMlConfig.ND4J_THREADS_CONFIG);
    }
}
