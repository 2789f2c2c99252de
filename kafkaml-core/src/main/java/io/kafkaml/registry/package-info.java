/**
 * The registry: models, configurations, deployments, results, datasources and trained model artifacts, kept in
 * compacted Kafka topics ({@link io.kafkaml.registry.Registry}), and the {@link io.kafkaml.registry.ControlLogger}
 * that records every data stream announced on the control topic.
 */
package io.kafkaml.registry;
