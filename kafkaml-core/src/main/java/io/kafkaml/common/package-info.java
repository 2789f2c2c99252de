/**
 * What every part of kafkaml shares: the exception root {@link io.kafkaml.common.KafkaMlException}.
 */
package io.kafkaml.common;
