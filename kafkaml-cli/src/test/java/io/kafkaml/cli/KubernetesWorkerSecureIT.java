package io.kafkaml.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.format.raw.RawDataSink;
import io.kafkaml.format.raw.RawType;
import io.kafkaml.k8s.KubernetesManifests;
import io.kafkaml.k8s.KubernetesSettings;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.Deployment;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.Registry;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.testkit.BrokerSecurity;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import io.kafkaml.training.TrainingJob;
import io.kafkaml.training.TrainingSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.ResourceType;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * A training pod's environment reaches a SASL_SSL (SCRAM-SHA-512) broker with the standard authorizer: the Job is
 * rendered as {@code k8s render training} renders it, the user's settings without their secrets go into its spec,
 * the secrets into a Secret; {@code kafkaml worker} runs as a child process with exactly the environment Kubernetes
 * would give that container (the Secret's keys through {@code envFrom}, overridden by the spec's {@code env}), as a
 * SCRAM user holding only the trainer's ACLs, and trains and records its result.
 */
class KubernetesWorkerSecureIT {

    @RegisterExtension
    static final EmbeddedKafkaExtension KAFKA = EmbeddedKafkaExtension.configured(
            b -> b.security(BrokerSecurity.builder().build()));

    static final String PREFIX = "podsec";
    static final String CONTROL = "podsec-control";
    static final String DATA = "podsec-data";
    static final String SECRET_NAME = "kafkaml-client";

    @Test
    @Timeout(180)
    void aWorkerWithTheRenderedEnvironmentAndTheSecretTrainsOnASaslSslBroker(
            EmbeddedKafkaBroker kafka, @TempDir Path dir) throws Exception {
        kafka.createScramUser("pod", "pod-secret-31");
        kafka.createTopic(CONTROL, 1);
        kafka.createTopic(DATA, 1);
        // the trainer's minimal ACLs (README "Secure clusters")
        kafka.allow("pod", ResourceType.TOPIC, CONTROL, AclOperation.READ);
        kafka.allow("pod", ResourceType.TOPIC, DATA, AclOperation.READ);
        kafka.allowPrefixed("pod", ResourceType.TOPIC, PREFIX + ".", AclOperation.READ, AclOperation.WRITE);

        try (Registry registry = Registry.connect(kafka.clientConfig(), PREFIX, Duration.ofSeconds(30))) {
            registry.registerModel(ModelDefinition.of(
                    "mlp",
                    "",
                    new NeuralNetConfiguration.Builder()
                            .seed(1)
                            .updater(new Adam(0.01))
                            .list()
                            .layer(new DenseLayer.Builder()
                                    .nIn(2)
                                    .nOut(8)
                                    .activation(Activation.RELU)
                                    .build())
                            .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                                    .nIn(8)
                                    .nOut(2)
                                    .activation(Activation.SOFTMAX)
                                    .build())
                            .build()));
            registry.createConfiguration(new Configuration("c", "", List.of("mlp")));
            registry.createDeployment(new Deployment(
                    "31",
                    "c",
                    DeploymentStatus.WAITING_FOR_DATA,
                    null,
                    TrainingSpec.builder().batchSize(16).epochs(2).build().toMap(),
                    Instant.now(),
                    Instant.now(),
                    null));
            run(kafka, dir, registry, TrainingJob.recorded(registry, "31", CONTROL));
        }
    }

    private static void run(EmbeddedKafkaBroker kafka, Path dir, Registry registry, TrainingJob job) throws Exception {

        // the user's settings: the pod user's client settings plus kafkaml.* ones; secrets go to the Secret only
        Map<String, Object> user = new TreeMap<>(kafka.clientConfig("pod"));
        user.remove("bootstrap.servers");
        user.put(KafkaMlConfig.MAX_RECORD_BYTES_CONFIG, "4096");
        Map<String, Object> secrets = new TreeMap<>();
        user.keySet().stream().filter(KafkaMlConfig::isSecret).forEach(key -> secrets.put(key, user.get(key)));
        user.keySet().removeAll(secrets.keySet());
        assertThat(secrets).containsOnlyKeys("sasl.jaas.config", "ssl.truststore.certificates");
        Secret secret = new SecretBuilder()
                .withNewMetadata()
                .withName(SECRET_NAME)
                .endMetadata()
                .withStringData(KafkaMlConfig.environment(secrets))
                .build();
        KubernetesManifests manifests =
                new KubernetesManifests(KubernetesSettings.builder(kafka.bootstrapServers(), "kafkaml/worker:test")
                        .registryPrefix(PREFIX)
                        .clientSecret(SECRET_NAME)
                        .settings(user)
                        .build());
        String yaml = KubernetesManifests.toYaml(manifests.trainingJobs(job));
        assertThat(yaml).doesNotContain("pod-secret-31").doesNotContain("BEGIN CERTIFICATE");
        Job rendered = Serialization.unmarshal(yaml, Job.class);
        Map<String, String> environment =
                podEnvironment(rendered.getSpec().getTemplate().getSpec(), List.of(secret), "kafkaml-train-31-mlp-x1");
        assertThat(environment)
                .containsEntry("KAFKAML_CLIENT_SECURITY_PROTOCOL", "SASL_SSL")
                .containsEntry("KAFKAML_MAX_RECORD_BYTES", "4096")
                .containsKey("KAFKAML_CLIENT_SASL_JAAS_CONFIG");

        Path log = dir.resolve("worker.log");
        ProcessBuilder worker = ChildProcessIT.kafkaml(log, "worker");
        worker.environment().keySet().removeIf(name -> name.startsWith(KafkaMlConfig.ENV_PREFIX));
        worker.environment().putAll(environment);
        Process process = worker.start();
        try {
            Random random = new Random(5);
            try (RawDataSink sink = RawDataSink.builder(kafka.clientConfig())
                    .topic(DATA)
                    .controlTopic(CONTROL)
                    .deploymentId("31")
                    .labelType(RawType.UINT8)
                    .testRate(0.2)
                    .build()) {
                for (int i = 0; i < 100; i++) {
                    int label = i % 2;
                    sink.send(
                            new float[] {label * 3 + (float) random.nextGaussian(), (float) random.nextGaussian()},
                            label);
                }
            }
            assertThat(process.waitFor(90, TimeUnit.SECONDS))
                    .as("the worker ended")
                    .isTrue();
        } finally {
            process.destroyForcibly();
        }
        String output = Files.readString(log);
        assertThat(process.exitValue()).as(output).isZero();
        assertThat(output).contains("deployment 31 FINISHED").doesNotContain("pod-secret-31");
        // what the worker recorded, as this registry reads it once caught up with both topics (the result's
        // ending and the deployment's are two records on two topics)
        org.awaitility.Awaitility.await()
                .atMost(Duration.ofSeconds(30))
                .until(() -> registry.result(TrainingResult.idOf("31", "mlp"))
                                .map(r -> r.status().isTerminal())
                                .orElse(false)
                        && registry.deployment("31")
                                .map(d -> d.status().isTerminal())
                                .orElse(false));
        assertThat(registry.result(TrainingResult.idOf("31", "mlp"))
                        .orElseThrow()
                        .status())
                .isEqualTo(DeploymentStatus.FINISHED);
        assertThat(registry.deployment("31").orElseThrow().status()).isEqualTo(DeploymentStatus.FINISHED);
    }

    /**
     * The environment Kubernetes gives a pod's one container: the keys of each Secret named by {@code envFrom},
     * then {@code env} (which wins), a {@code metadata.name} field reference being the pod's name.
     */
    static Map<String, String> podEnvironment(PodSpec pod, List<Secret> secrets, String podName) {
        var container = pod.getContainers().get(0);
        Map<String, String> environment = new LinkedHashMap<>();
        if (container.getEnvFrom() != null) {
            for (var from : container.getEnvFrom()) {
                Secret secret = secrets.stream()
                        .filter(s -> s.getMetadata()
                                .getName()
                                .equals(from.getSecretRef().getName()))
                        .findFirst()
                        .orElseThrow(() -> new AssertionError(
                                "no Secret " + from.getSecretRef().getName()));
                environment.putAll(secret.getStringData());
            }
        }
        for (EnvVar variable : container.getEnv()) {
            if (variable.getValue() != null) {
                environment.put(variable.getName(), variable.getValue());
            } else if ("metadata.name"
                    .equals(variable.getValueFrom().getFieldRef().getFieldPath())) {
                environment.put(variable.getName(), podName);
            } else {
                throw new AssertionError("unexpected reference in " + variable);
            }
        }
        return environment;
    }
}
