package io.kafkaml.registry;

import java.time.Instant;

/**
 * A stored artifact (a trained model file): where its chunks are and how to check them.
 *
 * <p>Thread safety: immutable (a record of immutable values) and thread-safe. Lifecycle: a value, no resources.
 *
 * @param id the artifact's id
 * @param size its size in bytes
 * @param chunks the number of chunk records it is stored in
 * @param sha256 the hex SHA-256 digest of its bytes, checked on every load
 * @param createdAt when it was stored
 */
public record ArtifactRef(String id, long size, int chunks, String sha256, Instant createdAt) {}
