/**
 * Data streams: {@link io.kafkaml.stream.StreamSlice} (a range of one partition, Kafka-ML's
 * {@code topic:partition:start:end}) and {@link io.kafkaml.stream.StreamDataset}, which reads exactly the
 * records of a list of slices, pass after pass, straight from Kafka.
 */
package io.kafkaml.stream;
