package io.kafkaml.registry;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

class InferenceTest {

    static final Instant T = Instant.parse("2026-11-30T12:00:00Z");

    static Inference owned(String owner, long generation, String status) {
        return new Inference(
                "serve", "7.m", "in", "out", 2, status, null, Map.of(), T, T, 0, T, 900, owner, generation, null);
    }

    @Test
    void onlyTheOwnerWritesItsGenerationAndOnlyTheFirstTakeoverOfTheNextOneWins() {
        Inference running = owned("a/1", 4, "RUNNING");
        assertThat(Inference.allowedUpdate(running, running.heartbeat(T.plusSeconds(1), java.time.Duration.ZERO)))
                .isTrue();
        assertThat(Inference.allowedUpdate(running, owned("b/2", 4, "RUNNING")))
                .as("another owner, same generation")
                .isFalse();
        assertThat(Inference.allowedUpdate(running, owned("b/2", 5, "RUNNING")))
                .as("a takeover")
                .isTrue();
        assertThat(Inference.allowedUpdate(owned("b/2", 5, "RUNNING"), owned("c/3", 5, "RUNNING")))
                .as("a second takeover of the same generation loses")
                .isFalse();
        assertThat(Inference.allowedUpdate(owned("b/2", 5, "RUNNING"), running.with("STOPPED", 0, null)))
                .as("the old owner's late STOPPED")
                .isFalse();
        assertThat(Inference.allowedUpdate(running, owned("b/2", 7, "RUNNING")))
                .as("a skipped generation")
                .isFalse();
    }

    @Test
    void stoppedAndFailedAreFinalForTheirGenerationAndAHeartbeatNeverRevivesThem() {
        Inference failed = owned("a/1", 4, "FAILED");
        assertThat(Inference.allowedUpdate(
                        failed,
                        owned("a/1", 4, "RUNNING").heartbeat(T.plusSeconds(5), java.time.Duration.ofSeconds(1))))
                .isFalse();
        assertThat(Inference.allowedUpdate(owned("a/1", 4, "STOPPED"), failed)).isFalse();
        assertThat(Inference.allowedUpdate(failed, owned("b/2", 5, "RUNNING")))
                .as("a new start")
                .isTrue();
    }

    @Test
    void recordsWrittenBeforeOwnershipReadAsGenerationZeroWithoutOwnerAndAreTakenOverByGenerationOne()
            throws Exception {
        ObjectMapper json = new ObjectMapper()
                .registerModule(new JavaTimeModule())
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
        Inference old = json.readValue(
                "{\"id\":\"serve\",\"resultId\":\"7.m\",\"inputTopic\":\"in\","
                        + "\"outputTopic\":\"out\",\"replicas\":1,\"status\":\"RUNNING\",\"settings\":{},"
                        + "\"createdAt\":\"2026-01-01T00:00:00Z\",\"updatedAt\":\"2026-01-01T00:00:00Z\"}",
                Inference.class);
        assertThat(old.owner()).isNull();
        assertThat(old.generation()).isZero();
        assertThat(old.supervisedBy()).isNull();
        assertThat(old.groupId()).isEqualTo("kafkaml-inference-serve");
        assertThat(Inference.allowedUpdate(old, owned("a/1", 1, "RUNNING"))).isTrue();
        assertThat(old.liveStatus(false)).isEqualTo(Inference.STALE);
        assertThat(old.with("STOPPED", 0, null).liveStatus(false)).isEqualTo("STOPPED");
    }
}
