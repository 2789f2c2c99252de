package io.kafkaml.registry;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class InferenceTest {

    static final Instant T = Instant.parse("2026-11-30T12:00:00Z");

    static Inference owned(String owner, long generation, String status) {
        return new Inference(
                "serve", "7.m", "in", "out", 2, status, null, Map.of(), T, T, 0, T, 900, owner, generation, null);
    }

    /** One record of the registry's log: a claim (append-only topic) or a state (compacted topic), by key. */
    record Logged(boolean claim, String key, Inference value) {}

    static Logged claim(Inference record) {
        return new Logged(true, InferenceHistory.key(record.id(), record.generation()), record);
    }

    static Logged state(Inference record) {
        return new Logged(false, InferenceHistory.key(record.id(), record.generation()), record);
    }

    /** What a reader derives from {@code log}: the first claim of each key, the last state of each key. */
    static java.util.Optional<Inference> replay(List<Logged> log) {
        java.util.NavigableMap<Long, Inference> claims = new java.util.TreeMap<>();
        Map<Long, Inference> states = new java.util.HashMap<>();
        for (Logged record : log) {
            long generation = InferenceHistory.generationOf(record.key());
            if (record.claim()) {
                claims.putIfAbsent(generation, record.value());
            } else {
                states.put(generation, record.value());
            }
        }
        return InferenceHistory.current(null, claims, states);
    }

    /** The log after compaction of the states topic: only the last record of each key survives, in log order. */
    static List<Logged> compacted(List<Logged> log) {
        Map<String, Integer> last = new java.util.HashMap<>();
        for (int i = 0; i < log.size(); i++) {
            if (!log.get(i).claim()) {
                last.put(log.get(i).key(), i);
            }
        }
        List<Logged> kept = new ArrayList<>();
        for (int i = 0; i < log.size(); i++) {
            if (log.get(i).claim() || last.get(log.get(i).key()) == i) {
                kept.add(log.get(i));
            }
        }
        return kept;
    }

    /**
     * The second review's case: A owns generation 1 and is paused; B takes over (generation 2, a second claimant C
     * loses), serves and stops; A resumes and writes a generation-1 heartbeat, the last record of the log. Whole log,
     * compacted log, and either topic read first: every reader sees B's STOPPED, and the next claim is generation 3.
     */
    @Test
    void aCompactedLogAndARefusedLastRecordGiveEveryReaderTheSameRecord() {
        Inference a = owned("a/1", 1, "RUNNING");
        Inference b = owned("b/2", 2, "RUNNING");
        List<Logged> log = List.of(
                claim(a),
                state(a.heartbeat(T.plusSeconds(1), Duration.ofSeconds(1))),
                claim(b),
                claim(owned("c/3", 2, "RUNNING")),
                state(b.heartbeat(T.plusSeconds(40), Duration.ofSeconds(1))),
                state(a.heartbeat(T.plusSeconds(41), Duration.ofSeconds(1))),
                state(b.with("STOPPED", 0, null)),
                state(a.heartbeat(T.plusSeconds(42), Duration.ofSeconds(1))));
        Inference expected = b.with("STOPPED", 0, null);
        assertThat(replay(log))
                .get()
                .usingRecursiveComparison()
                .ignoringFields("updatedAt")
                .isEqualTo(expected);
        List<Logged> compacted = compacted(log);
        assertThat(compacted).hasSize(5).last().isEqualTo(log.get(7));
        assertThat(replay(compacted)).isEqualTo(replay(log));
        List<Logged> statesFirst = new ArrayList<>(compacted);
        statesFirst.sort(java.util.Comparator.comparing(Logged::claim)); // another topic order
        assertThat(replay(statesFirst)).isEqualTo(replay(log));
        List<Logged> claimsOnly = compacted.stream().filter(Logged::claim).toList();
        assertThat(replay(claimsOnly).orElseThrow().owner())
                .as("before any state is read: the claim")
                .isEqualTo("b/2");
        java.util.NavigableMap<Long, Inference> claims = new java.util.TreeMap<>(Map.of(1L, a, 2L, b));
        assertThat(InferenceHistory.latestGeneration(null, claims)).isEqualTo(2);
    }

    @Test
    void aStateUnderAClaimedKeyWrittenByAnotherProcessIsNotTheRecord() {
        Inference b = owned("b/2", 2, "RUNNING");
        List<Logged> log = List.of(claim(owned("a/1", 1, "RUNNING")), claim(b), state(owned("c/3", 2, "FAILED")));
        assertThat(replay(log)).contains(b);
        assertThat(replay(List.of(claim(b), claim(owned("b/2", 3, Inference.FORGOTTEN)))))
                .as("forgotten")
                .isEmpty();
    }

    @Test
    void aRecordWrittenBeforeClaimsCountsUntilALaterGenerationIsClaimed() {
        Inference legacy = owned(null, 0, "RUNNING");
        java.util.NavigableMap<Long, Inference> none = new java.util.TreeMap<>();
        assertThat(InferenceHistory.current(legacy, none, Map.of())).contains(legacy);
        Inference first = owned("a/1", 1, "RUNNING");
        assertThat(InferenceHistory.current(legacy, new java.util.TreeMap<>(Map.of(1L, first)), Map.of()))
                .contains(first);
        assertThat(InferenceHistory.idOf("serve#12")).isEqualTo("serve");
        assertThat(InferenceHistory.generationOf("serve#12")).isEqualTo(12);
        assertThat(InferenceHistory.generationOf("serve")).isEqualTo(-1);
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
        assertThat(old.liveStatus(false)).isEqualTo(Inference.STALE);
        assertThat(old.with("STOPPED", 0, null).liveStatus(false)).isEqualTo("STOPPED");
    }
}
