/**
 * Record formats: the {@link io.kafkaml.format.RecordFormat} SPI, found by name with
 * {@link io.kafkaml.format.RecordFormats}, and the JSON format. RAW and AVRO live in the {@code kafkaml-raw}
 * and {@code kafkaml-avro} modules.
 */
package io.kafkaml.format;
