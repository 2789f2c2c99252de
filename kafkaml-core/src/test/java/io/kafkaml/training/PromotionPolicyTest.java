package io.kafkaml.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.training.PromotionPolicy.Decision;
import io.kafkaml.training.PromotionPolicy.Direction;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Kafka-ML's promotion rule ({@code mainTraining.py}, {@code train_incremental_model}) and its edges. */
class PromotionPolicyTest {

    private static Optional<Map<String, Double>> promoted(String metric, double value) {
        return Optional.of(Map.of(metric, value));
    }

    @Test
    void downPromotesWhenTheMetricFallsByAtLeastTheMinimumImprovement() {
        PromotionPolicy policy = PromotionPolicy.kafkaMl("val_loss", Direction.DOWN, 0.01);
        Decision better = policy.decide(Map.of("val_loss", 0.31), promoted("val_loss", 0.35));
        assertThat(better).isEqualTo(new Decision(true, "promoted: val_loss 0.31 < 0.35 − 0.01"));
        assertThat(policy.decide(Map.of("val_loss", 0.345), promoted("val_loss", 0.35))
                        .promote())
                .isFalse();
        assertThat(policy.decide(Map.of("val_loss", 0.40), promoted("val_loss", 0.35)))
                .isEqualTo(new Decision(false, "not promoted: val_loss 0.4 not < 0.35 − 0.01"));
        // Kafka-ML's comparison is >=: exactly the minimum improvement promotes
        assertThat(PromotionPolicy.kafkaMl("val_loss", Direction.DOWN, 0.25)
                        .decide(Map.of("val_loss", 0.25), promoted("val_loss", 0.5))
                        .promote())
                .isTrue();
    }

    @Test
    void upPromotesWhenTheMetricRisesByAtLeastTheMinimumImprovement() {
        PromotionPolicy policy = PromotionPolicy.kafkaMl("val_accuracy", Direction.of("up"), 0.02);
        assertThat(policy.decide(Map.of("val_accuracy", 0.93), promoted("val_accuracy", 0.90)))
                .isEqualTo(new Decision(true, "promoted: val_accuracy 0.93 > 0.9 + 0.02"));
        assertThat(policy.decide(Map.of("val_accuracy", 0.91), promoted("val_accuracy", 0.90))
                        .promote())
                .isFalse();
        assertThat(policy.decide(Map.of("val_accuracy", 0.80), promoted("val_accuracy", 0.90))
                        .promote())
                .isFalse();
    }

    @Test
    void theFirstCandidateIsPromotedAndOneThatCannotBeJudgedIsNot() {
        PromotionPolicy policy = PromotionPolicy.kafkaMl("val_loss", Direction.DOWN, 0);
        assertThat(policy.decide(Map.of("val_loss", 0.7), Optional.empty()))
                .isEqualTo(new Decision(true, "promoted: the first version (val_loss 0.7)"));
        assertThat(policy.decide(Map.of("loss", 0.1), Optional.empty()))
                .isEqualTo(new Decision(false, "not promoted: metric val_loss is null in the candidate"));
        assertThat(policy.decide(Map.of("val_loss", Double.NaN), promoted("val_loss", 0.5))
                        .promote())
                .isFalse();
        assertThat(policy.decide(Map.of("val_loss", 0.1), Optional.of(Map.of("loss", 0.5))))
                .isEqualTo(new Decision(false, "not promoted: metric val_loss is null in the promoted version"));
    }

    @Test
    void badSettingsAreRefusedNamingTheValue() {
        assertThatThrownBy(() -> PromotionPolicy.kafkaMl("val_loss", Direction.DOWN, -0.1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("-0.1");
        assertThatThrownBy(() -> PromotionPolicy.kafkaMl(" ", Direction.DOWN, 0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Direction.of("sideways"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'sideways'");
        assertThat(PromotionPolicy.always().decide(Map.of(), Optional.empty()).promote())
                .isTrue();
        assertThat(PromotionPolicy.never().decide(Map.of(), Optional.empty()).promote())
                .isFalse();
    }
}
