/**
 * Implementation of training deployments: the runner that trains a deployment's models from its data stream, and
 * the one control-topic reader a local launcher shares between the deployments waiting for data. Not API: use
 * {@code io.kafkaml.training.LocalTrainingLauncher} or {@code io.kafkaml.KafkaMl}; anything here may change in
 * any release.
 */
package io.kafkaml.training.internals;
