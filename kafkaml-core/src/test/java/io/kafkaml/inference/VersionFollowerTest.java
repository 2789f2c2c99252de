package io.kafkaml.inference;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.registry.Registry;
import io.kafkaml.testing.InMemoryKafka;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The registry listener of a deployment that follows a result's versions lives as long as the deployment. */
class VersionFollowerTest {

    @Test
    void followersStartedAndStoppedInTurnOnOneRegistryLeaveNoListenerBehind() {
        InMemoryKafka kafka = new InMemoryKafka();
        try (Registry registry = Registry.connect(
                Map.of("bootstrap.servers", "in-memory:9092"), "unit", Duration.ofSeconds(10), kafka)) {
            int base = registry.listenerCount();
            InferenceSpec spec = InferenceSpec.builder("7.mlp", "in", "out")
                    .followPromoted(true)
                    .build();
            for (int i = 0; i < 50; i++) {
                VersionFollower follower = new VersionFollower(registry, spec, 1_000, "follow-" + i, List::of);
                follower.start();
                assertThat(registry.listenerCount()).isEqualTo(base + 1);
                follower.close();
                follower.close(); // idempotent
            }
            assertThat(registry.listenerCount()).isEqualTo(base);
        }
    }
}
