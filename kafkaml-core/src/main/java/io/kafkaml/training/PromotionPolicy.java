package io.kafkaml.training;

import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Decides whether a candidate model version is promoted into serving, from its metrics and those of the version
 * promoted now. An incremental training run asks it after each window it fits; a promoted version is what inference
 * deployments that follow the result switch to ({@link io.kafkaml.registry.Registry#promote}).
 *
 * <pre>{@code
 * PromotionPolicy policy = PromotionPolicy.kafkaMl("val_loss", PromotionPolicy.Direction.DOWN, 0.01);
 * PromotionPolicy.Decision decision = policy.decide(Map.of("val_loss", 0.31), Optional.of(Map.of("val_loss", 0.35)));
 * // decision.promote() == true, decision.reason() == "promoted: val_loss 0.31 < 0.35 − 0.01"
 * }</pre>
 *
 * <p>An implementation must be thread-safe and quick (it runs on the training thread) and must not throw: a candidate
 * it cannot judge is not promoted, with a reason that says why.
 */
@FunctionalInterface
public interface PromotionPolicy {

    /**
     * Decides for one candidate.
     *
     * @param candidate the candidate's metrics by name (e.g. {@code val_loss}, {@code val_accuracy})
     * @param promoted the metrics of the version promoted now, or empty if none is
     * @return whether to promote it, and why (short, one line: it is recorded with the version)
     */
    Decision decide(Map<String, Double> candidate, Optional<Map<String, Double>> promoted);

    /**
     * A decision and its reason.
     *
     * @param promote whether the candidate is promoted
     * @param reason why, one short line, e.g. {@code promoted: val_loss 0.31 < 0.35 − 0.01}
     */
    record Decision(boolean promote, String reason) {

        /** Checks the reason is there. */
        public Decision {
            Objects.requireNonNull(reason, "reason");
        }
    }

    /** Which way a monitored metric improves: Kafka-ML's {@code change} ({@code up} or {@code down}). */
    enum Direction {
        /** Larger is better (accuracy, F1). */
        UP,
        /** Smaller is better (loss, MSE). */
        DOWN;

        /**
         * Kafka-ML's spelling, {@code up} or {@code down}, in any case.
         *
         * @throws IllegalArgumentException naming the value if it is neither
         */
        public static Direction of(String change) {
            if (change != null) {
                for (Direction direction : values()) {
                    if (direction.name().equalsIgnoreCase(change.trim())) {
                        return direction;
                    }
                }
            }
            throw new IllegalArgumentException("change must be 'up' or 'down', was '" + change + "'");
        }
    }

    /** Promotes every candidate (e.g. to serve whatever was trained last). */
    static PromotionPolicy always() {
        return (candidate, promoted) -> new Decision(true, "promoted: every version is");
    }

    /** Promotes no candidate (versions are only recorded, and promoted by hand). */
    static PromotionPolicy never() {
        return (candidate, promoted) -> new Decision(false, "not promoted: promotion is manual");
    }

    /**
     * Kafka-ML's rule for incremental training in its indefinite mode: a candidate is promoted when its monitored
     * metric improves on the reference (the promoted version's value) by at least {@code minImprovement} in the
     * metric's direction: {@code candidate - reference >= minImprovement} for {@link Direction#UP},
     * {@code reference - candidate >= minImprovement} for {@link Direction#DOWN}. Its value then becomes the reference.
     * Source: Kafka-ML, {@code model_training/tensorflow/mainTraining.py}, {@code train_incremental_model}
     * (settings {@code monitoring_metric}, {@code change}, {@code improvement}; it monitors
     * {@code 'val_' + monitoring_metric}, so pass the validation metric's name here, e.g. {@code val_loss}).
     *
     * <p>One difference: Kafka-ML takes the first window's value as the reference without publishing that model;
     * here, when no version is promoted yet, the first candidate that has the metric is promoted (so that there is
     * something to serve) and becomes the reference. A candidate without the metric, or with a value that is not a
     * finite number, is not promoted; nor is one when the promoted version lacks the metric (the reason says so).
     *
     * @param metric the metric's name in the candidate's metrics, e.g. {@code val_loss}
     * @param direction which way it improves
     * @param minImprovement the least improvement that promotes, in the metric's unit ({@code >= 0})
     * @throws IllegalArgumentException if {@code minImprovement} is negative or not finite, or the metric is blank
     */
    static PromotionPolicy kafkaMl(String metric, Direction direction, double minImprovement) {
        Objects.requireNonNull(metric, "metric");
        Objects.requireNonNull(direction, "direction");
        if (metric.isBlank()) {
            throw new IllegalArgumentException("the monitored metric's name is blank");
        }
        if (!(minImprovement >= 0) || Double.isInfinite(minImprovement)) {
            throw new IllegalArgumentException(
                    "the minimum improvement must be a finite number >= 0, was " + minImprovement);
        }
        return (candidate, promoted) -> {
            Double value = candidate.get(metric);
            if (value == null || !Double.isFinite(value)) {
                return new Decision(false, "not promoted: metric " + metric + " is " + value + " in the candidate");
            }
            if (promoted.isEmpty()) {
                return new Decision(true, "promoted: the first version (" + metric + " " + format(value) + ")");
            }
            Double reference = promoted.get().get(metric);
            if (reference == null || !Double.isFinite(reference)) {
                return new Decision(
                        false, "not promoted: metric " + metric + " is " + reference + " in the promoted version");
            }
            double gain = direction == Direction.UP ? value - reference : reference - value;
            // strictly better, as Kafka-ML (`reference != last`): a tie never promotes, even with improvement 0
            boolean better = gain > 0 && gain >= minImprovement;
            String comparison = direction == Direction.UP
                    ? metric + " " + format(value) + (better ? " > " : " not > ") + format(reference) + " + "
                            + format(minImprovement)
                    : metric + " " + format(value) + (better ? " < " : " not < ") + format(reference) + " − "
                            + format(minImprovement);
            return new Decision(better, (better ? "promoted: " : "not promoted: ") + comparison);
        };
    }

    private static String format(double value) {
        return new java.math.BigDecimal(value)
                .round(new java.math.MathContext(4))
                .stripTrailingZeros()
                .toPlainString();
    }
}
