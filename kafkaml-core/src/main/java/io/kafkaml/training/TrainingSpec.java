package io.kafkaml.training;

import io.kafkaml.dataset.BadRecordPolicy;
import io.kafkaml.dataset.SplitOrder;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * How to train the models of a deployment (the paper's step C).
 *
 * <pre>{@code
 * TrainingSpec spec = TrainingSpec.builder().batchSize(10).epochs(100).shuffle(true).seed(42)
 *         .normalization(Normalization.STANDARDIZE).earlyStopping("loss", 10).build();
 * }</pre>
 *
 * <p>Thread safety: immutable (a record; its collections are copied or unmodifiable) and thread-safe. Lifecycle: a
 * value, no resources.
 *
 * @param batchSize rows per training batch
 * @param epochs passes over the training split
 * @param stepsPerEpoch batches per epoch, 0 for the whole split
 * @param shuffle whether each epoch's rows are shuffled (seeded)
 * @param seed the seed of the split assignment and of shuffling (a network's initialization follows the seed of
 *     its own configuration)
 * @param earlyStoppingMetric the validation metric early stopping watches, or {@code null} for none
 * @param earlyStoppingPatience epochs without improvement before stopping
 * @param evaluationBatchSize rows per batch when evaluating
 * @param normalization feature normalization, fitted on the training split
 * @param controlTimeout how long to wait for the stream's control message, {@code null} to wait indefinitely
 * @param splitOrder how records are assigned to train, validation and test
 * @param cacheBudgetBytes the memory the decoded stream may take to be kept for later epochs
 * @param badRecordPolicy what to do with records of a bounded stream that cannot be decoded (an incremental run
 *     follows {@link IncrementalSpec#badRecordPolicy()}, SKIP by default)
 * @param reuseStream whether the deployment may train on a control message published before it was recorded (the
 *     newest such message for its id, else the first after); by default only newer ones are accepted, so that an
 *     old message for the same id on a shared control topic is never trained on
 * @param decisionThreshold the probability from which a sigmoid output counts as class 1 when binary and
 *     multi-label classifiers are evaluated, in (0, 1); 0.5 by default
 * @param incremental how to train on an unbounded (incremental) stream, or {@code null} for the defaults of
 *     {@link IncrementalSpec#builder()} when such a stream arrives (its settings are used only for one)
 * @param semiSupervised Kafka-ML's semi-supervised rounds on the stream's {@code unsupervised_topic}, or {@code null}
 *     to train on the labelled stream only
 */
public record TrainingSpec(
        int batchSize,
        int epochs,
        int stepsPerEpoch,
        boolean shuffle,
        long seed,
        String earlyStoppingMetric,
        int earlyStoppingPatience,
        int evaluationBatchSize,
        Normalization normalization,
        Duration controlTimeout,
        SplitOrder splitOrder,
        long cacheBudgetBytes,
        BadRecordPolicy badRecordPolicy,
        boolean reuseStream,
        double decisionThreshold,
        IncrementalSpec incremental,
        SemiSupervisedSpec semiSupervised) {

    /** The decision threshold of binary and multi-label outputs unless one is given: 0.5. */
    public static final double DEFAULT_DECISION_THRESHOLD = 0.5;

    /** Metrics early stopping can watch; for the first five lower is better. */
    public static final Set<String> METRICS =
            Set.of("loss", "mse", "mae", "rmse", "r2", "accuracy", "precision", "recall", "f1");

    /**
     * Validates the fields.
     *
     * @throws IllegalArgumentException naming the setting and the bad value
     */
    public TrainingSpec {
        positive("batchSize", batchSize);
        positive("epochs", epochs);
        positive("evaluationBatchSize", evaluationBatchSize);
        if (stepsPerEpoch < 0) {
            throw new IllegalArgumentException(
                    "stepsPerEpoch must be >= 0 (0 = the whole split), was " + stepsPerEpoch);
        }
        if (earlyStoppingMetric != null) {
            earlyStoppingMetric = earlyStoppingMetric.toLowerCase(Locale.ROOT);
            if (!METRICS.contains(earlyStoppingMetric)) {
                throw new IllegalArgumentException("earlyStopping metric '" + earlyStoppingMetric + "' is not one of "
                        + new java.util.TreeSet<>(METRICS));
            }
            positive("earlyStopping patience", earlyStoppingPatience);
        }
        Objects.requireNonNull(normalization, "normalization");
        Objects.requireNonNull(splitOrder, "splitOrder");
        Objects.requireNonNull(badRecordPolicy, "badRecordPolicy");
        if (controlTimeout != null && (controlTimeout.isNegative() || controlTimeout.isZero())) {
            throw new IllegalArgumentException(
                    "controlTimeout must be positive (or null to wait indefinitely), was " + controlTimeout);
        }
        if (cacheBudgetBytes < 0) {
            throw new IllegalArgumentException("cacheBudgetBytes must be >= 0, was " + cacheBudgetBytes);
        }
        checkDecisionThreshold(decisionThreshold);
    }

    /** A spec without incremental or semi-supervised settings (the form of earlier versions). */
    public TrainingSpec(
            int batchSize,
            int epochs,
            int stepsPerEpoch,
            boolean shuffle,
            long seed,
            String earlyStoppingMetric,
            int earlyStoppingPatience,
            int evaluationBatchSize,
            Normalization normalization,
            Duration controlTimeout,
            SplitOrder splitOrder,
            long cacheBudgetBytes,
            BadRecordPolicy badRecordPolicy,
            boolean reuseStream,
            double decisionThreshold) {
        this(
                batchSize,
                epochs,
                stepsPerEpoch,
                shuffle,
                seed,
                earlyStoppingMetric,
                earlyStoppingPatience,
                evaluationBatchSize,
                normalization,
                controlTimeout,
                splitOrder,
                cacheBudgetBytes,
                badRecordPolicy,
                reuseStream,
                decisionThreshold,
                null,
                null);
    }

    /** The incremental settings, or the defaults when none were given. */
    public IncrementalSpec incrementalOrDefault() {
        return incremental != null ? incremental : IncrementalSpec.builder().build();
    }

    /**
     * Checks a decision threshold: a probability strictly between 0 and 1.
     *
     * @return the threshold
     * @throws IllegalArgumentException naming the bad value
     */
    public static double checkDecisionThreshold(double threshold) {
        if (!(threshold > 0 && threshold < 1)) {
            throw new IllegalArgumentException(
                    "decisionThreshold must be between 0 and 1 (exclusive), was " + threshold);
        }
        return threshold;
    }

    private static void positive(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + " must be >= 1, was " + value);
        }
    }

    /** Whether a metric improves as it decreases. */
    public static boolean lowerIsBetter(String metric) {
        return Set.of("loss", "mse", "mae", "rmse").contains(metric);
    }

    /** The wait for the control message, if bounded. */
    public Optional<Duration> controlWait() {
        return Optional.ofNullable(controlTimeout);
    }

    /** A builder with the defaults: batch 32, 1 epoch, no shuffle, seed 42, no early stopping. */
    public static Builder builder() {
        return new Builder();
    }

    /** The spec as plain values, as a deployment records it in the registry. */
    public Map<String, Object> toMap() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("batchSize", batchSize);
        map.put("epochs", epochs);
        map.put("stepsPerEpoch", stepsPerEpoch);
        map.put("shuffle", shuffle);
        map.put("seed", seed);
        if (earlyStoppingMetric != null) {
            map.put("earlyStoppingMetric", earlyStoppingMetric);
            map.put("earlyStoppingPatience", earlyStoppingPatience);
        }
        map.put("evaluationBatchSize", evaluationBatchSize);
        map.put("normalization", normalization.name());
        if (controlTimeout != null) {
            map.put("controlTimeoutMs", controlTimeout.toMillis());
        }
        map.put("splitOrder", splitOrder.name());
        map.put("cacheBudgetBytes", cacheBudgetBytes);
        map.put("badRecordPolicy", badRecordPolicy.name());
        map.put("reuseStream", reuseStream);
        map.put("decisionThreshold", decisionThreshold);
        if (incremental != null) {
            map.put("incremental", incremental.toMap());
        }
        if (semiSupervised != null) {
            map.put("semiSupervised", semiSupervised.toMap());
        }
        return map;
    }

    /**
     * The field names {@link #fromMap(Map)} reads and {@link #toMap()} writes, for a caller that refuses unknown
     * fields in a user's request (a typo such as {@code epochz} would otherwise train on the defaults). Records read
     * back from the registry are not checked against it, so that a newer writer's fields do not fail an older reader.
     *
     * @return an immutable set
     */
    public static java.util.Set<String> fieldNames() {
        return FIELD_NAMES;
    }

    private static final java.util.Set<String> FIELD_NAMES = java.util.Set.of(
            "batchSize",
            "epochs",
            "stepsPerEpoch",
            "shuffle",
            "seed",
            "evaluationBatchSize",
            "normalization",
            "splitOrder",
            "cacheBudgetBytes",
            "badRecordPolicy",
            "reuseStream",
            "decisionThreshold",
            "earlyStoppingMetric",
            "earlyStoppingPatience",
            "controlTimeoutMs",
            "incremental",
            "semiSupervised");

    /** The spec a deployment recorded with {@link #toMap()}. */
    public static TrainingSpec fromMap(Map<String, Object> map) {
        Builder builder = builder();
        Defaults values = new Defaults(map);
        builder.batchSize(values.integer("batchSize", builder.batchSize))
                .epochs(values.integer("epochs", builder.epochs))
                .stepsPerEpoch(values.integer("stepsPerEpoch", 0))
                .shuffle(Boolean.parseBoolean(String.valueOf(map.getOrDefault("shuffle", false))))
                .seed(values.number("seed", builder.seed))
                .evaluationBatchSize(values.integer("evaluationBatchSize", builder.evaluationBatchSize))
                .normalization(Normalization.valueOf(String.valueOf(map.getOrDefault("normalization", "NONE"))))
                .splitOrder(SplitOrder.valueOf(String.valueOf(map.getOrDefault("splitOrder", "SHUFFLED"))))
                .cacheBudgetBytes(values.number("cacheBudgetBytes", builder.cacheBudgetBytes))
                .badRecordPolicy(BadRecordPolicy.valueOf(String.valueOf(map.getOrDefault("badRecordPolicy", "FAIL"))))
                .reuseStream(Boolean.parseBoolean(String.valueOf(map.getOrDefault("reuseStream", false))))
                .decisionThreshold(decisionThreshold(map));
        if (map.get("earlyStoppingMetric") != null) {
            builder.earlyStopping(
                    String.valueOf(map.get("earlyStoppingMetric")), values.integer("earlyStoppingPatience", 1));
        }
        if (map.get("controlTimeoutMs") != null) {
            builder.controlTimeout(Duration.ofMillis(values.number("controlTimeoutMs", 0)));
        }
        if (map.get("incremental") instanceof Map<?, ?> incremental) {
            builder.incremental(IncrementalSpec.fromMap(incremental));
        }
        if (map.get("semiSupervised") instanceof Map<?, ?> semi) {
            builder.semiSupervised(SemiSupervisedSpec.fromMap(semi));
        }
        return builder.build();
    }

    /** The decision threshold a recorded spec ({@link #toMap()}) holds, or the default for older records. */
    public static double decisionThreshold(Map<String, Object> map) {
        Object value = map == null ? null : map.get("decisionThreshold");
        return value == null
                ? DEFAULT_DECISION_THRESHOLD
                : value instanceof Number n ? n.doubleValue() : Double.parseDouble(value.toString());
    }

    private record Defaults(Map<String, Object> map) {
        int integer(String key, int defaultValue) {
            return (int) number(key, defaultValue);
        }

        long number(String key, long defaultValue) {
            Object value = map.get(key);
            return value == null
                    ? defaultValue
                    : value instanceof Number n ? n.longValue() : Long.parseLong(value.toString());
        }
    }

    /** Builds a {@link TrainingSpec}; every setting has a default. */
    public static final class Builder {
        private int batchSize = 32;
        private int epochs = 1;
        private int stepsPerEpoch;
        private boolean shuffle;
        private long seed = 42;
        private boolean reuseStream;
        private String earlyStoppingMetric;
        private int earlyStoppingPatience;
        private int evaluationBatchSize = 256;
        private Normalization normalization = Normalization.NONE;
        private Duration controlTimeout;
        private SplitOrder splitOrder = SplitOrder.SHUFFLED;
        private long cacheBudgetBytes = 256L * 1024 * 1024;
        private BadRecordPolicy badRecordPolicy = BadRecordPolicy.FAIL;
        private double decisionThreshold = DEFAULT_DECISION_THRESHOLD;
        private IncrementalSpec incremental;
        private SemiSupervisedSpec semiSupervised;

        private Builder() {}

        /**
         * How to train when the control message announces an unbounded (incremental) stream: windows, stream
         * timeout, consumer group, promotion rule (see {@link IncrementalSpec}); default its builder's defaults.
         */
        public Builder incremental(IncrementalSpec incremental) {
            this.incremental = incremental;
            return this;
        }

        /**
         * Kafka-ML's semi-supervised training on the stream's {@code unsupervised_topic}: up to {@code rounds} rounds
         * of pseudo-labels whose confidence is at least {@code confidence} (see {@link SemiSupervisedSpec}); default
         * none.
         */
        public Builder semiSupervised(int rounds, double confidence) {
            this.semiSupervised = new SemiSupervisedSpec(rounds, confidence);
            return this;
        }

        /** Semi-supervised settings, or {@code null} for none. */
        public Builder semiSupervised(SemiSupervisedSpec settings) {
            this.semiSupervised = settings;
            return this;
        }

        /** Rows per training batch; default 32. */
        public Builder batchSize(int batchSize) {
            this.batchSize = batchSize;
            return this;
        }

        /** Passes over the training split; default 1. */
        public Builder epochs(int epochs) {
            this.epochs = epochs;
            return this;
        }

        /** Batches per epoch; default 0, the whole split. */
        public Builder stepsPerEpoch(int steps) {
            this.stepsPerEpoch = steps;
            return this;
        }

        /** Whether each epoch is shuffled (seeded); default false. */
        public Builder shuffle(boolean shuffle) {
            this.shuffle = shuffle;
            return this;
        }

        /** The seed; default 42. */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * Stops a model when its validation {@code metric} ({@code loss}, {@code accuracy}, {@code f1}, {@code mse},
         * ...) has not improved for {@code patience} epochs; needs a validation split.
         */
        public Builder earlyStopping(String metric, int patience) {
            this.earlyStoppingMetric = Objects.requireNonNull(metric, "metric");
            this.earlyStoppingPatience = patience;
            return this;
        }

        /** Rows per evaluation batch; default 256. */
        public Builder evaluationBatchSize(int rows) {
            this.evaluationBatchSize = rows;
            return this;
        }

        /** Feature normalization; default none. */
        public Builder normalization(Normalization normalization) {
            this.normalization = normalization;
            return this;
        }

        /** How long to wait for the control message; default indefinitely. */
        public Builder controlTimeout(Duration timeout) {
            this.controlTimeout = timeout;
            return this;
        }

        /** How records are split; default {@link SplitOrder#SHUFFLED}. */
        public Builder splitOrder(SplitOrder order) {
            this.splitOrder = order;
            return this;
        }

        /** Memory for the decoded stream across epochs; default 256 MiB, 0 to re-read Kafka every epoch. */
        public Builder cacheBudgetBytes(long bytes) {
            this.cacheBudgetBytes = bytes;
            return this;
        }

        /** Bad-record policy of a bounded stream; default FAIL (an incremental run: {@link IncrementalSpec}'s). */
        public Builder badRecordPolicy(BadRecordPolicy policy) {
            this.badRecordPolicy = policy;
            return this;
        }

        /**
         * Whether the deployment may train on a control message published before it was recorded (a stream sent
         * earlier, or re-sent with {@code datasources resend} before deploying); default false: only messages
         * published after the deployment was recorded are accepted.
         */
        public Builder reuseStream(boolean reuse) {
            this.reuseStream = reuse;
            return this;
        }

        /**
         * The probability from which a sigmoid output counts as class 1 when binary and multi-label classifiers are
         * evaluated (accuracy, precision, recall, confusion matrix); default 0.5. Serving uses the same threshold
         * unless its {@code InferenceSpec} gives another.
         */
        public Builder decisionThreshold(double threshold) {
            this.decisionThreshold = threshold;
            return this;
        }

        /** Validates and returns the spec. */
        public TrainingSpec build() {
            return new TrainingSpec(
                    batchSize,
                    epochs,
                    stepsPerEpoch,
                    shuffle,
                    seed,
                    earlyStoppingMetric,
                    earlyStoppingPatience,
                    evaluationBatchSize,
                    normalization,
                    controlTimeout,
                    splitOrder,
                    cacheBudgetBytes,
                    badRecordPolicy,
                    reuseStream,
                    decisionThreshold,
                    incremental,
                    semiSupervised);
        }
    }
}
