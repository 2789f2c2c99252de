package io.kafkaml.registry;

import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.Optional;

/**
 * How a reader derives an inference deployment's current record from what the registry keeps of it (see
 * {@link Inference}, <em>One owner</em>): the claims of its generations (append-only, the first claim of a generation
 * wins and every claim is kept) and the last state record each generation's owner wrote (compacted, one key per
 * generation, so that compaction keeps exactly that record). The answer depends only on which records exist, never
 * on their order across topics nor on what compaction removed, so every reader, new or long-running, agrees.
 *
 * <p>Stateless; package-private: the registry and its tests use it.
 */
final class InferenceHistory {

    /** The separator of an id and a generation in keys; never part of an id ({@code checkName}). */
    static final char SEPARATOR = '#';

    private InferenceHistory() {}

    /** The key of generation {@code generation} of {@code id}, in the claims and the states topics. */
    static String key(String id, long generation) {
        return id + SEPARATOR + generation;
    }

    /** The id of a key ({@code <id>#<generation>}, or a bare id as written before claims). */
    static String idOf(String key) {
        int at = key.indexOf(SEPARATOR);
        return at < 0 ? key : key.substring(0, at);
    }

    /** The generation of a key, or -1 for a bare id (a record written before claims). */
    static long generationOf(String key) {
        int at = key.indexOf(SEPARATOR);
        if (at < 0) {
            return -1;
        }
        try {
            return Long.parseLong(key.substring(at + 1));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /**
     * The current record: the latest claimed generation's state as its claimant last wrote it (the claim itself if it
     * wrote nothing since, or if a state under that key is not the claimant's), or a record written before claims when
     * its generation is at least the latest claimed one. Empty when there is none, or when the latest generation was
     * claimed to forget the deployment ({@link Inference#FORGOTTEN}).
     *
     * @param legacy the record under the bare id (written before claims), or {@code null}
     * @param claims the first claim of each generation, by generation
     * @param states the last state record of each generation, by generation
     */
    static Optional<Inference> current(
            Inference legacy, NavigableMap<Long, Inference> claims, Map<Long, Inference> states) {
        Inference current;
        if (claims.isEmpty() || (legacy != null && legacy.generation() >= claims.lastKey())) {
            current = legacy;
        } else {
            Map.Entry<Long, Inference> latest = claims.lastEntry();
            Inference claim = latest.getValue();
            Inference state = states.get(latest.getKey());
            current = state != null
                            && state.generation() == claim.generation()
                            && Objects.equals(state.owner(), claim.owner())
                    ? state
                    : claim;
        }
        return current == null || Inference.FORGOTTEN.equals(current.status())
                ? Optional.empty()
                : Optional.of(current);
    }

    /** The latest generation the records know of: claimed, or of a record written before claims (0 when none). */
    static long latestGeneration(Inference legacy, NavigableMap<Long, Inference> claims) {
        long claimed = claims.isEmpty() ? 0 : claims.lastKey();
        return Math.max(claimed, legacy == null ? 0 : legacy.generation());
    }
}
