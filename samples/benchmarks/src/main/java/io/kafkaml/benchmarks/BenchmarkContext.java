package io.kafkaml.benchmarks;

import io.kafkaml.config.KafkaMlConfig;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;

/**
 * What a benchmark runs against: a Kafka cluster (the embedded broker unless {@code --bootstrap-servers} was
 * given) and the options of the command line.
 *
 * @param clientConfig settings for every client ({@code bootstrap.servers}, ...)
 * @param admin an admin client of the cluster
 * @param options {@code --key value} options of the command line, without the dashes
 */
public record BenchmarkContext(Map<String, Object> clientConfig, Admin admin, Map<String, String> options) {

    /** An integer option, or its default. */
    public long longOption(String key, long defaultValue) {
        String value = options.get(key);
        if (value == null) {
            return defaultValue;
        }
        try {
            return Long.parseLong(value.replace("_", ""));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + key + " must be an integer, was '" + value + "'", e);
        }
    }

    /** A boolean option ({@code true} or {@code false}), or its default. */
    public boolean booleanOption(String key, boolean defaultValue) {
        String value = options.get(key);
        if (value == null) {
            return defaultValue;
        }
        if (!value.equals("true") && !value.equals("false")) {
            throw new IllegalArgumentException("--" + key + " must be true or false, was '" + value + "'");
        }
        return Boolean.parseBoolean(value);
    }

    /**
     * The settings a plain consumer of the benchmark gets: derived from {@link #clientConfig()} as kafkaml's own
     * consumers derive theirs (security and {@code consumer.*} settings kept, {@code kafkaml.*} ones left out).
     * A new mutable map.
     */
    public Map<String, Object> consumerConfig() {
        return new KafkaMlConfig(clientConfig).consumerConfig();
    }

    /** The settings a plain producer of the benchmark gets, derived as for {@link #consumerConfig()}. */
    public Map<String, Object> producerConfig() {
        return new KafkaMlConfig(clientConfig).producerConfig();
    }

    /** A unique topic name for this run. */
    public String topic(String prefix) {
        return prefix + "-" + System.currentTimeMillis();
    }
}
