/**
 * An in-process, single-node Apache Kafka broker (KRaft, combined broker and controller) for tests,
 * samples and local use, and a JUnit 5 extension that starts one for a test class.
 *
 * <pre>{@code
 * try (EmbeddedKafkaBroker kafka = EmbeddedKafkaBroker.builder().build().start()) {
 *     kafka.createTopic("data", 3);
 *     Map<String, Object> config = kafka.clientConfig();   // bootstrap.servers and security settings
 * }
 * }</pre>
 */
package io.kafkaml.testkit;
