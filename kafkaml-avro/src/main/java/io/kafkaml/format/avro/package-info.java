/**
 * Kafka-ML's AVRO record format ({@link io.kafkaml.format.avro.AvroFormat}, registered with
 * {@link java.util.ServiceLoader} as {@code AVRO}) and {@link io.kafkaml.format.avro.AvroDataSink}.
 */
package io.kafkaml.format.avro;
