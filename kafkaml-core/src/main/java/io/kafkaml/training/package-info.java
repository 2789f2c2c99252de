/**
 * Training deployments (the paper's steps C to E): a {@link io.kafkaml.training.TrainingSpec}, deployments of
 * configurations ({@link io.kafkaml.training.TrainingDeployments}), the launcher SPI and its local
 * implementation. The runner that trains a deployment's models from its data stream and records results in the
 * registry is an implementation class ({@code io.kafkaml.training.internals.TrainingRunner}): launchers start it.
 */
package io.kafkaml.training;
