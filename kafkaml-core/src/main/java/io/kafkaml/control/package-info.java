/**
 * The control protocol, compatible with Kafka-ML: a {@link io.kafkaml.control.ControlMessage} announces a
 * finished data stream for a deployment; a {@link io.kafkaml.control.ControlChannel} publishes them and
 * waits for the one a deployment needs.
 */
package io.kafkaml.control;
