/** Keras model import: {@link io.kafkaml.keras.KerasModels} turns a Keras {@code .h5} file into a model definition. */
package io.kafkaml.keras;
