package io.kafkaml.samples.realdata;

import io.kafkaml.dataset.DataSplit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.preprocessor.DataNormalization;
import org.nd4j.linalg.dataset.api.preprocessor.NormalizerMinMaxScaler;
import org.nd4j.linalg.dataset.api.preprocessor.NormalizerStandardize;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The baseline: plain DL4J trained from memory on the split a training deployment uses, with the same model and
 * seed, the same normalization fitted on the training split, the same batches in the same order (the stream is
 * read in order, without reshuffling) and the same number of epochs. Nothing of kafkaml runs here but the split
 * assignment ({@link io.kafkaml.dataset.StreamDataSets#splitAssignment}), which is what makes the split the same.
 */
public final class PlainDl4j {

    private PlainDl4j() {}

    /**
     * What plain DL4J reached.
     *
     * @param test the test split's metrics ({@link Metrics})
     * @param millis the time to fit (normalization and epochs, without evaluation)
     */
    public record Outcome(Map<String, Double> test, long millis) {}

    /**
     * Trains {@code sample}'s model on the training rows of {@code stream} and scores it on the test rows.
     *
     * @param stream the rows in the order they were sent
     * @param splits each row's split, in the same order
     */
    public static Outcome train(Sample sample, Table stream, DataSplit[] splits, int epochs, int batchSize, long seed) {
        DataSet train = dataSet(sample, stream, rowsOf(splits, DataSplit.TRAIN));
        int[] testRows = rowsOf(splits, DataSplit.TEST);
        DataSet test = dataSet(sample, stream, testRows);
        long begin = System.nanoTime();
        DataNormalization normalizer = switch (sample.normalization()) {
            case NONE -> null;
            case STANDARDIZE -> new NormalizerStandardize();
            case MIN_MAX -> new NormalizerMinMaxScaler();
        };
        if (normalizer != null) {
            normalizer.fit(train);
            normalizer.preProcess(train);
            normalizer.preProcess(test);
        }
        MultiLayerNetwork network = new MultiLayerNetwork(sample.model(seed));
        network.init();
        List<DataSet> batches = train.batchBy(batchSize);
        for (int epoch = 0; epoch < epochs; epoch++) {
            for (DataSet batch : batches) {
                network.fit(batch);
            }
        }
        long millis = (System.nanoTime() - begin) / 1_000_000;
        INDArray output = network.output(test.getFeatures(), false);
        return new Outcome(score(sample, stream, testRows, output), millis);
    }

    /** The metrics of a network's {@code output} for {@code rows} of {@code stream}. */
    static Map<String, Double> score(Sample sample, Table stream, int[] rows, INDArray output) {
        float[] values = output.castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT)
                .dup('c')
                .data()
                .asFloat();
        int width = (int) output.size(1);
        return switch (sample.labelKind()) {
            case CLASSES -> {
                int[] predicted = new int[rows.length];
                for (int i = 0; i < rows.length; i++) {
                    int best = 0;
                    for (int c = 1; c < width; c++) {
                        if (values[i * width + c] > values[i * width + best]) {
                            best = c;
                        }
                    }
                    predicted[i] = best;
                }
                yield Metrics.classification(classes(stream, rows), predicted, stream.classes());
            }
            case BINARY -> {
                int[] predicted = new int[rows.length];
                for (int i = 0; i < rows.length; i++) {
                    predicted[i] = values[i] >= 0.5f ? 1 : 0;
                }
                yield Metrics.classification(classes(stream, rows), predicted, 2);
            }
            case REGRESSION -> Metrics.regression(targets(stream, rows), values);
        };
    }

    /** The indices of the rows in {@code split}, in stream order. */
    public static int[] rowsOf(DataSplit[] splits, DataSplit split) {
        List<Integer> rows = new ArrayList<>();
        for (int i = 0; i < splits.length; i++) {
            if (splits[i] == split) {
                rows.add(i);
            }
        }
        return rows.stream().mapToInt(Integer::intValue).toArray();
    }

    static int[] classes(Table table, int[] rows) {
        int[] classes = new int[rows.length];
        for (int i = 0; i < rows.length; i++) {
            classes[i] = (int) table.labels()[rows[i]];
        }
        return classes;
    }

    static float[] targets(Table table, int[] rows) {
        float[] targets = new float[rows.length];
        for (int i = 0; i < rows.length; i++) {
            targets[i] = table.labels()[rows[i]];
        }
        return targets;
    }

    private static DataSet dataSet(Sample sample, Table stream, int[] rows) {
        Table part = stream.select(rows);
        float[][] labels = new float[rows.length][];
        for (int i = 0; i < rows.length; i++) {
            float label = part.labels()[i];
            if (sample.labelKind() == Sample.LabelKind.CLASSES) {
                labels[i] = new float[stream.classes()];
                labels[i][(int) label] = 1;
            } else {
                labels[i] = new float[] {label};
            }
        }
        return new DataSet(sample.layout(part.features()), Nd4j.createFromArray(labels));
    }
}
