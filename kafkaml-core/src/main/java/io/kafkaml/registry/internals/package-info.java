/** Implementation details of the registry. Not public API. */
package io.kafkaml.registry.internals;
