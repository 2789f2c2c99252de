package io.kafkaml.model;

/**
 * What registering a model found out by building its network.
 *
 * @param networkType {@code MultiLayerNetwork} or {@code ComputationGraph}
 * @param inputSize the floats one record's features flatten to, as {@link InputLayout#inputSize()} gives it
 *        (feed-forward features; height × width × channels; time steps × features; only channels or features per
 *        step when the model leaves the rest to the stream); 0 only when the input cannot be found
 * @param outputSize the number of outputs (summed over the outputs of a graph)
 * @param parameterCount the number of trainable parameters
 * @param outputKind classification or regression
 * @param layers the number of layers (vertices with parameters or activations)
 * @param inputLayout the input the network takes and how records are laid out for it; {@code null} only in
 *        records written before kafkaml recorded it (the definition then works it out again)
 */
public record ModelSummary(String networkType, long inputSize, long outputSize, long parameterCount,
        OutputKind outputKind, int layers, InputLayout inputLayout) {

    /** The same summary with another input layout (and the input size it gives). */
    public ModelSummary withInputLayout(InputLayout layout) {
        return new ModelSummary(networkType, layout.inputSize(), outputSize, parameterCount, outputKind, layers, layout);
    }
}
