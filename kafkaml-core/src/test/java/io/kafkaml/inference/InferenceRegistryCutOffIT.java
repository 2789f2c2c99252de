package io.kafkaml.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.kafkaml.registry.Registry;
import io.kafkaml.testkit.BrokerSecurity;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.ResourceType;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * A process cut off from the registry only (its ACLs on the registry topics revoked, its data topics still
 * readable and writable) does not keep its paused replicas in the group for ever while the record says RUNNING: after
 * three leases without a confirmation it ends FAILED, saying why, and its consumers leave the group.
 */
class InferenceRegistryCutOffIT {

    @RegisterExtension
    static final EmbeddedKafkaExtension KAFKA = EmbeddedKafkaExtension.configured(
            b -> b.security(BrokerSecurity.builder().build()));

    @Test
    void aProcessCutOffFromTheRegistryFailsAfterThreeLeasesAndLeavesTheGroup(EmbeddedKafkaBroker kafka)
            throws Exception {
        String result;
        try (Registry admin = Registry.connect(kafka.clientConfig(), "cut", Duration.ofSeconds(30))) {
            MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                    .seed(3)
                    .list()
                    .layer(new OutputLayer.Builder(LossFunction.MSE)
                            .nIn(3)
                            .nOut(1)
                            .activation(Activation.IDENTITY)
                            .build())
                    .build();
            result = ServableResults.register(admin, "cutm", conf, 3);
        }
        kafka.createTopic("cutoff-in", 1);
        kafka.createTopic("cutoff-out", 1);
        kafka.createScramUser("server", "server-secret");
        kafka.allow("server", ResourceType.TOPIC, "cutoff-in", AclOperation.READ);
        kafka.allow("server", ResourceType.TOPIC, "cutoff-out", AclOperation.WRITE);
        kafka.allowPrefixed("server", ResourceType.GROUP, "kafkaml-inference", AclOperation.READ);
        kafka.allowPrefixed("server", ResourceType.TOPIC, "cut.", AclOperation.READ, AclOperation.WRITE);

        Map<String, Object> config = kafka.clientConfig("server");
        config.put(InferenceConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 500);
        try (Registry registry = Registry.connect(config, "cut", Duration.ofSeconds(3));
                LocalInference inference = LocalInference.start(
                        registry,
                        config,
                        "cutoff",
                        InferenceSpec.builder(result, "cutoff-in", "cutoff-out").build())) {
            InferenceFaultsIT.send(kafka, "cutoff-in", 0, 5, 0);
            assertThat(InferenceFaultsIT.read(kafka, "cutoff-out", 5, false)).hasSize(5);
            assertThat(members(kafka, inference.groupId())).isEqualTo(1);

            kafka.revokePrefixed("server", ResourceType.TOPIC, "cut.", AclOperation.READ, AclOperation.WRITE);

            await().atMost(90, TimeUnit.SECONDS).until(() -> inference.state() == LocalInference.State.FAILED);
            assertThat(inference.failure())
                    .contains("cut off from the registry")
                    .contains("three leases of 1500 ms");
            await().atMost(60, TimeUnit.SECONDS).until(() -> members(kafka, inference.groupId()) == 0);
        }
    }

    private static int members(EmbeddedKafkaBroker kafka, String group) throws Exception {
        return kafka.admin()
                .describeConsumerGroups(java.util.List.of(group))
                .all()
                .get(30, TimeUnit.SECONDS)
                .get(group)
                .members()
                .size();
    }
}
