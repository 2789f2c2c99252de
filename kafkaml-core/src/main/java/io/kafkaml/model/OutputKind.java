package io.kafkaml.model;

/** What a network's output layer predicts, read from its loss function and activation. */
public enum OutputKind {
    /** Class probabilities: softmax or sigmoid outputs with a cross-entropy or likelihood loss. */
    CLASSIFICATION,
    /** Real values: any other output layer (MSE, MAE, ... losses). */
    REGRESSION
}
