/**
 * Model definitions: a DL4J network configuration with a name, validated by building the network
 * ({@link io.kafkaml.model.ModelDefinition}).
 */
package io.kafkaml.model;
