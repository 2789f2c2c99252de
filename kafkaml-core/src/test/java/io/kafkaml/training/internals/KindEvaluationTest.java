package io.kafkaml.training.internals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.kafkaml.model.OutputKind;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;

/** The metrics of each output kind, on hand-counted examples. */
class KindEvaluationTest {

    @Test
    void binaryCountsClassOneFromTheThresholdInATwoByTwoMatrix() {
        var labels = Nd4j.createFromArray(new float[][] {{1}, {1}, {0}, {0}, {1}});
        var predicted = Nd4j.createFromArray(new float[][] {{0.5f}, {0.2f}, {0.7f}, {0.1f}, {0.9f}});
        TrainingRunner.KindEvaluation half = new TrainingRunner.KindEvaluation(OutputKind.BINARY, 1, 0.5);
        half.add(labels, predicted, 0.3, 5);
        // 0.5 counts as class 1: TP = 2 (0.5, 0.9), FN = 1 (0.2), FP = 1 (0.7), TN = 1 (0.1)
        assertThat(half.confusion()).isEqualTo(new long[][] {{1, 1}, {1, 2}});
        Map<String, Double> metrics = half.metrics();
        assertThat(metrics.get("accuracy")).isCloseTo(3.0 / 5, within(1e-9));
        assertThat(metrics.get("precision")).isCloseTo(2.0 / 3, within(1e-9));
        assertThat(metrics.get("recall")).isCloseTo(2.0 / 3, within(1e-9));
        assertThat(metrics.get("loss")).isCloseTo(0.3, within(1e-9));

        TrainingRunner.KindEvaluation strict = new TrainingRunner.KindEvaluation(OutputKind.BINARY, 1, 0.8);
        strict.add(labels, predicted, 0.3, 5);
        assertThat(strict.confusion()).isEqualTo(new long[][] {{2, 0}, {2, 1}});
    }

    @Test
    void multiClassTakesClassIndicesAsWellAsOneHotRows() {
        var predicted = Nd4j.createFromArray(
                new float[][] {{0.7f, 0.2f, 0.1f}, {0.1f, 0.8f, 0.1f}, {0.3f, 0.3f, 0.4f}, {0.6f, 0.3f, 0.1f}});
        TrainingRunner.KindEvaluation indices = new TrainingRunner.KindEvaluation(OutputKind.MULTI_CLASS, 3, 0.5);
        indices.add(Nd4j.createFromArray(new float[][] {{0}, {1}, {2}, {1}}), predicted, 0, 4);
        TrainingRunner.KindEvaluation oneHot = new TrainingRunner.KindEvaluation(OutputKind.MULTI_CLASS, 3, 0.5);
        oneHot.add(Nd4j.createFromArray(new float[][] {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {0, 1, 0}}), predicted, 0, 4);
        assertThat(indices.confusion())
                .isEqualTo(oneHot.confusion())
                .isEqualTo(new long[][] {{1, 0, 0}, {1, 1, 0}, {0, 0, 1}});
        assertThat(indices.metrics()).isEqualTo(oneHot.metrics());
        assertThat(indices.metrics().get("accuracy")).isCloseTo(0.75, within(1e-9));
    }

    @Test
    void multiLabelReportsEachLabelAtTheThresholdAndTheirAverage() {
        var labels = Nd4j.createFromArray(new float[][] {{1, 0}, {1, 1}, {0, 1}, {0, 0}});
        var predicted = Nd4j.createFromArray(new float[][] {{0.9f, 0.1f}, {0.6f, 0.4f}, {0.2f, 0.7f}, {0.55f, 0.2f}});
        TrainingRunner.KindEvaluation evaluation = new TrainingRunner.KindEvaluation(OutputKind.MULTI_LABEL, 2, 0.5);
        evaluation.add(labels, predicted, 0, 4);
        Map<String, Double> metrics = evaluation.metrics();
        // label 0: predicted 1,1,0,1 vs 1,1,0,0 -> accuracy 3/4, precision 2/3, recall 1
        assertThat(metrics.get("accuracy_0")).isCloseTo(0.75, within(1e-9));
        assertThat(metrics.get("precision_0")).isCloseTo(2.0 / 3, within(1e-9));
        assertThat(metrics.get("recall_0")).isCloseTo(1.0, within(1e-9));
        // label 1: predicted 0,0,1,0 vs 0,1,1,0 -> accuracy 3/4, precision 1, recall 1/2
        assertThat(metrics.get("precision_1")).isCloseTo(1.0, within(1e-9));
        assertThat(metrics.get("recall_1")).isCloseTo(0.5, within(1e-9));
        assertThat(metrics.get("accuracy")).isCloseTo(0.75, within(1e-9));
        assertThat(metrics.get("recall")).isCloseTo(0.75, within(1e-9));
        assertThat(evaluation.confusion()).isNull();
    }

    @Test
    void regressionWithSeveralOutputsReportsEachOutputAndTheAverage() {
        var labels = Nd4j.createFromArray(new float[][] {{1, 10}, {2, 20}, {3, 30}});
        var predicted = Nd4j.createFromArray(new float[][] {{1, 12}, {2, 18}, {4, 30}});
        TrainingRunner.KindEvaluation evaluation = new TrainingRunner.KindEvaluation(OutputKind.REGRESSION, 2, 0.5);
        evaluation.add(labels, predicted, 0, 3);
        Map<String, Double> metrics = evaluation.metrics();
        assertThat(metrics.get("mse_0")).isCloseTo(1.0 / 3, within(1e-6));
        assertThat(metrics.get("mse_1")).isCloseTo(8.0 / 3, within(1e-6));
        assertThat(metrics.get("mse")).isCloseTo(1.5, within(1e-6));
        assertThat(metrics.get("mae_1")).isCloseTo(4.0 / 3, within(1e-6));
        assertThat(metrics).containsKeys("rmse", "r2", "rmse_0", "r2_1");
        assertThat(evaluation.confusion()).isNull();
    }
}
