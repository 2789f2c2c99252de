/**
 * The kafkaml server: one long-running process holding a {@link io.kafkaml.KafkaMl} facade (registry, control
 * logger, training launcher, inference deployments) behind a versioned REST API under {@code /api/v1} (OpenAPI
 * document at {@code /api/v1/openapi.json}, Server-Sent Events for live training metrics and inference counters)
 * and the static web dashboard served from the classpath folder {@code /web}.
 *
 * <p>Start it with {@link io.kafkaml.server.KafkaMlServer#builder(io.kafkaml.KafkaMl)} in your own process, or with
 * the {@code kafkaml server} command.
 */
package io.kafkaml.server;
