package io.kafkaml.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.EpochMetrics;
import io.kafkaml.registry.TrainingResult;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class TrainingMetricsTest {

    @Test
    void epochsLossValidationRecordsAndResultsAreMetersOfTheirDeploymentAndModel() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        TrainingMetrics metrics = new TrainingMetrics();
        metrics.bindTo(registry);
        metrics.onBatch("7", 1, 32);
        metrics.onBatch("7", 1, 8);
        metrics.onEpoch("7", "mlp", new EpochMetrics(1, 0.9, Map.of("accuracy", 0.5), 120), 2);
        metrics.onBatch("7", 2, 40);
        metrics.onEpoch("7", "mlp", new EpochMetrics(2, 0.4, Map.of("accuracy", 0.75), 80), 2);
        metrics.onEpoch("7", "wide", new EpochMetrics(1, 1.5, Map.of(), 10), 2);

        assertThat(registry.get("kafkaml.training.epochs")
                        .tags("deployment", "7", "model", "mlp")
                        .counter()
                        .count())
                .isEqualTo(2);
        assertThat(registry.get("kafkaml.training.loss")
                        .tags("model", "mlp")
                        .gauge()
                        .value())
                .isEqualTo(0.4);
        assertThat(registry.get("kafkaml.training.loss")
                        .tags("model", "wide")
                        .gauge()
                        .value())
                .isEqualTo(1.5);
        assertThat(registry.get("kafkaml.training.validation")
                        .tags("model", "mlp", "metric", "accuracy")
                        .gauge()
                        .value())
                .isEqualTo(0.75);
        assertThat(registry.get("kafkaml.training.records")
                        .tags("deployment", "7")
                        .counter()
                        .count())
                .isEqualTo(80);
        var epochTime = registry.get("kafkaml.training.epoch.duration")
                .tags("model", "mlp")
                .timer();
        assertThat(epochTime.count()).isEqualTo(2);
        assertThat(epochTime.totalTime(TimeUnit.MILLISECONDS)).isEqualTo(200);

        metrics.onResult(new TrainingResult(
                "7.mlp",
                "7",
                "mlp",
                DeploymentStatus.FINISHED,
                List.of(),
                Map.of(),
                null,
                200,
                null,
                null,
                null,
                Instant.now()));
        assertThat(registry.get("kafkaml.training.results")
                        .tags("model", "mlp", "status", "FINISHED")
                        .counter()
                        .count())
                .isEqualTo(1);

        metrics.forget("7");
        assertThat(registry.find("kafkaml.training.loss").meters()).isEmpty();
        assertThat(registry.find("kafkaml.training.epochs").meters()).isEmpty();
    }

    @Test
    void anEpochBeforeAnyBindingIsNotRecordedAndDoesNotFail() {
        TrainingMetrics metrics = new TrainingMetrics();
        metrics.onEpoch("1", "m", new EpochMetrics(1, 0.1, Map.of(), 1), 1);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        metrics.bindTo(registry);
        metrics.onEpoch("1", "m", new EpochMetrics(2, 0.2, Map.of(), 1), 2);
        assertThat(registry.get("kafkaml.training.epochs").counter().count()).isEqualTo(1);
        assertThat(registry.get("kafkaml.training.loss").gauge().value()).isEqualTo(0.2);
    }

    @Test
    void aDeploymentTrainedAgainAfterForgetGetsFreshMetersInTheRegistry() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        TrainingMetrics metrics = new TrainingMetrics();
        metrics.bindTo(registry);
        metrics.onEpoch("3", "m", new EpochMetrics(1, 0.5, Map.of("accuracy", 0.6), 5), 1);
        metrics.onBatch("3", 1, 10);
        var gauge = registry.get("kafkaml.training.loss").gauge();
        metrics.onEpoch("3", "m", new EpochMetrics(2, 0.3, Map.of("accuracy", 0.7), 5), 2);
        assertThat(registry.get("kafkaml.training.loss").gauge())
                .as("one gauge per model, registered once")
                .isSameAs(gauge);
        assertThat(registry.find("kafkaml.training.loss").meters()).hasSize(1);

        metrics.forget("3");
        metrics.onEpoch("3", "m", new EpochMetrics(1, 0.9, Map.of("accuracy", 0.1), 5), 1);
        metrics.onBatch("3", 1, 4);
        assertThat(registry.get("kafkaml.training.epochs").counter().count()).isEqualTo(1);
        assertThat(registry.get("kafkaml.training.loss").gauge().value()).isEqualTo(0.9);
        assertThat(registry.get("kafkaml.training.validation").gauge().value()).isEqualTo(0.1);
        assertThat(registry.get("kafkaml.training.records").counter().count()).isEqualTo(4);
    }
}
