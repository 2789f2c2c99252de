package io.kafkaml.samples.realdata;

import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.evaluation.classification.Evaluation;

/**
 * Test metrics computed the same way for predictions from any source (a served model's output topic, plain DL4J,
 * a trivial predictor), with the names a training result uses: classification {@code accuracy} and {@code f1}
 * (DL4J's {@link Evaluation}: macro-averaged over classes, or of class 1 for two classes), regression {@code mse},
 * {@code mae} and {@code r2} (1 − residual sum of squares / total sum of squares about the mean of the actual
 * values).
 */
public final class Metrics {

    private Metrics() {}

    /**
     * Classification metrics.
     *
     * @param actual class indices
     * @param predicted class indices, one per actual
     */
    public static Map<String, Double> classification(int[] actual, int[] predicted, int classes) {
        check(actual.length, predicted.length);
        Evaluation evaluation = new Evaluation(classes);
        for (int i = 0; i < actual.length; i++) {
            evaluation.eval(predicted[i], actual[i]);
        }
        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put("accuracy", evaluation.accuracy());
        metrics.put("f1", evaluation.f1());
        return metrics;
    }

    /**
     * Regression metrics of one output.
     *
     * @param actual target values
     * @param predicted predictions, one per actual
     */
    public static Map<String, Double> regression(float[] actual, float[] predicted) {
        check(actual.length, predicted.length);
        double mean = 0;
        for (float value : actual) {
            mean += value;
        }
        mean /= actual.length;
        double squares = 0;
        double absolute = 0;
        double total = 0;
        for (int i = 0; i < actual.length; i++) {
            double error = (double) predicted[i] - actual[i];
            squares += error * error;
            absolute += Math.abs(error);
            total += (actual[i] - mean) * (actual[i] - mean);
        }
        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put("mse", squares / actual.length);
        metrics.put("mae", absolute / actual.length);
        metrics.put("r2", 1 - squares / total);
        return metrics;
    }

    private static void check(int actual, int predicted) {
        if (actual == 0 || actual != predicted) {
            throw new IllegalArgumentException(actual + " actual values and " + predicted + " predictions");
        }
    }
}
