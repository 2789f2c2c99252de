/**
 * Model definitions: a DL4J network configuration with a name, validated by building the network
 * ({@link io.kafkaml.model.ModelDefinition}), and the input it takes ({@link io.kafkaml.model.InputLayout}: how
 * stream records are laid out for it in training and serving).
 */
package io.kafkaml.model;
