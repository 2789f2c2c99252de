package io.kafkaml.training;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Semi-supervised training as Kafka-ML does it (its {@code UNSUPERVISED_ROUNDS} and {@code CONFIDENCE} deployment
 * settings): the model is first trained on the labelled stream; then, for up to {@code rounds} rounds, it predicts the
 * unlabelled records of the control message's {@code unsupervised_topic}, takes those whose confidence (the largest
 * class probability; for one sigmoid output the larger of p and 1 − p) is at least {@code confidence}, labels them
 * with the predicted class (pseudo-labels), adds them to the training records, removes them from the unlabelled pool,
 * and trains again for the spec's epochs. Rounds stop early when no record reaches the confidence or none is left.
 * Classifiers only (multi-class or binary); a stream without {@code unsupervised_topic} is trained as usual.
 *
 * <p>Thread safety: immutable (a record of immutable values) and thread-safe. Lifecycle: a value, no resources.
 *
 * @param rounds the most pseudo-labelling rounds, &gt;= 1
 * @param confidence the least confidence a pseudo-label needs, in (0, 1]
 */
public record SemiSupervisedSpec(int rounds, double confidence) {

    /**
     * Validates the settings.
     *
     * @throws IllegalArgumentException naming the setting and the bad value
     */
    public SemiSupervisedSpec {
        if (rounds < 1) {
            throw new IllegalArgumentException("unsupervised rounds must be >= 1, was " + rounds);
        }
        if (!(confidence > 0 && confidence <= 1)) {
            throw new IllegalArgumentException("confidence must be in (0, 1], was " + confidence);
        }
    }

    /** The settings as plain values, as a deployment records them. */
    public Map<String, Object> toMap() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("rounds", rounds);
        map.put("confidence", confidence);
        return map;
    }

    /** The settings {@link #toMap()} recorded. */
    public static SemiSupervisedSpec fromMap(Map<?, ?> map) {
        return new SemiSupervisedSpec(
                Integer.parseInt(String.valueOf(map.get("rounds"))),
                Double.parseDouble(String.valueOf(map.get("confidence"))));
    }
}
