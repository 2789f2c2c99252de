package io.kafkaml.training;

import io.kafkaml.dataset.BadRecordPolicy;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * How a deployment trains on an unbounded stream (Kafka-ML's {@code incremental} training): the topic its control
 * message names (Kafka-ML's online sink sends the bare topic name with {@code "incremental": true}) is read by a
 * consumer group in windows; each window is first evaluated by the current model (prequential, test-then-train), then
 * split by the stream's {@code validation_rate} (the hold-out, as Kafka-ML splits each window: training records
 * first), fitted for the spec's epochs, and recorded durably (a checkpoint of the model, its normalizer and the offsets
 * after the window) <em>before</em> the window's offsets are committed to the group. A trainer restarted after a crash
 * or a pod move resumes from the newest checkpoint that exists: a checkpointed window is never fitted twice into the
 * model, none is skipped; a window cut off before its checkpoint was stored is fitted once more.
 *
 * <pre>{@code
 * TrainingSpec spec = TrainingSpec.builder().batchSize(32).epochs(2)
 *         .incremental(IncrementalSpec.builder().windowRecords(1000).streamTimeout(Duration.ofSeconds(30))
 *                 .monitoring("loss", PromotionPolicy.Direction.DOWN, 0.01).build())
 *         .build();
 * }</pre>
 *
 * <p><b>Windows</b>: a window closes when it holds {@code windowRecords} records, when {@code windowTime} has passed
 * since its first record, or when no record has arrived for {@code streamTimeout} (a pause in the stream closes the
 * partial window). <b>End</b>: after {@code maxWindows} windows (0: no limit), or when no record has arrived for
 * {@code streamTimeout}, unless {@code indefinite} (Kafka-ML's {@code stream_timeout = -1}), which runs until
 * cancelled. <b>Promotion</b>: after each window {@link PromotionPolicy#kafkaMl} decides on the hold-out metric
 * {@code val_<monitoringMetric>} (without a hold-out split, the training {@code loss}, going down) against the
 * result's promoted version: the first window with the metric is promoted, later ones when the metric has moved in
 * direction {@code change} strictly and by at least {@code improvement}; a promoted window is published as a new
 * model version ({@link io.kafkaml.registry.Registry#publishVersion}) with its metrics and the offsets after it, and
 * promoted. A result pinned by a promotion by hand ({@link io.kafkaml.registry.Promotion#pinned()}, a rollback) gets
 * the versions the policy accepts (judged against its newest version) published but not promoted, until it is
 * unpinned ({@link io.kafkaml.registry.Registry#unpin}).
 *
 * <p><b>Bad records</b> (a value that does not decode, a wrong shape, a label that is not a class index) follow
 * {@code badRecordPolicy}, which for an unbounded stream is {@link BadRecordPolicy#SKIP} unless set: Kafka Streams'
 * {@code LogAndContinueExceptionHandler} rather than its default {@code LogAndFail}, because an unbounded stream cannot
 * be sent again and a run stopped at a record would stop there again after every restart (a bounded stream follows
 * {@link TrainingSpec#badRecordPolicy()}, FAIL by default: a finite data set is trained whole or not at all). A
 * skipped record is never fitted, held out or evaluated; it is logged with its topic, partition and offset, counted in
 * the window's {@link io.kafkaml.registry.EpochMetrics#badRecords()} (never in its {@code records}), and, when
 * {@code deadLetterTopic} is set, copied there with the {@code kafkaml.dlq.*} headers inference writes (topic,
 * partition, offset, stage {@code DECODE}, error class and reason) before the window's offsets are committed (at least
 * once: a window fitted again after a restart writes its bad records again). A window with no valid record is not a
 * window: nothing is fitted, evaluated, published or counted; its offsets are committed and its bad records are
 * counted in the next window's record. With {@link BadRecordPolicy#FAIL} the run ends FAILED at the first bad record,
 * with the reason naming it, and the window's offsets are not committed.
 *
 * <p>The consumer group is {@code groupId}, by default {@code kafkaml-incremental.<deploymentId>.<model>} (one model;
 * several models trained by one runner share {@code kafkaml-incremental.<deploymentId>}). Its partitions are assigned,
 * not subscribed, so a restarted trainer resumes at once rather than after the dead member's session timeout; partitions
 * added to the topic while the run goes on are assigned too (looked for at each window, as the consumer's metadata knows
 * them).
 * Assignment has no group generation to fence a second trainer with, so the registry does it: a trainer claims its
 * results when its run starts ({@link io.kafkaml.registry.Registry#claimTraining}, the newest claim wins), and one
 * that trained them before sees the newer claim before its next window is fitted, before it is recorded, right before
 * it promotes a version and before its offsets are committed, and stops there (a registry record, not a Kafka
 * transaction: a window being recorded while the claim is made may still leave its metrics record, version or
 * checkpoint, which the newer trainer finds and does not record twice; a promotion only if the claim lands in the
 * moment between that last check and the promotion's write; never its commit once the old trainer has seen the
 * claim).
 *
 * <p>Where a new group (no committed offsets, no checkpoint) starts is {@link #startFrom()}: by default
 * ({@link StartFrom#CONTROL}) each partition at the first record written at or after the control message's timestamp
 * ({@link io.kafkaml.control.ControlMessage#recordTimestamp()}), not at the older streams of a shared topic; the
 * records skipped so (per partition) are logged at WARN. That compares the data records' own timestamps
 * ({@code CreateTime}, set by their producers) with the control record's, so a re-sent stream (its new control record
 * is newer than all of its data), data produced with event-time timestamps or a producer whose clock lags the control
 * message's sender lose records: use {@link StartFrom#EARLIEST} for those (the whole topic, as before this rule), or
 * {@link StartFrom#LATEST} for only what is written after the run starts. The result names its promoted version's model while the run goes on (checkpoints are
 * internal), and a bounded run FINISHES with its promoted version's model.
 *
 * <p>Thread safety: immutable (a record of immutable values) and thread-safe. Lifecycle: a value, no resources.
 *
 * @param groupId the consumer group whose committed offsets record progress, or {@code null} for the default
 * @param windowRecords records per window, 0 for windows by time only
 * @param windowTime the longest a window stays open after its first record, or {@code null} for windows by records only
 * @param streamTimeout how long without a record closes the partial window and, unless indefinite, ends the run
 * @param maxWindows the windows after which the run ends, 0 for no limit
 * @param indefinite whether the run never ends on its own (Kafka-ML's {@code stream_timeout = -1})
 * @param monitoringMetric the metric promotion watches ({@code loss}, {@code accuracy}, {@code mse}, ...; Kafka-ML's
 *     {@code monitoring_metric})
 * @param change the direction in which the metric improves (Kafka-ML's {@code change}: {@code up} or {@code down})
 * @param improvement the least change that promotes (Kafka-ML's {@code improvement}), &gt;= 0
 * @param badRecordPolicy what to do with a record of the stream that cannot be trained on; {@code SKIP} by default
 * @param deadLetterTopic where skipped records are copied with the reason in headers, or {@code null} for none
 * @param startFrom where a new consumer group starts each partition; {@link StartFrom#CONTROL} by default
 */
public record IncrementalSpec(
        String groupId,
        int windowRecords,
        Duration windowTime,
        Duration streamTimeout,
        int maxWindows,
        boolean indefinite,
        String monitoringMetric,
        PromotionPolicy.Direction change,
        double improvement,
        BadRecordPolicy badRecordPolicy,
        String deadLetterTopic,
        StartFrom startFrom) {

    /**
     * Where a run whose consumer group has no committed offset (and no checkpoint) starts a partition. A partition the
     * group committed always resumes there.
     */
    public enum StartFrom {
        /** At the first record written at or after the control message's timestamp (the default). */
        CONTROL,
        /** At the partition's first record still held (the whole topic). */
        EARLIEST,
        /** At the partition's end when the run starts (only records written from then on). */
        LATEST;

        /**
         * Parses {@code control}, {@code earliest} or {@code latest}, any case.
         *
         * @throws IllegalArgumentException naming the accepted values
         */
        public static StartFrom of(String text) {
            for (StartFrom value : values()) {
                if (value.name().equalsIgnoreCase(String.valueOf(text).trim())) {
                    return value;
                }
            }
            throw new IllegalArgumentException("startFrom must be control, earliest or latest, was '" + text + "'");
        }
    }

    /** The stream timeout unless one is given: 30 s. */
    public static final Duration DEFAULT_STREAM_TIMEOUT = Duration.ofSeconds(30);

    /**
     * Validates the settings.
     *
     * @throws IllegalArgumentException naming the setting and the bad value
     */
    public IncrementalSpec {
        if (groupId != null && groupId.isBlank()) {
            throw new IllegalArgumentException("groupId must not be blank (null for the default)");
        }
        if (windowRecords < 0) {
            throw new IllegalArgumentException("windowRecords must be >= 0, was " + windowRecords);
        }
        if (windowTime != null && (windowTime.isNegative() || windowTime.isZero())) {
            throw new IllegalArgumentException("windowTime must be positive (or null), was " + windowTime);
        }
        if (windowRecords == 0 && windowTime == null) {
            throw new IllegalArgumentException("an incremental window needs windowRecords > 0 or a windowTime");
        }
        Objects.requireNonNull(streamTimeout, "streamTimeout");
        if (streamTimeout.isNegative() || streamTimeout.isZero()) {
            throw new IllegalArgumentException("streamTimeout must be positive, was " + streamTimeout);
        }
        if (maxWindows < 0) {
            throw new IllegalArgumentException("maxWindows must be >= 0 (0 = no limit), was " + maxWindows);
        }
        monitoringMetric = Objects.requireNonNull(monitoringMetric, "monitoringMetric")
                .trim()
                .toLowerCase(Locale.ROOT);
        if (monitoringMetric.isEmpty()) {
            throw new IllegalArgumentException("monitoringMetric must not be empty");
        }
        Objects.requireNonNull(change, "change");
        if (!(improvement >= 0) || Double.isInfinite(improvement)) {
            throw new IllegalArgumentException("improvement must be a number >= 0, was " + improvement);
        }
        Objects.requireNonNull(badRecordPolicy, "badRecordPolicy");
        if (deadLetterTopic != null && deadLetterTopic.isBlank()) {
            throw new IllegalArgumentException("deadLetterTopic must not be blank (null for none)");
        }
        startFrom = startFrom == null ? StartFrom.CONTROL : startFrom;
    }

    /** Settings that start a new group at the control message ({@link StartFrom#CONTROL}). */
    public IncrementalSpec(
            String groupId,
            int windowRecords,
            Duration windowTime,
            Duration streamTimeout,
            int maxWindows,
            boolean indefinite,
            String monitoringMetric,
            PromotionPolicy.Direction change,
            double improvement,
            BadRecordPolicy badRecordPolicy,
            String deadLetterTopic) {
        this(
                groupId,
                windowRecords,
                windowTime,
                streamTimeout,
                maxWindows,
                indefinite,
                monitoringMetric,
                change,
                improvement,
                badRecordPolicy,
                deadLetterTopic,
                StartFrom.CONTROL);
    }

    /** Settings that skip bad records without a dead-letter topic (the form of earlier versions). */
    public IncrementalSpec(
            String groupId,
            int windowRecords,
            Duration windowTime,
            Duration streamTimeout,
            int maxWindows,
            boolean indefinite,
            String monitoringMetric,
            PromotionPolicy.Direction change,
            double improvement) {
        this(
                groupId,
                windowRecords,
                windowTime,
                streamTimeout,
                maxWindows,
                indefinite,
                monitoringMetric,
                change,
                improvement,
                BadRecordPolicy.SKIP,
                null,
                StartFrom.CONTROL);
    }

    /** A builder: windows of 1,000 records, stream timeout 30 s, bounded, promotion on {@code loss} going down. */
    public static Builder builder() {
        return new Builder();
    }

    /** The consumer group of a deployment's runner that trains {@code models} ({@code groupId} when given). */
    public String groupIdFor(String deploymentId, java.util.List<String> models) {
        if (groupId != null) {
            return groupId;
        }
        return models.size() == 1
                ? "kafkaml-incremental." + deploymentId + "." + models.get(0)
                : "kafkaml-incremental." + deploymentId;
    }

    /**
     * The metric promotion watches in a window's candidate metrics: {@code val_<monitoringMetric>} (the hold-out, as
     * Kafka-ML monitors {@code 'val_' + monitoring_metric}), or without a hold-out split the training {@code loss}.
     */
    public String monitoredKey(boolean holdout) {
        return holdout ? "val_" + monitoringMetric : "loss";
    }

    /**
     * Kafka-ML's rule ({@link PromotionPolicy#kafkaMl}) on {@link #monitoredKey(boolean)}: in the user's direction on
     * the hold-out metric; without a hold-out on the training {@code loss}, which always improves going down (the
     * user's direction belongs to the monitoring metric, not to the loss).
     */
    public PromotionPolicy promotionPolicy(boolean holdout) {
        return PromotionPolicy.kafkaMl(
                monitoredKey(holdout), holdout ? change : PromotionPolicy.Direction.DOWN, improvement);
    }

    /** The settings as plain values, as a deployment records them ({@link TrainingSpec#toMap()}). */
    public Map<String, Object> toMap() {
        Map<String, Object> map = new LinkedHashMap<>();
        if (groupId != null) {
            map.put("groupId", groupId);
        }
        map.put("windowRecords", windowRecords);
        if (windowTime != null) {
            map.put("windowTimeMs", windowTime.toMillis());
        }
        map.put("streamTimeoutMs", streamTimeout.toMillis());
        map.put("maxWindows", maxWindows);
        map.put("indefinite", indefinite);
        map.put("monitoringMetric", monitoringMetric);
        map.put("change", change.name());
        map.put("improvement", improvement);
        map.put("badRecordPolicy", badRecordPolicy.name());
        if (deadLetterTopic != null) {
            map.put("deadLetterTopic", deadLetterTopic);
        }
        map.put("startFrom", startFrom.name());
        return map;
    }

    /** The settings {@link #toMap()} recorded. */
    public static IncrementalSpec fromMap(Map<?, ?> map) {
        Builder builder = builder();
        if (map.get("groupId") != null) {
            builder.groupId(String.valueOf(map.get("groupId")));
        }
        builder.windowRecords((int) number(map, "windowRecords", builder.windowRecords));
        builder.windowTime(map.get("windowTimeMs") == null ? null : Duration.ofMillis(number(map, "windowTimeMs", 0)));
        builder.streamTimeout(Duration.ofMillis(number(map, "streamTimeoutMs", DEFAULT_STREAM_TIMEOUT.toMillis())));
        builder.maxWindows((int) number(map, "maxWindows", 0));
        builder.indefinite(Boolean.parseBoolean(String.valueOf(map.get("indefinite"))));
        builder.monitoring(
                String.valueOf(map.get("monitoringMetric") == null ? "loss" : map.get("monitoringMetric")),
                PromotionPolicy.Direction.of(String.valueOf(map.get("change") == null ? "DOWN" : map.get("change"))),
                map.get("improvement") == null ? 0 : Double.parseDouble(String.valueOf(map.get("improvement"))));
        if (map.get("badRecordPolicy") != null) {
            builder.badRecordPolicy(BadRecordPolicy.valueOf(String.valueOf(map.get("badRecordPolicy"))));
        }
        if (map.get("deadLetterTopic") != null) {
            builder.deadLetterTopic(String.valueOf(map.get("deadLetterTopic")));
        }
        if (map.get("startFrom") != null) {
            builder.startFrom(StartFrom.of(String.valueOf(map.get("startFrom"))));
        }
        return builder.build();
    }

    private static long number(Map<?, ?> map, String key, long defaultValue) {
        Object value = map.get(key);
        return value == null
                ? defaultValue
                : value instanceof Number n ? n.longValue() : Long.parseLong(value.toString());
    }

    /** Builds an {@link IncrementalSpec}; every setting has a default. */
    public static final class Builder {
        private String groupId;
        private int windowRecords = 1000;
        private Duration windowTime;
        private Duration streamTimeout = DEFAULT_STREAM_TIMEOUT;
        private int maxWindows;
        private boolean indefinite;
        private String monitoringMetric = "loss";
        private PromotionPolicy.Direction change = PromotionPolicy.Direction.DOWN;
        private double improvement;
        private BadRecordPolicy badRecordPolicy = BadRecordPolicy.SKIP;
        private String deadLetterTopic;
        private StartFrom startFrom = StartFrom.CONTROL;

        private Builder() {}

        /** Where a new consumer group starts each partition; default {@link StartFrom#CONTROL}. */
        public Builder startFrom(StartFrom startFrom) {
            this.startFrom = startFrom;
            return this;
        }

        /**
         * What to do with a record that cannot be trained on; default {@link BadRecordPolicy#SKIP} (see the class
         * comment for why an unbounded stream differs from a bounded one).
         */
        public Builder badRecordPolicy(BadRecordPolicy policy) {
            this.badRecordPolicy = policy;
            return this;
        }

        /** Where skipped records are copied, with the reason in {@code kafkaml.dlq.*} headers; default none. */
        public Builder deadLetterTopic(String topic) {
            this.deadLetterTopic = topic;
            return this;
        }

        /** The consumer group; default derived from the deployment and model (see the class comment). */
        public Builder groupId(String groupId) {
            this.groupId = groupId;
            return this;
        }

        /** Records per window; default 1,000; 0 for windows by time only. */
        public Builder windowRecords(int records) {
            this.windowRecords = records;
            return this;
        }

        /** The longest a window stays open after its first record; default none (by records only). */
        public Builder windowTime(Duration time) {
            this.windowTime = time;
            return this;
        }

        /** How long without a record closes the partial window and ends a bounded run; default 30 s. */
        public Builder streamTimeout(Duration timeout) {
            this.streamTimeout = timeout;
            return this;
        }

        /** The windows after which the run ends; default 0, no limit. */
        public Builder maxWindows(int windows) {
            this.maxWindows = windows;
            return this;
        }

        /** Whether the run goes on until cancelled, whatever the pauses (Kafka-ML's indefinite mode); default false. */
        public Builder indefinite(boolean indefinite) {
            this.indefinite = indefinite;
            return this;
        }

        /**
         * Kafka-ML's promotion rule: a new version when {@code metric} has changed in direction {@code change} by at
         * least {@code improvement} since the last promoted one (the first window is the reference); default
         * {@code loss}, {@code DOWN}, 0.
         */
        public Builder monitoring(String metric, PromotionPolicy.Direction change, double improvement) {
            this.monitoringMetric = metric;
            this.change = change;
            this.improvement = improvement;
            return this;
        }

        /** Validates and returns the settings. */
        public IncrementalSpec build() {
            return new IncrementalSpec(
                    groupId,
                    windowRecords,
                    windowTime,
                    streamTimeout,
                    maxWindows,
                    indefinite,
                    monitoringMetric,
                    change,
                    improvement,
                    badRecordPolicy,
                    deadLetterTopic,
                    startFrom);
        }
    }
}
