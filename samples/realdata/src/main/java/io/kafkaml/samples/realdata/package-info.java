/**
 * Real data through kafkaml, end to end: digits images through a CNN and as sequences through an LSTM, the NO3
 * regression, and breast cancer through a one-sigmoid binary classifier, each streamed with {@code RawDataSink},
 * trained from the stream, served, and compared with plain DL4J trained from memory on the same split.
 * Start with {@link io.kafkaml.samples.realdata.RealDataSamples}.
 */
package io.kafkaml.samples.realdata;
