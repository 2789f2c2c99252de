package io.kafkaml.benchmarks;

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

    /** A unique topic name for this run. */
    public String topic(String prefix) {
        return prefix + "-" + System.currentTimeMillis();
    }
}
