package io.kafkaml.config;

import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Creates the Kafka clients kafkaml's components use, in the manner of Kafka Streams' {@code KafkaClientSupplier}:
 * {@link #DEFAULT} creates real {@link KafkaConsumer}s, {@link KafkaProducer}s and {@link Admin} clients; a test
 * passes a supplier that returns a {@code MockConsumer} or {@code MockProducer} instead.
 *
 * <p>The configuration handed to each method is complete: kafkaml has already derived it from the user's settings
 * (the {@code consumer.}, {@code producer.} and {@code admin.} prefixes applied, the component's defaults and the
 * settings it enforces added). Every call must return a new client that the caller owns and closes; kafkaml
 * never shares a client it was given between components. Keys and values are raw bytes.
 *
 * <pre>{@code
 * MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(),
 *         new ByteArraySerializer());
 * KafkaClientSupplier clients = new KafkaClientSupplier() {
 *     public Producer<byte[], byte[]> producer(Map<String, Object> config) {
 *         return producer;
 *     }
 * };
 * }</pre>
 *
 * <p>Thread safety: a component calls its supplier from the thread that builds it or from its own worker thread;
 * an implementation that returns shared mocks must expect that.
 */
public interface KafkaClientSupplier {

    /** The supplier of real clients, used when none is given. */
    KafkaClientSupplier DEFAULT = new KafkaClientSupplier() {};

    /**
     * A new consumer of raw bytes.
     *
     * @param config the complete consumer configuration
     */
    default Consumer<byte[], byte[]> consumer(Map<String, Object> config) {
        return new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /**
     * A new producer of raw bytes.
     *
     * @param config the complete producer configuration
     */
    default Producer<byte[], byte[]> producer(Map<String, Object> config) {
        return new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /**
     * A new admin client.
     *
     * @param config the complete admin client configuration
     */
    default Admin admin(Map<String, Object> config) {
        return Admin.create(config);
    }
}
