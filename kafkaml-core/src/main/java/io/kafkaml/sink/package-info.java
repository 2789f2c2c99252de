/**
 * Data sinks: send a data stream's records to Kafka and, on close, the control message that announces it to
 * a deployment ({@link io.kafkaml.sink.DataSink}, {@link io.kafkaml.sink.RecordDataSink}). The RAW and AVRO
 * sinks live in {@code kafkaml-raw} and {@code kafkaml-avro}.
 */
package io.kafkaml.sink;
