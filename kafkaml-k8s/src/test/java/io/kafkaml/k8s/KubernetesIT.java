package io.kafkaml.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.TolerationBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobConditionBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.kafkaml.inference.InferenceSpec;
import io.kafkaml.inference.ProcessingGuarantee;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.Registry;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import io.kafkaml.training.TrainingDeployments;
import io.kafkaml.training.TrainingHandle;
import io.kafkaml.training.TrainingSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/** Against fabric8's mock API server in CRUD mode (no real API server can run here), with a real registry. */
@EnableKubernetesMockClient(crud = true)
@ExtendWith(EmbeddedKafkaExtension.class)
class KubernetesIT {

    KubernetesClient client;

    static KubernetesSettings settings() {
        return KubernetesSettings.builder("kafka.data:9092", "ghcr.io/kafkaml/worker:0.1.0").namespace("ml")
                .clientSecret("kafkaml-client").resources("500m", "1Gi", "2", "4Gi").gpus(1)
                .nodeSelector(Map.of("accelerator", "nvidia"))
                .tolerations(List.of(new TolerationBuilder().withKey("nvidia.com/gpu").withOperator("Exists")
                        .withEffect("NoSchedule").build()))
                .build();
    }

    static ModelDefinition model(String name, int hidden) {
        return ModelDefinition.of(name, "", new NeuralNetConfiguration.Builder().list()
                .layer(new DenseLayer.Builder().nIn(3).nOut(hidden).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nIn(hidden).nOut(2).activation(Activation.SOFTMAX).build())
                .build());
    }

    static String env(List<EnvVar> env, String name) {
        return env.stream().filter(e -> e.getName().equals(name)).map(EnvVar::getValue).findFirst().orElse(null);
    }

    @Test
    void aTrainingDeploymentCreatesOneJobPerModelAndAFailedJobMarksItsResultFailed(EmbeddedKafkaBroker kafka) {
        try (Registry registry = Registry.connect(kafka.clientConfig(), "k8s", Duration.ofSeconds(30));
                JobStatusWatcher watcher = new JobStatusWatcher(client, "ml", registry);
                KubernetesTrainingLauncher launcher = new KubernetesTrainingLauncher(client, settings(), registry)) {
            registry.registerModel(model("small_A", 4));
            registry.registerModel(model("large-b", 16));
            registry.createConfiguration(new Configuration("pair", "", List.of("small_A", "large-b")));
            TrainingHandle handle = new TrainingDeployments(registry, launcher).deploy("pair",
                    TrainingSpec.builder().epochs(5).build(), "17");

            List<Job> jobs = client.batch().v1().jobs().inNamespace("ml").list().getItems();
            assertThat(jobs).extracting(j -> j.getMetadata().getName())
                    .containsExactlyInAnyOrder("kafkaml-train-17-small-a", "kafkaml-train-17-large-b");
            Job job = jobs.stream().filter(j -> j.getMetadata().getName().endsWith("small-a")).findFirst().orElseThrow();
            assertThat(job.getMetadata().getLabels()).containsEntry("app.kubernetes.io/name", "kafkaml")
                    .containsEntry("app.kubernetes.io/component", "training")
                    .containsEntry("app.kubernetes.io/instance", "kafkaml-17")
                    .containsEntry("kafkaml.io/deployment-id", "17").containsEntry("kafkaml.io/model", "small-a");
            assertThat(job.getSpec().getBackoffLimit()).isEqualTo(3);
            assertThat(job.getSpec().getTtlSecondsAfterFinished()).isEqualTo(3600);
            var pod = job.getSpec().getTemplate().getSpec();
            assertThat(pod.getRestartPolicy()).isEqualTo("OnFailure");
            assertThat(pod.getServiceAccountName()).isEqualTo("kafkaml");
            assertThat(pod.getNodeSelector()).containsEntry("accelerator", "nvidia");
            assertThat(pod.getTolerations()).hasSize(1);
            var container = pod.getContainers().get(0);
            assertThat(container.getImage()).isEqualTo("ghcr.io/kafkaml/worker:0.1.0");
            assertThat(container.getArgs()).containsExactly("worker");
            assertThat(env(container.getEnv(), "KAFKAML_ROLE")).isEqualTo("train");
            assertThat(env(container.getEnv(), "KAFKAML_DEPLOYMENT_ID")).isEqualTo("17");
            assertThat(env(container.getEnv(), "KAFKAML_MODEL")).isEqualTo("small_A");
            assertThat(env(container.getEnv(), "KAFKAML_BOOTSTRAP_SERVERS")).isEqualTo("kafka.data:9092");
            assertThat(container.getEnvFrom().get(0).getSecretRef().getName()).isEqualTo("kafkaml-client");
            assertThat(container.getResources().getLimits().get("nvidia.com/gpu").getAmount()).isEqualTo("1");
            assertThat(container.getResources().getRequests().get("memory").toString()).isEqualTo("1Gi");

            // The pod of small_A is OOM-killed and its Job gives up: the registry learns it from Kubernetes.
            Pod crashed = new PodBuilder().withNewMetadata().withName("kafkaml-train-17-small-a-x1").withNamespace("ml")
                    .withLabels(Map.of("job-name", "kafkaml-train-17-small-a")).endMetadata()
                    .withNewStatus().withContainerStatuses(new ContainerStatusBuilder().withName("worker")
                            .withNewState().withNewTerminated().withReason("OOMKilled").withExitCode(137).endTerminated()
                            .endState().build()).endStatus().build();
            client.pods().inNamespace("ml").resource(crashed).create();
            job.setStatus(new JobStatusBuilder().withConditions(new JobConditionBuilder().withType("Failed")
                    .withStatus("True").withReason("BackoffLimitExceeded").build()).withFailed(4).build());
            client.batch().v1().jobs().inNamespace("ml").resource(job).updateStatus();
            Awaitility.await().atMost(15, TimeUnit.SECONDS).untilAsserted(() -> {
                TrainingResult result = registry.result("17.small_A").orElseThrow();
                assertThat(result.status()).isEqualTo(DeploymentStatus.FAILED);
                assertThat(result.error()).contains("kafkaml-train-17-small-a failed: pod kafkaml-train-17-small-a-x1 "
                        + "OOMKilled (exit code 137)");
            });
            assertThat(handle.await(Duration.ofSeconds(10))).contains(DeploymentStatus.FAILED);
            assertThat(registry.deployment("17").orElseThrow().error()).contains("model 'small_A'").contains("OOMKilled");

            handle.cancel();
            assertThat(client.batch().v1().jobs().inNamespace("ml").list().getItems()).isEmpty();
        }
    }

    @Test
    void completedJobsFinishTheDeployment(EmbeddedKafkaBroker kafka) {
        try (Registry registry = Registry.connect(kafka.clientConfig(), "k8s-done", Duration.ofSeconds(30));
                JobStatusWatcher watcher = new JobStatusWatcher(client, "ml", registry);
                KubernetesTrainingLauncher launcher = new KubernetesTrainingLauncher(client, settings(), registry)) {
            registry.registerModel(model("m", 4));
            registry.createConfiguration(new Configuration("one", "", List.of("m")));
            TrainingHandle handle = new TrainingDeployments(registry, launcher).deploy("one",
                    TrainingSpec.builder().build(), "31");
            Job job = client.batch().v1().jobs().inNamespace("ml").withName("kafkaml-train-31-m").get();
            job.setStatus(new JobStatusBuilder().withConditions(new JobConditionBuilder().withType("Complete")
                    .withStatus("True").build()).withSucceeded(1).withCompletionTime(Instant.now().toString()).build());
            client.batch().v1().jobs().inNamespace("ml").resource(job).updateStatus();
            assertThat(handle.await(Duration.ofSeconds(15))).contains(DeploymentStatus.FINISHED);
        }
    }

    @Test
    void inferenceIsADeploymentThatScalesAndStops(EmbeddedKafkaBroker kafka) {
        try (Registry registry = Registry.connect(kafka.clientConfig(), "k8s-infer", Duration.ofSeconds(30))) {
            KubernetesInference inference = KubernetesInference.start(client, settings(), registry, "hcopd-serving",
                    InferenceSpec.builder("7.hcopd-paper", "hcopd-in", "hcopd-out").replicas(2)
                            .guarantee(ProcessingGuarantee.EXACTLY_ONCE).deadLetterTopic("hcopd-dlq").build());
            Deployment deployment = client.apps().deployments().inNamespace("ml").withName("kafkaml-infer-hcopd-serving").get();
            assertThat(deployment.getSpec().getReplicas()).isEqualTo(2);
            var container = deployment.getSpec().getTemplate().getSpec().getContainers().get(0);
            assertThat(env(container.getEnv(), "KAFKAML_ROLE")).isEqualTo("infer");
            assertThat(env(container.getEnv(), "KAFKAML_RESULT_ID")).isEqualTo("7.hcopd-paper");
            assertThat(env(container.getEnv(), "KAFKAML_EXACTLY_ONCE")).isEqualTo("true");
            assertThat(env(container.getEnv(), "KAFKAML_DLQ_TOPIC")).isEqualTo("hcopd-dlq");
            assertThat(container.getEnv().stream().filter(e -> e.getName().equals("KAFKAML_REPLICA_INDEX")).findFirst()
                    .orElseThrow().getValueFrom().getFieldRef().getFieldPath()).isEqualTo("metadata.name");
            assertThat(deployment.getSpec().getTemplate().getSpec().getRestartPolicy()).isEqualTo("Always");
            assertThat(registry.inference("hcopd-serving").orElseThrow().replicas()).isEqualTo(2);

            inference.scale(5);
            assertThat(client.apps().deployments().inNamespace("ml").withName(inference.name()).get().getSpec()
                    .getReplicas()).isEqualTo(5);
            assertThat(registry.inference("hcopd-serving").orElseThrow().replicas()).isEqualTo(5);

            inference.stop();
            assertThat(client.apps().deployments().inNamespace("ml").withName(inference.name()).get()).isNull();
            assertThat(registry.inference("hcopd-serving").orElseThrow().status()).isEqualTo("STOPPED");
        }
    }
}
