/**
 * kafkaml's own settings, defined once: {@link io.kafkaml.config.KafkaMlConfig} names every {@code kafkaml.*}
 * setting with its type, default, validator and documentation, the {@code KAFKAML_*} environment variable that
 * sets it in a container, and every record header kafkaml writes.
 */
package io.kafkaml.config;
