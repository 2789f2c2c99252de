package io.kafkaml.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.SslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class SecureEmbeddedKafkaBrokerIT {

    @RegisterExtension
    static final EmbeddedKafkaExtension KAFKA = EmbeddedKafkaExtension.configured(b ->
            b.security(BrokerSecurity.builder().plainUser("bob", "bob-secret").build()));

    @Test
    void scramUserCreatedThroughTheAdminApiWritesOnlyWhereAnAclAllows(EmbeddedKafkaBroker kafka) throws Exception {
        kafka.createTopic("secure-in", 1);
        kafka.createTopic("secure-other", 1);
        kafka.createScramUser("alice", "alice-secret");
        assertThat(kafka.clientConfig("alice"))
                .containsEntry("sasl.mechanism", BrokerSecurity.SCRAM_SHA_512)
                .containsEntry("security.protocol", "SASL_SSL");

        assertThatThrownBy(() -> send(kafka.clientConfig("alice"), "secure-in"))
                .hasCauseInstanceOf(TopicAuthorizationException.class);

        kafka.allow("alice", ResourceType.TOPIC, "secure-in", AclOperation.WRITE, AclOperation.DESCRIBE);
        send(kafka.clientConfig("alice"), "secure-in");
        assertThatThrownBy(() -> send(kafka.clientConfig("alice"), "secure-other"))
                .hasCauseInstanceOf(TopicAuthorizationException.class);
        assertThat(kafka.logEndOffset(new TopicPartition("secure-in", 0))).isEqualTo(1);
        assertThat(kafka.logEndOffset(new TopicPartition("secure-other", 0))).isZero();

        kafka.revoke("alice", ResourceType.TOPIC, "secure-in", AclOperation.WRITE, AclOperation.DESCRIBE);
        assertThatThrownBy(() -> send(kafka.clientConfig("alice"), "secure-in"))
                .hasCauseInstanceOf(TopicAuthorizationException.class);
    }

    @Test
    void plainUserAndSuperUserAuthenticate(EmbeddedKafkaBroker kafka) throws Exception {
        kafka.createTopic("secure-plain", 1);
        kafka.allow("bob", ResourceType.TOPIC, "secure-plain", AclOperation.WRITE);
        send(kafka.clientConfig("bob"), "secure-plain");
        send(kafka.clientConfig(), "secure-plain"); // the super user needs no ACL
        Map<String, Object> consumer = kafka.clientConfig();
        consumer.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        try (KafkaConsumer<String, String> reader =
                new KafkaConsumer<>(consumer, new StringDeserializer(), new StringDeserializer())) {
            reader.assign(List.of(new TopicPartition("secure-plain", 0)));
            int seen = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (seen < 2 && System.nanoTime() < deadline) {
                seen += reader.poll(Duration.ofMillis(200)).count();
            }
            assertThat(seen).isEqualTo(2);
        }
    }

    @Test
    void wrongPasswordIsAnAuthenticationError(EmbeddedKafkaBroker kafka) {
        Map<String, Object> config = kafka.clientConfig();
        config.putAll(
                kafka.security().clientConfig(kafka.security().superUser(), "not-the-password", BrokerSecurity.PLAIN));
        assertThatThrownBy(() -> describeCluster(config)).hasCauseInstanceOf(SaslAuthenticationException.class);
        kafka.createScramUser("carol", "carol-secret");
        config.putAll(kafka.security().clientConfig("carol", "wrong", BrokerSecurity.SCRAM_SHA_512));
        assertThatThrownBy(() -> describeCluster(config)).hasCauseInstanceOf(SaslAuthenticationException.class);
    }

    @Test
    void aClientThatDoesNotTrustTheBrokersCaFailsTheHandshake(EmbeddedKafkaBroker kafka) {
        Map<String, Object> config = kafka.clientConfig();
        config.put(
                "ssl.truststore.certificates", BrokerSecurity.builder().build().caCertificatePem());
        assertThatThrownBy(() -> describeCluster(config)).hasCauseInstanceOf(SslAuthenticationException.class);
        assertThat(kafka.security().caCertificatePem()).startsWith("-----BEGIN CERTIFICATE-----");
    }

    private static void send(Map<String, Object> config, String topic) throws Exception {
        Map<String, Object> producerConfig = new java.util.HashMap<>(config);
        producerConfig.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 10_000);
        try (KafkaProducer<String, String> producer =
                new KafkaProducer<>(producerConfig, new StringSerializer(), new StringSerializer())) {
            producer.send(new ProducerRecord<>(topic, "k", "v")).get(20, TimeUnit.SECONDS);
        }
    }

    private static void describeCluster(Map<String, Object> config) throws ExecutionException, InterruptedException {
        try (Admin admin = Admin.create(config)) {
            admin.describeCluster().nodes().get();
        }
    }
}
