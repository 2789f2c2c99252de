/**
 * DL4J over a data stream: {@link io.kafkaml.dataset.StreamDataSets} turns the records a control message
 * announces into train, validation and test {@link org.nd4j.linalg.dataset.api.iterator.DataSetIterator}s.
 */
package io.kafkaml.dataset;
