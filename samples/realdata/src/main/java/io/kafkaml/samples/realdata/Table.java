package io.kafkaml.samples.realdata;

import java.util.List;
import java.util.Objects;

/**
 * A labelled data set in memory: one feature row and one label per example.
 *
 * @param name the data set's name, for messages
 * @param columns the feature names, one per column of {@code features}
 * @param features {@code rows × columns} values, in file order unless reordered
 * @param labels one per row: a class index {@code 0 .. classes-1} for a classification set, the target value for a
 *     regression set
 * @param classes the number of classes, or 0 for a regression set
 */
public record Table(String name, List<String> columns, float[][] features, float[] labels, int classes) {

    /** Checks that every row has one value per column and one label, and that class labels are class indices. */
    public Table {
        Objects.requireNonNull(name, "name");
        columns = List.copyOf(columns);
        if (features.length != labels.length) {
            throw new IllegalArgumentException(
                    name + ": " + features.length + " feature rows but " + labels.length + " labels");
        }
        for (int i = 0; i < features.length; i++) {
            if (features[i].length != columns.size()) {
                throw new IllegalArgumentException(
                        name + ": row " + i + " has " + features[i].length + " values, expected " + columns.size());
            }
            if (classes > 0 && (labels[i] != Math.rint(labels[i]) || labels[i] < 0 || labels[i] >= classes)) {
                throw new IllegalArgumentException(
                        name + ": row " + i + " has label " + labels[i] + ", not a class index below " + classes);
            }
        }
    }

    /** The number of rows. */
    public int rows() {
        return features.length;
    }

    /** Whether the labels are class indices (otherwise regression targets). */
    public boolean isClassification() {
        return classes > 0;
    }

    /** A table of the given rows of this one, in the given order (rows are shared, not copied). */
    public Table select(int[] rows) {
        float[][] selected = new float[rows.length][];
        float[] selectedLabels = new float[rows.length];
        for (int i = 0; i < rows.length; i++) {
            selected[i] = features[rows[i]];
            selectedLabels[i] = labels[rows[i]];
        }
        return new Table(name, columns, selected, selectedLabels, classes);
    }
}
