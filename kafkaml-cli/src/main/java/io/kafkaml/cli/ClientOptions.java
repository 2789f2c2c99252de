package io.kafkaml.cli;

import io.kafkaml.registry.Registry;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import picocli.CommandLine.Option;

/** The options every command that talks to Kafka takes. */
final class ClientOptions {

    /** The environment variable that gives the default bootstrap servers. */
    static final String BOOTSTRAP_ENV = "KAFKAML_BOOTSTRAP_SERVERS";

    @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT",
            description = "Kafka brokers (default: $" + BOOTSTRAP_ENV + ", else localhost:9092)")
    String bootstrapServers;

    @Option(names = "--config", paramLabel = "FILE",
            description = "Client settings (properties file: security.protocol, sasl.*, ssl.*, consumer.*, producer.*)")
    Path config;

    @Option(names = "--registry-prefix", paramLabel = "PREFIX", defaultValue = Registry.DEFAULT_PREFIX,
            description = "Topic prefix of the registry (default: ${DEFAULT-VALUE})")
    String registryPrefix;

    @Option(names = "--verbose", description = "Print stack traces of errors")
    boolean verbose;

    /** The client settings: the file's, then bootstrap.servers. */
    Map<String, Object> clientConfig() {
        Map<String, Object> settings = new HashMap<>();
        if (config != null) {
            Properties properties = new Properties();
            try (InputStream in = Files.newInputStream(config)) {
                properties.load(in);
            } catch (IOException e) {
                throw new IllegalArgumentException("Cannot read the client settings file " + config + ": " + e.getMessage(), e);
            }
            properties.forEach((key, value) -> settings.put(key.toString(), value));
        }
        String servers = bootstrapServers != null ? bootstrapServers
                : System.getenv(BOOTSTRAP_ENV) != null ? System.getenv(BOOTSTRAP_ENV)
                : settings.getOrDefault("bootstrap.servers", "localhost:9092").toString();
        settings.put("bootstrap.servers", servers);
        return settings;
    }

    /** Connects to the registry. */
    Registry registry() {
        return Registry.connect(clientConfig(), registryPrefix, Duration.ofSeconds(30));
    }
}
