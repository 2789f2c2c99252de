/**
 * Implementation details of kafkaml. Nothing here is public API: it may change in any release.
 */
package io.kafkaml.internals;
