/**
 * Implementation of inference deployments: the replica that consumes a deployment's input topic, predicts each poll
 * as one batch and writes the predictions (at least once or exactly once), and the chunking of a poll. Not API: use
 * {@code io.kafkaml.inference.LocalInference} or {@code io.kafkaml.KafkaMl#serve}; anything here may change in any
 * release.
 */
package io.kafkaml.inference.internals;
