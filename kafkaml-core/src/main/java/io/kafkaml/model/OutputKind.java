package io.kafkaml.model;

/**
 * What a network's output layer predicts, read from its loss function, activation and number of outputs when the
 * model is registered. The kind decides how training encodes the stream's labels, which metrics evaluation
 * reports, and what a served prediction holds (see the README section "Label kinds").
 *
 * <table>
 * <caption>kinds, labels and metrics</caption>
 * <tr><th>kind</th><th>output layer</th><th>labels per record</th><th>metrics</th></tr>
 * <tr><td>{@link #BINARY}</td><td>1 sigmoid unit, binary cross-entropy (XENT)</td><td>one value, 0 or 1</td>
 *     <td>accuracy, precision, recall, f1 of class 1 at the decision threshold; 2×2 confusion matrix</td></tr>
 * <tr><td>{@link #MULTI_CLASS}</td><td>softmax, MCXENT / NLL (one-hot labels) or SPARSE_MCXENT (class index)</td>
 *     <td>a class index (or a one-hot row)</td><td>accuracy, precision, recall, f1; n×n confusion matrix</td></tr>
 * <tr><td>{@link #MULTI_LABEL}</td><td>several sigmoid units, binary cross-entropy</td><td>one 0/1 value per
 *     output</td><td>accuracy, precision, recall, f1 averaged over labels, and per label at the threshold</td></tr>
 * <tr><td>{@link #REGRESSION}</td><td>anything else (MSE, MAE, ...)</td><td>one value per output</td>
 *     <td>mse, mae, rmse, r2 averaged over outputs, and per output when there are several</td></tr>
 * </table>
 *
 * <p>Thread safety: immutable, as every enum; safe to share between threads. Lifecycle: constants, no resources.
 */
public enum OutputKind {
    /** One sigmoid unit with a binary cross-entropy loss: class 1 when the output is at least the threshold. */
    BINARY,
    /** Softmax over two or more classes with a (sparse) multi-class cross-entropy or likelihood loss. */
    MULTI_CLASS,
    /** Several sigmoid units with a binary cross-entropy loss: each output is a yes/no label of its own. */
    MULTI_LABEL,
    /** Real values: any other output layer (MSE, MAE, ... losses). */
    REGRESSION,
    /**
     * What model summaries recorded before the kinds above existed (softmax or sigmoid with a class loss). Never
     * produced any more; a recorded summary that holds it is summarized again from its configuration when read.
     *
     * @deprecated read from old registry records only; use {@link #BINARY}, {@link #MULTI_CLASS} or
     *     {@link #MULTI_LABEL}
     */
    @Deprecated
    CLASSIFICATION;

    /** Whether predictions are classes (every kind but {@link #REGRESSION}). */
    public boolean isClassifier() {
        return this != REGRESSION;
    }
}
