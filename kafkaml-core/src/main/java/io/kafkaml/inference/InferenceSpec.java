package io.kafkaml.inference;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * How to serve a trained model (the paper's step F).
 *
 * <pre>{@code
 * InferenceSpec spec = InferenceSpec.builder("7.hcopd-paper", "hcopd-in", "hcopd-out")
 *         .replicas(2).guarantee(ProcessingGuarantee.EXACTLY_ONCE).deadLetterTopic("hcopd-dlq").build();
 * }</pre>
 *
 * <p>Thread safety: immutable (a record; its collections are copied or unmodifiable) and thread-safe. Lifecycle: a
 * value, no resources.
 *
 * @param resultId the training result whose model to serve ({@code deploymentId.model})
 * @param inputTopic where inputs are read
 * @param outputTopic where predictions are written
 * @param replicas how many replicas (consumers of one group)
 * @param groupId the consumer group, {@code null} for {@code kafkaml-inference-<id>}
 * @param inputFormat the inputs' record format, {@code null} for the one the model was trained on
 * @param inputConfig the format's settings, {@code null} for those the model was trained on
 * @param outputFormat {@code JSON} (default: Kafka-ML's {@code {"values": [...]}}, plus {@code "class"} for
 *     binary and multi-class models and {@code "classes"} for multi-label ones) or any record format on the class path ({@code RAW}, {@code AVRO})
 * @param outputConfig the output format's settings (for RAW default {@code data_type float32})
 * @param maxBatchSize the most inputs predicted in one forward pass (the consumer's {@code max.poll.records})
 * @param maxWait the longest a replica waits for inputs before it polls again
 * @param guarantee at-least-once (default) or exactly-once
 * @param deadLetterTopic where inputs go that cannot be decoded, predicted or written (with the reason in headers),
 *     or {@code null}: then undecodable inputs are logged and counted, and the others FAIL the deployment (see
 *     {@link InferenceExceptionHandler.DeadLetterOrFail})
 * @param decisionThreshold the probability from which a binary or multi-label output is predicted as class 1, in
 *     (0, 1), or {@code null} for the threshold the model was trained with (0.5 unless its training spec set one)
 * @param version a model version of the result to serve, pinned ({@link io.kafkaml.registry.ModelVersion}), or
 *     {@code null} for the result's trained model (or, with {@code followPromoted}, its promoted version)
 * @param followPromoted serve the result's promoted version and follow its promotions (and rollbacks): each replica
 *     loads a newly promoted version in the background and switches to it between batches (never inside a batch or a
 *     transaction); until a version is promoted, the result's trained model is served. Every prediction made by a
 *     version says which in its {@value io.kafkaml.config.KafkaMlConfig#MODEL_VERSION_HEADER} header
 */
public record InferenceSpec(
        String resultId,
        String inputTopic,
        String outputTopic,
        int replicas,
        String groupId,
        String inputFormat,
        Map<String, Object> inputConfig,
        String outputFormat,
        Map<String, Object> outputConfig,
        int maxBatchSize,
        Duration maxWait,
        ProcessingGuarantee guarantee,
        String deadLetterTopic,
        Double decisionThreshold,
        Integer version,
        boolean followPromoted) {

    /** Validates the fields. */
    public InferenceSpec {
        Objects.requireNonNull(resultId, "resultId");
        Objects.requireNonNull(inputTopic, "inputTopic");
        Objects.requireNonNull(outputTopic, "outputTopic");
        if (inputTopic.equals(outputTopic)) {
            throw new IllegalArgumentException(
                    "The input and output topics must differ, both are '" + inputTopic + "'");
        }
        if (replicas < 0) {
            throw new IllegalArgumentException("replicas must be >= 0, was " + replicas);
        }
        if (maxBatchSize < 1) {
            throw new IllegalArgumentException("maxBatchSize must be >= 1, was " + maxBatchSize);
        }
        Objects.requireNonNull(maxWait, "maxWait");
        Objects.requireNonNull(guarantee, "guarantee");
        outputFormat = outputFormat == null ? "JSON" : outputFormat;
        outputConfig = outputConfig == null ? Map.of() : Map.copyOf(outputConfig);
        inputConfig = inputConfig == null ? null : Map.copyOf(inputConfig);
        if (decisionThreshold != null) {
            io.kafkaml.training.TrainingSpec.checkDecisionThreshold(decisionThreshold);
        }
        if (version != null && version < 1) {
            throw new IllegalArgumentException("version must be >= 1, was " + version);
        }
        if (version != null && followPromoted) {
            throw new IllegalArgumentException(
                    "Serve either a pinned version (" + version + ") or follow the promoted one, not both");
        }
    }

    /** A spec that serves the result's trained model (the form before model versions). */
    public InferenceSpec(
            String resultId,
            String inputTopic,
            String outputTopic,
            int replicas,
            String groupId,
            String inputFormat,
            Map<String, Object> inputConfig,
            String outputFormat,
            Map<String, Object> outputConfig,
            int maxBatchSize,
            Duration maxWait,
            ProcessingGuarantee guarantee,
            String deadLetterTopic,
            Double decisionThreshold) {
        this(
                resultId,
                inputTopic,
                outputTopic,
                replicas,
                groupId,
                inputFormat,
                inputConfig,
                outputFormat,
                outputConfig,
                maxBatchSize,
                maxWait,
                guarantee,
                deadLetterTopic,
                decisionThreshold,
                null,
                false);
    }

    /** A builder; the result and both topics are required. */
    public static Builder builder(String resultId, String inputTopic, String outputTopic) {
        return new Builder(resultId, inputTopic, outputTopic);
    }

    /** The spec as plain values, as the registry records it. */
    public Map<String, Object> toMap() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("groupId", groupId);
        map.put("inputFormat", inputFormat);
        map.put("inputConfig", inputConfig);
        map.put("outputFormat", outputFormat);
        map.put("outputConfig", outputConfig);
        map.put("maxBatchSize", maxBatchSize);
        map.put("maxWaitMs", maxWait.toMillis());
        map.put("guarantee", guarantee.name());
        map.put("deadLetterTopic", deadLetterTopic);
        map.put("decisionThreshold", decisionThreshold);
        map.put("version", version);
        map.put("followPromoted", followPromoted ? Boolean.TRUE : null);
        map.values().removeIf(Objects::isNull);
        return map;
    }

    /** Builds an {@link InferenceSpec}. */
    public static final class Builder {
        private final String resultId;
        private final String inputTopic;
        private final String outputTopic;
        private int replicas = 1;
        private String groupId;
        private String inputFormat;
        private Map<String, Object> inputConfig;
        private String outputFormat = "JSON";
        private Map<String, Object> outputConfig = Map.of();
        private int maxBatchSize = 500;
        private Duration maxWait = Duration.ofMillis(100);
        private ProcessingGuarantee guarantee = ProcessingGuarantee.AT_LEAST_ONCE;
        private String deadLetterTopic;
        private Double decisionThreshold;
        private Integer version;
        private boolean followPromoted;

        private Builder(String resultId, String inputTopic, String outputTopic) {
            this.resultId = resultId;
            this.inputTopic = inputTopic;
            this.outputTopic = outputTopic;
        }

        /** Replicas to start; default 1. */
        public Builder replicas(int replicas) {
            this.replicas = replicas;
            return this;
        }

        /** The consumer group; default {@code kafkaml-inference-<id>}. */
        public Builder groupId(String groupId) {
            this.groupId = groupId;
            return this;
        }

        /** The inputs' format and settings, instead of those the model was trained on. */
        public Builder inputFormat(String format, Map<String, Object> config) {
            this.inputFormat = Objects.requireNonNull(format, "format");
            this.inputConfig = Objects.requireNonNull(config, "config");
            return this;
        }

        /** The predictions' format and settings; default JSON. */
        public Builder outputFormat(String format, Map<String, Object> config) {
            this.outputFormat = Objects.requireNonNull(format, "format");
            this.outputConfig = Objects.requireNonNull(config, "config");
            return this;
        }

        /** The most inputs in one forward pass; default 500. */
        public Builder maxBatchSize(int size) {
            this.maxBatchSize = size;
            return this;
        }

        /** The longest a poll waits for inputs; default 100 ms. */
        public Builder maxWait(Duration wait) {
            this.maxWait = wait;
            return this;
        }

        /** At-least-once (default) or exactly-once. */
        public Builder guarantee(ProcessingGuarantee guarantee) {
            this.guarantee = guarantee;
            return this;
        }

        /** Where failed inputs go; default none (see {@link InferenceExceptionHandler}). */
        public Builder deadLetterTopic(String topic) {
            this.deadLetterTopic = topic;
            return this;
        }

        /**
         * The probability from which a binary or multi-label output is predicted as class 1; default: the threshold
         * the model was trained with (0.5 unless its training spec set one).
         */
        public Builder decisionThreshold(double threshold) {
            this.decisionThreshold = threshold;
            return this;
        }

        /** Serves version {@code version} of the result's model, pinned; default: the result's trained model. */
        public Builder version(int version) {
            this.version = version;
            return this;
        }

        /**
         * Serves the result's promoted version and follows its promotions, switching between batches; default false.
         */
        public Builder followPromoted(boolean follow) {
            this.followPromoted = follow;
            return this;
        }

        /** Validates and returns the spec. */
        public InferenceSpec build() {
            return new InferenceSpec(
                    resultId,
                    inputTopic,
                    outputTopic,
                    replicas,
                    groupId,
                    inputFormat,
                    inputConfig,
                    outputFormat,
                    outputConfig,
                    maxBatchSize,
                    maxWait,
                    guarantee,
                    deadLetterTopic,
                    decisionThreshold,
                    version,
                    followPromoted);
        }
    }
}
