/**
 * Training deployments (the paper's steps C to E): a {@link io.kafkaml.training.TrainingSpec}, deployments of
 * configurations ({@link io.kafkaml.training.TrainingDeployments}), the launcher SPI and its local
 * implementation, and the {@link io.kafkaml.training.TrainingRunner} that trains a deployment's models from
 * its data stream and records results in the registry.
 */
package io.kafkaml.training;
