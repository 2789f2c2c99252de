package io.kafkaml.control;

/**
 * What {@link ControlChannel#readState(java.time.Duration)} found on a control topic.
 *
 * <p>Thread safety: immutable (a record of immutable values) and thread-safe. Lifecycle: a value, no resources.
 *
 * @param end where the topic ended: the position a new deployment records
 * @param maxNumericDeploymentId the largest numeric deployment id a message on the topic names, 0 when none
 */
public record ControlTopicState(ControlTopicPosition end, long maxNumericDeploymentId) {}
