/**
 * How kafkaml keeps its runners alive: {@link io.kafkaml.runtime.Supervisor} runs a runner on its own thread and,
 * when it fails, logs the cause and starts a new one after an exponential backoff, within the restart budget of a
 * {@link io.kafkaml.runtime.RestartPolicy}; past the budget (or on a failure that a restart cannot cure) the
 * supervised unit is {@link io.kafkaml.runtime.Supervisor.State#FAILED FAILED} with the cause. The CLI, the
 * container worker and {@link io.kafkaml.inference.LocalInference} all supervise through this one class.
 */
package io.kafkaml.runtime;
