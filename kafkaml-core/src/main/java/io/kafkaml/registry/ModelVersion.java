package io.kafkaml.registry;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * One immutable version of a training result's model: what an incremental training run (or a user) published
 * under the result, to be promoted into serving or not ({@link Registry#publishVersion}). Once written it never
 * changes; a later version gets the next number. Serving follows the promoted one ({@link Registry#promotedVersion});
 * rolling back is promoting an older one ({@link Registry#promote}).
 *
 * <p>A record is bounded: at most {@value #MAX_METRICS} metrics, {@value #MAX_OFFSETS} partitions and a reason of
 * {@value #MAX_REASON_CHARS} characters; the model itself is an artifact (chunks with a SHA-256 digest checked on
 * every load, {@link Registry#loadVersionModel}).
 *
 * @param resultId the training result it belongs to ({@code deploymentId.model})
 * @param version its number under the result: 1, 2, ... in the order they were published
 * @param artifact the model (DL4J {@code ModelSerializer} bytes, network only)
 * @param normalizer the fitted feature normalizer ({@code NormalizerSerializer} bytes), or {@code null} if none
 * @param metrics the metrics it was judged by (e.g. {@code val_loss}, {@code accuracy}), by name; non-finite values
 *     are not allowed
 * @param offsets the offsets of the data it had seen, by partition ({@code topic-partition} as Kafka's
 *     {@code TopicPartition.toString()} writes it, e.g. {@code no3-0}): the next offset it had not read
 * @param createdAt when it was published
 * @param reason a short reason, e.g. {@code promoted: val_loss 0.31 < 0.35 − 0.01}, or empty
 */
public record ModelVersion(
        String resultId,
        int version,
        ArtifactRef artifact,
        ArtifactRef normalizer,
        Map<String, Double> metrics,
        Map<String, Long> offsets,
        Instant createdAt,
        String reason) {

    /** The most metrics a version records. */
    public static final int MAX_METRICS = 64;
    /** The most partitions whose offsets a version records. */
    public static final int MAX_OFFSETS = 4096;
    /** The longest reason a version records, in characters. */
    public static final int MAX_REASON_CHARS = 500;

    /**
     * Validates and copies the fields.
     *
     * @throws IllegalArgumentException if a field is missing or out of its bounds
     */
    public ModelVersion {
        Objects.requireNonNull(resultId, "resultId");
        Objects.requireNonNull(artifact, "artifact");
        Objects.requireNonNull(createdAt, "createdAt");
        if (version < 1) {
            throw new IllegalArgumentException("version must be >= 1, was " + version);
        }
        metrics = metrics == null ? Map.of() : new TreeMap<>(metrics);
        offsets = offsets == null ? Map.of() : new TreeMap<>(offsets);
        if (metrics.size() > MAX_METRICS) {
            throw new IllegalArgumentException(
                    "a version records at most " + MAX_METRICS + " metrics, got " + metrics.size());
        }
        if (offsets.size() > MAX_OFFSETS) {
            throw new IllegalArgumentException(
                    "a version records the offsets of at most " + MAX_OFFSETS + " partitions, got " + offsets.size());
        }
        metrics.forEach((name, value) -> {
            if (name == null || value == null || !Double.isFinite(value)) {
                throw new IllegalArgumentException("metric '" + name + "' is " + value + ": a finite number is needed");
            }
        });
        offsets.forEach((partition, offset) -> {
            if (partition == null || offset == null || offset < 0) {
                throw new IllegalArgumentException("offset of '" + partition + "' is " + offset + ": must be >= 0");
            }
        });
        metrics = java.util.Collections.unmodifiableMap(metrics);
        offsets = java.util.Collections.unmodifiableMap(offsets);
        reason = reason == null ? "" : reason;
        if (reason.length() > MAX_REASON_CHARS) {
            reason = reason.substring(0, MAX_REASON_CHARS - 1) + "…";
        }
    }

    /** The registry key of version {@code version} of {@code resultId}: {@code resultId#version}. */
    public static String key(String resultId, int version) {
        return resultId + "#" + version;
    }
}
