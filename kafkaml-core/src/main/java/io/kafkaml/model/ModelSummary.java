package io.kafkaml.model;

/**
 * What registering a model found out by building its network.
 *
 * @param networkType {@code MultiLayerNetwork} or {@code ComputationGraph}
 * @param inputSize the number of input features (of the first input, for a graph)
 * @param outputSize the number of outputs (summed over the outputs of a graph)
 * @param parameterCount the number of trainable parameters
 * @param outputKind classification or regression
 * @param layers the number of layers (vertices with parameters or activations)
 */
public record ModelSummary(String networkType, long inputSize, long outputSize, long parameterCount,
        OutputKind outputKind, int layers) {
}
