/**
 * The entry point of kafkaml: {@link io.kafkaml.KafkaMl} runs the whole pipeline of the paper (models,
 * configurations, training deployments fed by Kafka data streams, results, inference) from one object bound to one
 * settings object ({@link io.kafkaml.config.KafkaMlConfig}).
 *
 * <pre>{@code
 * try (KafkaMl ml = KafkaMl.connect(Map.of("bootstrap.servers", "localhost:9092"))) {
 *     ml.models().register(ModelDefinition.of("mlp", "", conf));
 *     ml.configurations().create("mlp-only", "mlp");
 *     Training training = ml.train("mlp-only", TrainingSpec.builder().epochs(20).build());
 *     try (RecordDataSink sink = ml.sink().topic("data").deploymentId(training.deploymentId()).build()) {
 *         rows.forEach(row -> sink.send(row.features(), row.label()));
 *     }
 *     training.await(Duration.ofMinutes(5));
 *     ml.serve(InferenceSpec.builder(training.results().get(0).id(), "in", "out").build());
 * }
 * }</pre>
 */
package io.kafkaml;
