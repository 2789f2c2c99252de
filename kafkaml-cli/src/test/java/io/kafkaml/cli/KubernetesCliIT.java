package io.kafkaml.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/** {@code kafkaml train --kubernetes} against fabric8's mock API server (CRUD mode), pointed to by system properties. */
@EnableKubernetesMockClient(crud = true)
@ExtendWith(EmbeddedKafkaExtension.class)
class KubernetesCliIT {

    KubernetesClient client;

    @AfterEach
    void forgetTheMockServer() {
        System.clearProperty("kubernetes.master");
        System.clearProperty("kubernetes.trust.certificates");
        System.clearProperty("kubernetes.auth.tryKubeConfig");
        System.clearProperty("kubernetes.auth.tryServiceAccount");
    }

    @Test
    void trainWithKubernetesCreatesOneJobPerModel(EmbeddedKafkaBroker kafka, @TempDir Path dir) throws Exception {
        System.setProperty("kubernetes.master", client.getMasterUrl().toString());
        System.setProperty("kubernetes.trust.certificates", "true");
        System.setProperty("kubernetes.auth.tryKubeConfig", "false");
        System.setProperty("kubernetes.auth.tryServiceAccount", "false");
        Path model = dir.resolve("m.json");
        Files.writeString(
                model,
                new NeuralNetConfiguration.Builder()
                        .list()
                        .layer(new DenseLayer.Builder()
                                .nIn(3)
                                .nOut(4)
                                .activation(Activation.RELU)
                                .build())
                        .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                                .nIn(4)
                                .nOut(2)
                                .activation(Activation.SOFTMAX)
                                .build())
                        .build()
                        .toJson());
        assertThat(KafkaMlCliIT.run(kafka, "models", "register", "--name", "m", "--file", model.toString())
                        .status())
                .isZero();
        assertThat(KafkaMlCliIT.run(kafka, "configurations", "create", "--name", "k", "--models", "m")
                        .status())
                .isZero();
        KafkaMlCliIT.Run launched = KafkaMlCliIT.run(
                kafka,
                "train",
                "--configuration",
                "k",
                "--deployment-id",
                "9",
                "--kubernetes",
                "--namespace",
                "ml",
                "--image",
                "registry.local/kafkaml:1",
                "--kafka",
                "kafka.ml:9092",
                "--client-secret",
                "creds");
        assertThat(launched.status()).as(launched.err()).isZero();
        assertThat(launched.out()).contains("deployment 9 launched as Kubernetes Jobs in namespace ml");
        Job job = client.batch()
                .v1()
                .jobs()
                .inNamespace("ml")
                .withName("kafkaml-train-9-m")
                .get();
        assertThat(job).isNotNull();
        assertThat(job.getSpec().getTemplate().getSpec().getContainers().get(0).getImage())
                .isEqualTo("registry.local/kafkaml:1");
        assertThat(KafkaMlCliIT.run(kafka, "deployments", "list").out())
                .contains("9")
                .contains("WAITING_FOR_DATA");
    }
}
