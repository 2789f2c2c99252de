package io.kafkaml.internals;

import io.kafkaml.config.KafkaClientSupplier;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Derives the settings of each embedded Kafka client from the one map a user gives, in the manner of Kafka
 * Streams: an unprefixed key that a client knows (bootstrap.servers, security.protocol, sasl.*, ssl.*, ...)
 * reaches every client that knows it; a key prefixed {@code consumer.}, {@code producer.} or {@code admin.}
 * reaches only that client and wins over the unprefixed one. Not part of the public API.
 */
public final class ClientConfigs {

    /** Prefix of settings for embedded consumers only. */
    public static final String CONSUMER_PREFIX = "consumer.";
    /** Prefix of settings for embedded producers only. */
    public static final String PRODUCER_PREFIX = "producer.";
    /** Prefix of settings for embedded admin clients only. */
    public static final String ADMIN_PREFIX = "admin.";

    private ClientConfigs() {}

    /**
     * Consumer settings: {@code defaults}, then the user's settings, then {@code enforced} (what the caller
     * cannot work without, such as deserializers).
     */
    public static Map<String, Object> consumer(
            Map<String, ?> user, Map<String, Object> defaults, Map<String, Object> enforced) {
        return derive(user, CONSUMER_PREFIX, ConsumerConfig.configNames(), defaults, enforced);
    }

    /** Producer settings, derived as for {@link #consumer}. */
    public static Map<String, Object> producer(
            Map<String, ?> user, Map<String, Object> defaults, Map<String, Object> enforced) {
        return derive(user, PRODUCER_PREFIX, ProducerConfig.configNames(), defaults, enforced);
    }

    /** Admin client settings, derived as for {@link #consumer}. */
    public static Map<String, Object> admin(
            Map<String, ?> user, Map<String, Object> defaults, Map<String, Object> enforced) {
        return derive(user, ADMIN_PREFIX, AdminClientConfig.configNames(), defaults, enforced);
    }

    /**
     * A consumer that reads a control topic from its beginning: assigned partitions (no group, no commits),
     * read_committed, and it never creates the topic by asking for it.
     */
    public static KafkaConsumer<byte[], byte[]> controlTopicReader(Map<String, ?> user, String clientId) {
        return new KafkaConsumer<>(
                controlTopicReaderConfig(user, clientId), new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /** A control-topic reader as {@link #controlTopicReader(Map, String)}, created by {@code clients}. */
    public static Consumer<byte[], byte[]> controlTopicReader(
            Map<String, ?> user, String clientId, KafkaClientSupplier clients) {
        return clients.consumer(controlTopicReaderConfig(user, clientId));
    }

    private static Map<String, Object> controlTopicReaderConfig(Map<String, ?> user, String clientId) {
        Map<String, Object> defaults = new HashMap<>();
        defaults.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        defaults.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        Map<String, Object> enforced = new HashMap<>();
        enforced.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        enforced.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        enforced.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        Map<String, Object> config = consumer(user, defaults, enforced);
        config.remove(ConsumerConfig.GROUP_ID_CONFIG);
        return config;
    }

    /**
     * Checks that the user's settings name the brokers.
     *
     * @throws IllegalArgumentException if {@code bootstrap.servers} is missing or blank
     */
    public static void requireBootstrapServers(Map<String, ?> user) {
        Objects.requireNonNull(user, "clientConfig");
        Object servers = user.get(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
        if (servers == null || servers.toString().isBlank()) {
            throw new IllegalArgumentException("Missing required client setting '"
                    + CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG + "' (for example localhost:9092)");
        }
    }

    private static Map<String, Object> derive(
            Map<String, ?> user,
            String prefix,
            Set<String> known,
            Map<String, Object> defaults,
            Map<String, Object> enforced) {
        requireBootstrapServers(user);
        Map<String, Object> config = new HashMap<>(defaults);
        user.forEach((key, value) -> {
            if (known.contains(key) || isPluginSetting(key)) {
                config.put(key, value);
            }
        });
        user.forEach((key, value) -> {
            if (key.startsWith(prefix)) {
                config.put(key.substring(prefix.length()), value);
            }
        });
        config.putAll(enforced);
        return config;
    }

    /**
     * Why a user's client setting reaches no embedded client, or {@code null} when some client takes it: an
     * unprefixed key must be a setting of the consumer, the producer or the admin client (or a SASL/TLS plug-in
     * setting); a key prefixed {@code consumer.}, {@code producer.} or {@code admin.} must be one of that client's.
     * Keys starting with {@code kafkaml.} are not client settings and are not judged here.
     */
    public static String unknownClientSetting(String key) {
        if (key.startsWith(CONSUMER_PREFIX)) {
            return knownTo(key.substring(CONSUMER_PREFIX.length()), ConsumerConfig.configNames())
                    ? null
                    : "'" + key + "' is not a consumer setting";
        }
        if (key.startsWith(PRODUCER_PREFIX)) {
            return knownTo(key.substring(PRODUCER_PREFIX.length()), ProducerConfig.configNames())
                    ? null
                    : "'" + key + "' is not a producer setting";
        }
        if (key.startsWith(ADMIN_PREFIX)) {
            return knownTo(key.substring(ADMIN_PREFIX.length()), AdminClientConfig.configNames())
                    ? null
                    : "'" + key + "' is not an admin client setting";
        }
        return knownTo(key, ConsumerConfig.configNames())
                        || knownTo(key, ProducerConfig.configNames())
                        || knownTo(key, AdminClientConfig.configNames())
                ? null
                : "'" + key + "' is not a setting of any Kafka client (consumer, producer, admin)";
    }

    private static boolean knownTo(String key, Set<String> names) {
        return names.contains(key) || isPluginSetting(key);
    }

    /** SASL/TLS plug-in settings that are not in a client's ConfigDef but must still reach it. */
    private static boolean isPluginSetting(String key) {
        return key.startsWith("sasl.") || key.startsWith("ssl.") || key.startsWith("security.");
    }
}
