package io.kafkaml.cli;

import io.kafkaml.KafkaMl;
import io.kafkaml.config.KafkaMlConfig;
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

/**
 * The options every command that talks to Kafka takes. Settings are read through {@link KafkaMlConfig}: the
 * {@code --config} file, then the {@code KAFKAML_*} environment, then the flags; a later source wins.
 */
final class ClientOptions {

    /** The environment variable that gives the default bootstrap servers. */
    static final String BOOTSTRAP_ENV = KafkaMlConfig.BOOTSTRAP_SERVERS_ENV;

    @Option(
            names = "--bootstrap-servers",
            paramLabel = "HOST:PORT",
            description = "Kafka brokers (default: $" + BOOTSTRAP_ENV + ", else localhost:9092)")
    String bootstrapServers;

    @Option(
            names = "--config",
            paramLabel = "FILE",
            description = "Settings (properties file: kafkaml.*, security.protocol, sasl.*, ssl.*, consumer.*, "
                    + "producer.*, admin.*; see docs/settings.md)")
    Path config;

    @Option(
            names = "--registry-prefix",
            paramLabel = "PREFIX",
            description = "Topic prefix of the registry (default: $KAFKAML_REGISTRY_PREFIX, else "
                    + Registry.DEFAULT_PREFIX + ")")
    String registryPrefix;

    @Option(names = "--verbose", description = "Print stack traces of errors")
    boolean verbose;

    private KafkaMlConfig settings;

    /** All settings: the file's, then the environment's, then the flags'. */
    KafkaMlConfig settings() {
        if (settings == null) {
            Map<String, Object> merged = new HashMap<>();
            if (config != null) {
                Properties properties = new Properties();
                try (InputStream in = Files.newInputStream(config)) {
                    properties.load(in);
                } catch (IOException e) {
                    throw new IllegalArgumentException(
                            "Cannot read the settings file " + config + ": " + e.getMessage(), e);
                }
                properties.forEach((key, value) -> merged.put(key.toString(), value));
            }
            merged.putAll(KafkaMlConfig.settingsFromEnvironment(System.getenv()));
            merged.putIfAbsent("bootstrap.servers", "localhost:9092");
            if (bootstrapServers != null) {
                merged.put("bootstrap.servers", bootstrapServers);
            }
            if (registryPrefix != null) {
                merged.put(KafkaMlConfig.REGISTRY_PREFIX_CONFIG, registryPrefix);
            }
            settings = new KafkaMlConfig(merged);
        }
        return settings;
    }

    /**
     * All settings as one map, {@code kafkaml.*} ones included, as every component takes them (each derives its
     * clients' settings from it; see {@link KafkaMlConfig}).
     */
    Map<String, Object> clientConfig() {
        return new HashMap<>(settings().originals());
    }

    /** The registry's topic prefix. */
    String registryPrefix() {
        return settings().registryPrefix();
    }

    /** The control topic: {@code flag} when given, else {@value KafkaMlConfig#CONTROL_TOPIC_CONFIG}. */
    String controlTopic(String flag) {
        return flag != null ? flag : settings().controlTopic();
    }

    /**
     * A {@link KafkaMl} on these settings without a training launcher ({@link KafkaMl.Builder#withoutLauncher()}):
     * the registry read, nothing else started. For commands that read or edit the registry. The caller closes it.
     */
    KafkaMl facade() {
        return KafkaMl.builder(settings())
                .withoutLauncher()
                .controlLogger(false)
                .registryTimeout(Duration.ofSeconds(30))
                .build()
                .start();
    }

    /**
     * As {@link #facade()}, also running the control logger on {@code controlTopic}; the caller closes it.
     */
    KafkaMl cataloger(String controlTopic) {
        Map<String, Object> merged = new HashMap<>(settings().originals());
        merged.put(KafkaMlConfig.CONTROL_TOPIC_CONFIG, controlTopic);
        return KafkaMl.builder(merged)
                .withoutLauncher()
                .controlLogger(true)
                .registryTimeout(Duration.ofSeconds(30))
                .build()
                .start();
    }

    /** Connects to the registry. */
    Registry registry() {
        return Registry.connect(clientConfig(), registryPrefix(), Duration.ofSeconds(30));
    }
}
