/**
 * Inference deployments (the paper's step F): replicas in one consumer group that read inputs, predict each
 * poll in one forward pass and write predictions, at least once or exactly once
 * ({@link io.kafkaml.inference.LocalInference}, {@link io.kafkaml.inference.LocalInference.Replica}). Replicas are
 * supervised ({@link io.kafkaml.runtime.Supervisor}); inputs that fail for a reason of their own are handed to an
 * {@link io.kafkaml.inference.InferenceExceptionHandler}; process-level settings are in
 * {@link io.kafkaml.inference.InferenceConfig}.
 */
package io.kafkaml.inference;
