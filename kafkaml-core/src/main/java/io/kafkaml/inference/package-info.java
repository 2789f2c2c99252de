/**
 * Inference deployments (the paper's step F): replicas in one consumer group that read inputs, predict each
 * poll in one forward pass and write predictions, at least once or exactly once
 * ({@link io.kafkaml.inference.LocalInference}, {@link io.kafkaml.inference.InferenceReplica}).
 */
package io.kafkaml.inference;
