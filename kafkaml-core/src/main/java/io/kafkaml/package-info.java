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
 *
 * <h2>Public API and internals</h2>
 * A package {@code io.kafkaml.<area>} is public API: semantic versioning applies to it once 1.0 is released, its
 * javadoc is published, and {@code mvn verify} compares it with the recorded baseline ({@code api-baseline/},
 * japicmp). A package whose name contains {@code internals} ({@code io.kafkaml.internals},
 * {@code io.kafkaml.training.internals}, ...) holds implementation classes, as Kafka's
 * {@code clients.producer.internals} does: any kafkaml module may use them (the CLI and the benchmarks do), but no
 * public or protected signature of a public package may name one (superclass, interfaces, fields, parameters,
 * return types, exceptions, type bounds); the build's {@code PublicApiTest} fails when one does. They may change
 * in any release and are neither documented nor compared.
 */
package io.kafkaml;
