package io.kafkaml.internals;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.testkit.BrokerSecurity;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.time.Duration;
import java.util.List;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.ResourceType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * On a secured broker (Kafka's {@code StandardAuthorizer}), a principal granted only {@code WRITE} on a topic may
 * check that it takes writes: {@code WRITE} implies {@code DESCRIBE}, which {@code Metadata} and {@code ListOffsets}
 * need. So a data sink or an inference replica with a producer's ACLs waits for a new topic instead of falling back.
 */
class TopicsWriteAclIT {

    @RegisterExtension
    static final EmbeddedKafkaExtension KAFKA = EmbeddedKafkaExtension.configured(
            b -> b.security(BrokerSecurity.builder().build()));

    @Test
    void aPrincipalWithOnlyWriteOnTheTopicCanAwaitIt(EmbeddedKafkaBroker kafka) {
        kafka.createScramUser("writer", "writer-secret");
        kafka.allow("writer", ResourceType.TOPIC, "acl-fresh", AclOperation.WRITE);
        kafka.createTopic("acl-fresh", 3);

        try (Admin admin = Admin.create(kafka.clientConfig("writer"))) {
            assertThat(Topics.awaitWritable(admin, List.of("acl-fresh"), Duration.ofSeconds(30)))
                    .containsExactly(
                            new TopicPartition("acl-fresh", 0),
                            new TopicPartition("acl-fresh", 1),
                            new TopicPartition("acl-fresh", 2));
        }
    }
}
