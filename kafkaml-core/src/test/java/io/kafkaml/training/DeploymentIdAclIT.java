package io.kafkaml.training;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.control.ControlChannel;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.Registry;
import io.kafkaml.testkit.BrokerSecurity;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.time.Duration;
import java.util.List;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.ResourceType;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * On a secured cluster, a principal whose ACLs cover its registry's topics and the control topic but not the
 * deployment id claims topic still deploys (ids one above every id known, with a warning); once it has the claims
 * topic's ACLs, ids are claimed there.
 */
class DeploymentIdAclIT {

    @RegisterExtension
    static final EmbeddedKafkaExtension KAFKA = EmbeddedKafkaExtension.configured(
            b -> b.security(BrokerSecurity.builder().build()));

    @Test
    void automaticIdsFallBackToOneAboveTheKnownIdsWithoutTheClaimsTopicsAcls(EmbeddedKafkaBroker kafka) {
        String control = "ctl-acl";
        String claims = control + ControlChannel.ID_CLAIMS_SUFFIX;
        kafka.createTopic(control, 1);
        kafka.createScramUser("alice", "alice-secret");
        kafka.allowPrefixed("alice", ResourceType.TOPIC, "acl.", AclOperation.ALL);
        kafka.allow("alice", ResourceType.TOPIC, control, AclOperation.ALL);
        try (Registry registry = Registry.connect(kafka.clientConfig("alice"), "acl", Duration.ofSeconds(30))) {
            var conf = new NeuralNetConfiguration.Builder()
                    .seed(3)
                    .list()
                    .layer(new DenseLayer.Builder()
                            .nIn(3)
                            .nOut(4)
                            .activation(Activation.TANH)
                            .build())
                    .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                            .nIn(4)
                            .nOut(2)
                            .activation(Activation.SOFTMAX)
                            .build())
                    .build();
            registry.registerModel(ModelDefinition.of("tiny", "", conf));
            registry.createConfiguration(new Configuration("tiny-only", "", List.of("tiny")));
            TrainingDeployments deployments = new TrainingDeployments(registry, TrainingControlIT.RECORD_ONLY, control);
            TrainingSpec spec = TrainingSpec.builder().batchSize(5).epochs(1).build();

            deployments.deploy("tiny-only", spec);
            deployments.deploy("tiny-only", spec, "10"); // explicit: unchecked, but usable
            deployments.deploy("tiny-only", spec);
            assertThat(registry.deployment("1")).isPresent();
            assertThat(registry.deployment("10")).isPresent();
            assertThat(registry.deployment("11")).as("one above every id known").isPresent();
            assertThat(kafka.admin()
                            .listTopics()
                            .names()
                            .toCompletionStage()
                            .toCompletableFuture()
                            .join())
                    .doesNotContain(claims);

            kafka.allow("alice", ResourceType.TOPIC, claims, AclOperation.ALL);
            deployments.deploy("tiny-only", spec);
            assertThat(registry.deployment("12")).isPresent();
            assertThat(kafka.logEndOffset(new TopicPartition(claims, 0)))
                    .as("id 12 claimed")
                    .isEqualTo(1);
        }
    }
}
