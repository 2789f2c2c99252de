package io.kafkaml.registry;

import java.time.Instant;
import java.util.Objects;

/**
 * One promotion of a model version into serving ({@link Registry#promote}): the promoted version of a result is that
 * of its latest promotion. Promotions are numbered 1, 2, ... per result ({@link #sequence}) and kept, so the history
 * of what was served, and whether a step back was a deliberate rollback, can be read back
 * ({@link Registry#promotions}). Immutable.
 *
 * <p>A promotion made by hand ({@link Registry#promote(String, int, String)}: {@code results promote}, a rollback)
 * <b>pins</b> the result: an incremental run's policy then publishes the versions it would have promoted without
 * promoting them, so that the next better window does not undo a rollback, until the result is unpinned
 * ({@link Registry#unpin}) or a promotion by hand says otherwise.
 *
 * @param resultId the training result
 * @param sequence this promotion's number under the result, from 1
 * @param version the version promoted
 * @param previousVersion the version promoted before it, 0 if none
 * @param rollback whether it promoted an older version than the one before (a rollback)
 * @param reason why, e.g. the promotion policy's reason, or {@code manual} (at most
 *     {@value ModelVersion#MAX_REASON_CHARS} characters)
 * @param promotedAt when
 * @param pinned whether it pins the result (a promotion by hand), so that automatic promotions do not replace it
 */
public record Promotion(
        String resultId,
        long sequence,
        int version,
        int previousVersion,
        boolean rollback,
        String reason,
        Instant promotedAt,
        boolean pinned) {

    /**
     * Validates the fields.
     *
     * @throws IllegalArgumentException if a field is missing or out of range
     */
    public Promotion {
        Objects.requireNonNull(resultId, "resultId");
        Objects.requireNonNull(promotedAt, "promotedAt");
        if (sequence < 1 || version < 1 || previousVersion < 0) {
            throw new IllegalArgumentException("sequence and version must be >= 1 and previousVersion >= 0, were "
                    + sequence + ", " + version + ", " + previousVersion);
        }
        if (rollback != (version < previousVersion)) {
            throw new IllegalArgumentException("rollback must be " + (version < previousVersion) + " when version "
                    + version + " follows version " + previousVersion);
        }
        reason = reason == null ? "" : reason;
        if (reason.length() > ModelVersion.MAX_REASON_CHARS) {
            reason = reason.substring(0, ModelVersion.MAX_REASON_CHARS - 1) + "…";
        }
    }

    /** An automatic promotion, which does not pin the result (the form of earlier versions). */
    public Promotion(
            String resultId,
            long sequence,
            int version,
            int previousVersion,
            boolean rollback,
            String reason,
            Instant promotedAt) {
        this(resultId, sequence, version, previousVersion, rollback, reason, promotedAt, false);
    }

    /** The registry key of promotion {@code sequence} of {@code resultId}: {@code resultId#promotion#sequence}. */
    public static String key(String resultId, long sequence) {
        return resultId + "#promotion#" + sequence;
    }

    /** The registry key of the pointer to the latest promotion of {@code resultId}: {@code resultId#promoted}. */
    public static String pointerKey(String resultId) {
        return resultId + "#promoted";
    }
}
