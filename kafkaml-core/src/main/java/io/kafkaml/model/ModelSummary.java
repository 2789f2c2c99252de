package io.kafkaml.model;

/**
 * What registering a model found out by building its network.
 *
 * <p>Thread safety: immutable (a record; its collections are copied or unmodifiable) and thread-safe. Lifecycle: a
 * value, no resources.
 *
 * @param networkType {@code MultiLayerNetwork} or {@code ComputationGraph}
 * @param inputSize the floats one record's features flatten to, as {@link InputLayout#inputSize()} gives it
 *        (feed-forward features; height × width × channels; time steps × features; only channels or features per
 *        step when the model leaves the rest to the stream); 0 only when the input cannot be found
 * @param outputSize the number of outputs (summed over the outputs of a graph)
 * @param parameterCount the number of trainable parameters
 * @param outputKind what the outputs predict: binary, multi-class, multi-label or regression
 * @param layers the number of layers (vertices with parameters or activations)
 * @param inputLayout the input the network takes and how records are laid out for it; {@code null} only in
 *        records written before kafkaml recorded it (the definition then works it out again)
 * @param classIndexLabels whether the loss takes class indices, one value per record ({@code [batch, 1]}, DL4J's
 *        {@code SPARSE_MCXENT}, Keras' {@code sparse_categorical_crossentropy}) instead of one-hot rows
 * @param lossProblem why the model cannot be trained (it has no usable loss), or {@code null} when it can; such a
 *        model can still be served
 */
public record ModelSummary(
        String networkType,
        long inputSize,
        long outputSize,
        long parameterCount,
        OutputKind outputKind,
        int layers,
        InputLayout inputLayout,
        boolean classIndexLabels,
        String lossProblem) {

    /** A summary of a trainable model whose loss takes one-hot or real-valued labels. */
    public ModelSummary(
            String networkType,
            long inputSize,
            long outputSize,
            long parameterCount,
            OutputKind outputKind,
            int layers,
            InputLayout inputLayout) {
        this(networkType, inputSize, outputSize, parameterCount, outputKind, layers, inputLayout, false, null);
    }

    /** The same summary with another input layout (and the input size it gives). */
    public ModelSummary withInputLayout(InputLayout layout) {
        return new ModelSummary(
                networkType,
                layout.inputSize(),
                outputSize,
                parameterCount,
                outputKind,
                layers,
                layout,
                classIndexLabels,
                lossProblem);
    }

    /** Whether the model has a usable loss, so that it can be trained. */
    public boolean trainable() {
        return lossProblem == null;
    }

    /** The same summary, recording that the model cannot be trained and why. */
    public ModelSummary withLossProblem(String problem) {
        return new ModelSummary(
                networkType,
                inputSize,
                outputSize,
                parameterCount,
                outputKind,
                layers,
                inputLayout,
                classIndexLabels,
                problem);
    }
}
