package io.kafkaml.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.config.KafkaMlConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClientOptionsTest {

    @Test
    void configFileSettingsOfBothKindsReachTheComponents(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("client.properties");
        Files.writeString(
                file,
                String.join(
                        "\n",
                        "security.protocol=SASL_SSL",
                        "producer.linger.ms=5",
                        KafkaMlConfig.MAX_RECORD_VALUES_CONFIG + "=42",
                        KafkaMlConfig.REGISTRY_PREFIX_CONFIG + "=team-a"));
        ClientOptions options = new ClientOptions();
        options.config = file;
        options.bootstrapServers = "flag:9092";

        Map<String, Object> settings = options.clientConfig();

        // kafkaml.* settings travel with the client settings: the launchers and LocalInference read them there
        assertThat(KafkaMlConfig.maxRecordValues(settings)).isEqualTo(42);
        assertThat(settings)
                .containsEntry("security.protocol", "SASL_SSL")
                .containsEntry("producer.linger.ms", "5")
                .containsEntry("bootstrap.servers", "flag:9092");
        assertThat(options.registryPrefix()).isEqualTo("team-a");
        assertThat(options.settings().producerConfig())
                .containsEntry("linger.ms", "5")
                .containsEntry("security.protocol", "SASL_SSL")
                .doesNotContainKey(KafkaMlConfig.MAX_RECORD_VALUES_CONFIG);
    }
}
