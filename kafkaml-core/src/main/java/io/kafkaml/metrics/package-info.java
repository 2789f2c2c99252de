/**
 * Micrometer meters of kafkaml's runners: {@link io.kafkaml.metrics.InferenceMetrics} (an inference deployment's
 * counters, batch time and consumer lag, read from its {@link io.kafkaml.inference.InferenceStats}) and
 * {@link io.kafkaml.metrics.TrainingMetrics} (epochs, loss, validation metrics and records of training, as a
 * {@link io.kafkaml.training.TrainingListener}). Both are {@code MeterBinder}s: bind them to any
 * {@code MeterRegistry} (Prometheus, OTLP, JMX...); kafkaml's processes serve a Prometheus registry on
 * {@code kafkaml.metrics.port}. Names follow Micrometer's conventions (dot-separated, lower case, base units), so
 * each registry renders them in its own style ({@code kafkaml.inference.records.in} is
 * {@code kafkaml_inference_records_in_total} in Prometheus).
 */
package io.kafkaml.metrics;
