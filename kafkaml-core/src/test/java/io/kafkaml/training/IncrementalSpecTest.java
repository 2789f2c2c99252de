package io.kafkaml.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.control.ControlMessage;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class IncrementalSpecTest {

    @Test
    void aSpecWithIncrementalAndSemiSupervisedSettingsSurvivesTheDeploymentRecord() {
        TrainingSpec spec = TrainingSpec.builder()
                .epochs(3)
                .incremental(IncrementalSpec.builder()
                        .groupId("g")
                        .windowRecords(0)
                        .windowTime(Duration.ofSeconds(5))
                        .streamTimeout(Duration.ofSeconds(9))
                        .maxWindows(4)
                        .indefinite(true)
                        .monitoring("Accuracy", PromotionPolicy.Direction.UP, 0.02)
                        .build())
                .semiSupervised(2, 0.8)
                .build();
        TrainingSpec read = TrainingSpec.fromMap(new java.util.LinkedHashMap<>(spec.toMap()));
        assertThat(read).isEqualTo(spec);
        assertThat(read.incremental().monitoringMetric()).isEqualTo("accuracy");
        assertThat(read.incremental().groupIdFor("7", List.of("m"))).isEqualTo("g");
        // a record of an earlier version has neither
        TrainingSpec old = TrainingSpec.fromMap(Map.of("batchSize", 4, "epochs", 2));
        assertThat(old.incremental()).isNull();
        assertThat(old.semiSupervised()).isNull();
        assertThat(old.incrementalOrDefault().windowRecords()).isEqualTo(1000);
    }

    @Test
    void theDefaultGroupIsDerivedFromTheDeploymentAndModel() {
        IncrementalSpec spec = IncrementalSpec.builder().build();
        assertThat(spec.groupIdFor("12", List.of("mlp"))).isEqualTo("kafkaml-incremental.12.mlp");
        assertThat(spec.groupIdFor("12", List.of("a", "b"))).isEqualTo("kafkaml-incremental.12");
    }

    @Test
    void kafkaMlsRuleWatchesTheHoldOutMetricOrWithoutOneTheTrainingLoss() {
        IncrementalSpec spec = IncrementalSpec.builder()
                .monitoring("loss", PromotionPolicy.Direction.DOWN, 0.05)
                .build();
        assertThat(spec.monitoredKey(true)).isEqualTo("val_loss");
        assertThat(spec.monitoredKey(false)).isEqualTo("loss");
        PromotionPolicy policy = spec.promotionPolicy(true);
        assertThat(policy.decide(Map.of("val_loss", 0.5), Optional.empty()).promote())
                .isTrue();
        assertThat(policy.decide(Map.of("val_loss", 0.47), Optional.of(Map.of("val_loss", 0.5)))
                        .promote())
                .isFalse();
        assertThat(policy.decide(Map.of("val_loss", 0.44), Optional.of(Map.of("val_loss", 0.5)))
                        .promote())
                .isTrue();
    }

    @Test
    void badSettingsAreRefusedNamingTheSetting() {
        assertThatThrownBy(() -> IncrementalSpec.builder().windowRecords(0).build())
                .hasMessageContaining("windowRecords > 0 or a windowTime");
        assertThatThrownBy(() ->
                        IncrementalSpec.builder().streamTimeout(Duration.ZERO).build())
                .hasMessageContaining("streamTimeout must be positive");
        assertThatThrownBy(() -> IncrementalSpec.builder()
                        .monitoring("loss", PromotionPolicy.Direction.DOWN, -1)
                        .build())
                .hasMessageContaining("improvement must be a number >= 0");
        assertThatThrownBy(() -> new SemiSupervisedSpec(0, 0.9)).hasMessageContaining("rounds must be >= 1");
        assertThatThrownBy(() -> new SemiSupervisedSpec(1, 0)).hasMessageContaining("confidence must be in (0, 1]");
    }

    @Test
    void kafkaMlsOnlineSemiSupervisedMessageNamesItsUnlabelledTopicBare() {
        // OnlineRawSink with unsupervised_topic: the labelled data as slices, the unlabelled topic bare
        String json = "{\"topic\": \"automl:0:0:9999\", \"unsupervised_topic\": \"unsupervised_automl\", "
                + "\"input_format\": \"RAW\", \"description\": \"\", \"input_config\": {\"data_type\": \"uint8\", "
                + "\"label_type\": \"uint8\", \"data_reshape\": \"28 28\", \"label_reshape\": \"\"}, "
                + "\"validation_rate\": 0.1, \"test_rate\": 0, \"total_msg\": 9999, \"dataset_restrictions\": {}, "
                + "\"incremental\": true}";
        ControlMessage message = ControlMessage.parse(new byte[] {1}, json.getBytes(StandardCharsets.UTF_8));
        assertThat(message.unboundedTopic()).isEmpty();
        assertThat(message.slices()).hasSize(1);
        assertThat(message.unboundedUnsupervisedTopic()).contains("unsupervised_automl");
        assertThat(message.unsupervisedSlices()).isEmpty();
        assertThat(message.deploymentId()).isEqualTo("1");
    }

    @Test
    void withoutAHoldOutTheLossIsWatchedGoingDownWhateverTheMonitoringMetricsDirectionAndTiesNeverPromote() {
        IncrementalSpec spec = IncrementalSpec.builder()
                .monitoring("accuracy", PromotionPolicy.Direction.UP, 0.01)
                .build();
        PromotionPolicy noHoldout = spec.promotionPolicy(false);
        java.util.Optional<java.util.Map<String, Double>> promoted =
                java.util.Optional.of(java.util.Map.of("loss", 0.5));
        assertThat(noHoldout.decide(java.util.Map.of("loss", 0.6), promoted).promote())
                .isFalse(); // worse
        assertThat(noHoldout.decide(java.util.Map.of("loss", 0.4), promoted).promote())
                .isTrue();
        PromotionPolicy holdout = spec.promotionPolicy(true);
        java.util.Optional<java.util.Map<String, Double>> best =
                java.util.Optional.of(java.util.Map.of("val_accuracy", 0.9));
        assertThat(holdout.decide(java.util.Map.of("val_accuracy", 0.95), best).promote())
                .isTrue();
        PromotionPolicy anyGain = PromotionPolicy.kafkaMl("val_accuracy", PromotionPolicy.Direction.UP, 0.0);
        assertThat(anyGain.decide(java.util.Map.of("val_accuracy", 0.9), best).promote())
                .isFalse(); // a tie
        assertThat(anyGain.decide(java.util.Map.of("val_accuracy", 0.91), best).promote())
                .isTrue();
    }
}
