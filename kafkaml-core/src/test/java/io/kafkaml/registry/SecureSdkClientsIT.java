package io.kafkaml.registry;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.control.ControlMessage;
import io.kafkaml.format.JsonFormat;
import io.kafkaml.format.RecordDecoder;
import io.kafkaml.sink.DataSink;
import io.kafkaml.sink.RecordDataSink;
import io.kafkaml.stream.StreamDataset;
import io.kafkaml.stream.StreamRecord;
import io.kafkaml.testkit.BrokerSecurity;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.ResourceType;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The control logger and a {@code StreamDataset}, used alone through the SDK (no CLI), reach a SASL_SSL
 * (SCRAM-SHA-512) broker with the standard authorizer, each as a user with only its minimal ACLs (README "Secure
 * clusters"): the logger READ on the control topic and READ, WRITE on the registry's topics; the dataset READ on
 * the data topic. The same secured broker as {@code SecureClusterIT} ({@link BrokerSecurity}).
 */
class SecureSdkClientsIT {

    @RegisterExtension
    static final EmbeddedKafkaExtension KAFKA = EmbeddedKafkaExtension.configured(
            b -> b.security(BrokerSecurity.builder().build()));

    @Test
    void theControlLoggerAndAStreamDatasetReachASaslSslBrokerWithTheirMinimalAcls(EmbeddedKafkaBroker kafka) {
        kafka.createTopic("sdk-data", 2);
        kafka.createTopic("sdk-control", 1);
        Registry.connect(kafka.clientConfig(), "sdk", Duration.ofSeconds(30))
                .close(); // an operator creates the registry topics
        kafka.createScramUser("logger", "logger-secret");
        kafka.allow("logger", ResourceType.TOPIC, "sdk-control", AclOperation.READ);
        kafka.allowPrefixed("logger", ResourceType.TOPIC, "sdk.", AclOperation.READ, AclOperation.WRITE);
        kafka.createScramUser("reader", "reader-secret");
        kafka.allow("reader", ResourceType.TOPIC, "sdk-data", AclOperation.READ);
        assertThat(kafka.clientConfig("logger")).containsEntry("security.protocol", "SASL_SSL");

        try (RecordDataSink sink = RecordDataSink.builder(kafka.clientConfig())
                .format("JSON")
                .inputConfig(Map.of("data_reshape", "2"))
                .topic("sdk-data")
                .deploymentId("1")
                .controlTopic("sdk-control")
                .partitioning(DataSink.Partitioning.ROUND_ROBIN)
                .build()) {
            for (int i = 0; i < 20; i++) {
                sink.send(new double[] {i, -i}, i % 2);
            }
        }

        Datasource datasource;
        try (Registry registry = Registry.connect(kafka.clientConfig("logger"), "sdk", Duration.ofSeconds(30));
                ControlLogger logger = ControlLogger.start(kafka.clientConfig("logger"), registry, "sdk-control")) {
            Awaitility.await().atMost(30, TimeUnit.SECONDS).until(() -> logger.recorded() == 1);
            datasource = registry.datasources().get(0);
        }
        assertThat(datasource.id()).isEqualTo("sdk-control-0-0");
        ControlMessage message = datasource.message();
        assertThat(message.deploymentId()).isEqualTo("1");
        assertThat(message.totalMessages()).isEqualTo(20);

        List<StreamRecord> records = new ArrayList<>();
        try (StreamDataset dataset = StreamDataset.builder(kafka.clientConfig("reader"))
                .slices(message.slices())
                .build()) {
            assertThat(dataset.readPass(records::add)).isEqualTo(20);
        }
        RecordDecoder decoder = new JsonFormat().newDecoder(Map.of("data_reshape", "2"));
        List<Float> firstFeatures = new ArrayList<>();
        for (StreamRecord record : records) {
            float[] features = new float[2];
            decoder.decodeFeatures(record.key(), record.value(), features, 0);
            assertThat(features[1]).isEqualTo(-features[0]);
            firstFeatures.add(features[0]);
        }
        assertThat(firstFeatures).hasSize(20).doesNotHaveDuplicates().allMatch(f -> f >= 0 && f < 20);
    }

    @Test
    void aControlLoggerWithoutReadOnTheControlTopicStopsWithOneLineNamingThePrincipalTopicAndOperation(
            EmbeddedKafkaBroker kafka) {
        kafka.createTopic("blind-control", 1);
        Registry.connect(kafka.clientConfig(), "blind", Duration.ofSeconds(30)).close();
        kafka.createScramUser("blind", "blind-secret");
        kafka.allowPrefixed("blind", ResourceType.TOPIC, "blind.", AclOperation.READ, AclOperation.WRITE);
        // DESCRIBE only: the topic's metadata is readable, its records are not
        kafka.allow("blind", ResourceType.TOPIC, "blind-control", AclOperation.DESCRIBE);
        try (Registry registry = Registry.connect(kafka.clientConfig("blind"), "blind", Duration.ofSeconds(30));
                ControlLogger logger =
                        ControlLogger.start(quickRefusal(kafka.clientConfig("blind")), registry, "blind-control")) {
            // it stops on its own once the refusal has lasted the retry time (1 s here): the refusal is final
            assertThat(logger.awaitTermination(Duration.ofSeconds(60))).isTrue();
            assertThat(logger.failure()).hasValueSatisfying(failure -> {
                assertThat(failure.kind()).isEqualTo(io.kafkaml.common.KafkaAccessException.Kind.AUTHORIZATION);
                assertThat(failure.principal()).isEqualTo("User:blind");
                assertThat(failure.resource()).isEqualTo("topic 'blind-control'");
                assertThat(failure.operation()).isEqualTo("READ");
                assertThat(failure.getMessage())
                        .startsWith("User:blind is not authorized to READ topic 'blind-control'")
                        .doesNotContain("\n");
            });
            assertThat(logger.recorded()).isZero();
        }
        // without even DESCRIBE the same one line, from the metadata request
        kafka.revoke("blind", ResourceType.TOPIC, "blind-control", AclOperation.DESCRIBE);
        try (Registry registry = Registry.connect(kafka.clientConfig("blind"), "blind", Duration.ofSeconds(30));
                ControlLogger logger =
                        ControlLogger.start(quickRefusal(kafka.clientConfig("blind")), registry, "blind-control")) {
            assertThat(logger.awaitTermination(Duration.ofSeconds(60))).isTrue();
            assertThat(logger.failure())
                    .hasValueSatisfying(failure -> assertThat(failure.getMessage())
                            .startsWith("User:blind is not authorized to READ topic 'blind-control'"));
        }
    }

    @Test
    void aClaimsTopicThatKeepsExpiringRecordsIsRefusedForClaimsNotForReads(EmbeddedKafkaBroker kafka) {
        // an administrator pre-created the claims topic with a week's retention; the owner may not alter it
        kafka.createTopic("ret.inference-claims", 1, Map.of("cleanup.policy", "delete", "retention.ms", "604800000"));
        kafka.createScramUser("owner", "owner-secret");
        kafka.allowPrefixed(
                "owner",
                ResourceType.TOPIC,
                "ret.",
                AclOperation.CREATE,
                AclOperation.READ,
                AclOperation.WRITE,
                AclOperation.DESCRIBE_CONFIGS);
        Inference claim = new Inference(
                "serve",
                "7.m",
                "in",
                "out",
                1,
                "RUNNING",
                null,
                Map.of(),
                java.time.Instant.now(),
                java.time.Instant.now(),
                0,
                java.time.Instant.now(),
                900,
                "owner-1",
                1,
                null);

        try (Registry registry = Registry.connect(kafka.clientConfig("owner"), "ret", Duration.ofSeconds(30))) {
            assertThat(registry.models()).isEmpty(); // reading works
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> registry.putInference(claim))
                    .isInstanceOf(RegistryException.class)
                    .hasMessageContaining("'ret.inference-claims'")
                    .hasMessageContaining("retention.ms=604800000")
                    .hasMessageContaining("retention.ms=-1,retention.bytes=-1");
        }
        // an administrator fixes it: the next client claims
        try (Registry admin = Registry.connect(kafka.clientConfig(), "ret", Duration.ofSeconds(30))) {
            assertThat(admin.putInference(claim)).isTrue();
        }
    }

    /** The settings with {@value KafkaMlConfig#CONTROL_LOGGER_REFUSAL_RETRY_MS_CONFIG} at 1 s (default 30 s). */
    private static java.util.Map<String, Object> quickRefusal(java.util.Map<String, Object> settings) {
        java.util.Map<String, Object> quick = new java.util.HashMap<>(settings);
        quick.put(KafkaMlConfig.CONTROL_LOGGER_REFUSAL_RETRY_MS_CONFIG, 1000L);
        return quick;
    }
}
