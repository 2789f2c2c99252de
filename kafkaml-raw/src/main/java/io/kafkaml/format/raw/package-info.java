/**
 * Kafka-ML's RAW record format ({@link io.kafkaml.format.raw.RawFormat}, registered with
 * {@link java.util.ServiceLoader} as {@code RAW}) and {@link io.kafkaml.format.raw.RawDataSink}.
 */
package io.kafkaml.format.raw;
