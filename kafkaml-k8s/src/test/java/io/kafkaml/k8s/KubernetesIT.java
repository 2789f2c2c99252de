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
import io.kafkaml.sink.RecordDataSink;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import io.kafkaml.training.TrainingDeployments;
import io.kafkaml.training.TrainingHandle;
import io.kafkaml.training.TrainingJob;
import io.kafkaml.training.TrainingSpec;
import io.kafkaml.training.internals.TrainingRunner;
import java.time.Duration;
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
        return KubernetesSettings.builder("kafka.data:9092", "ghcr.io/kafkaml/worker:0.1.0")
                .namespace("ml")
                .clientSecret("kafkaml-client")
                .resources("500m", "1Gi", "2", "4Gi")
                .gpus(1)
                .nodeSelector(Map.of("accelerator", "nvidia"))
                .tolerations(List.of(new TolerationBuilder()
                        .withKey("nvidia.com/gpu")
                        .withOperator("Exists")
                        .withEffect("NoSchedule")
                        .build()))
                .build();
    }

    static ModelDefinition model(String name, int hidden) {
        return ModelDefinition.of(
                name,
                "",
                new NeuralNetConfiguration.Builder()
                        .list()
                        .layer(new DenseLayer.Builder()
                                .nIn(3)
                                .nOut(hidden)
                                .activation(Activation.RELU)
                                .build())
                        .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                                .nIn(hidden)
                                .nOut(2)
                                .activation(Activation.SOFTMAX)
                                .build())
                        .build());
    }

    static String env(List<EnvVar> env, String name) {
        return env.stream()
                .filter(e -> e.getName().equals(name))
                .map(EnvVar::getValue)
                .findFirst()
                .orElse(null);
    }

    @Test
    void aTrainingDeploymentCreatesOneJobPerModelAndAFailedJobMarksItsResultFailed(EmbeddedKafkaBroker kafka) {
        try (Registry registry = Registry.connect(kafka.clientConfig(), "k8s", Duration.ofSeconds(30));
                JobStatusWatcher watcher = new JobStatusWatcher(client, "ml", registry);
                KubernetesTrainingLauncher launcher = new KubernetesTrainingLauncher(client, settings(), registry)) {
            registry.registerModel(model("small_A", 4));
            registry.registerModel(model("large-b", 16));
            registry.createConfiguration(new Configuration("pair", "", List.of("small_A", "large-b")));
            TrainingHandle handle = new TrainingDeployments(registry, launcher)
                    .deploy("pair", TrainingSpec.builder().epochs(5).build(), "17");

            List<Job> jobs = client.batch().v1().jobs().inNamespace("ml").list().getItems();
            assertThat(jobs)
                    .extracting(j -> j.getMetadata().getName())
                    .containsExactlyInAnyOrder("kafkaml-train-17-small-a", "kafkaml-train-17-large-b");
            Job job = jobs.stream()
                    .filter(j -> j.getMetadata().getName().endsWith("small-a"))
                    .findFirst()
                    .orElseThrow();
            assertThat(job.getMetadata().getLabels())
                    .containsEntry("app.kubernetes.io/name", "kafkaml")
                    .containsEntry("app.kubernetes.io/component", "training")
                    .containsEntry("app.kubernetes.io/instance", "kafkaml-17")
                    .containsEntry("kafkaml.io/deployment-id", "17")
                    .containsEntry("kafkaml.io/model", "small-a");
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
            assertThat(container
                            .getResources()
                            .getLimits()
                            .get("nvidia.com/gpu")
                            .getAmount())
                    .isEqualTo("1");
            assertThat(container.getResources().getRequests().get("memory").toString())
                    .isEqualTo("1Gi");

            // The pod of small_A is OOM-killed and its Job gives up: the registry learns it from Kubernetes.
            Pod crashed = new PodBuilder()
                    .withNewMetadata()
                    .withName("kafkaml-train-17-small-a-x1")
                    .withNamespace("ml")
                    .withLabels(Map.of("job-name", "kafkaml-train-17-small-a"))
                    .endMetadata()
                    .withNewStatus()
                    .withContainerStatuses(new ContainerStatusBuilder()
                            .withName("worker")
                            .withNewState()
                            .withNewTerminated()
                            .withReason("OOMKilled")
                            .withExitCode(137)
                            .endTerminated()
                            .endState()
                            .build())
                    .endStatus()
                    .build();
            client.pods().inNamespace("ml").resource(crashed).create();
            job.setStatus(new JobStatusBuilder()
                    .withConditions(new JobConditionBuilder()
                            .withType("Failed")
                            .withStatus("True")
                            .withReason("BackoffLimitExceeded")
                            .build())
                    .withFailed(4)
                    .build());
            client.batch().v1().jobs().inNamespace("ml").resource(job).updateStatus();
            Awaitility.await()
                    .atMost(30, TimeUnit.SECONDS)
                    .untilAsserted(() -> assertThat(registry.result("17.small_A"))
                            .hasValueSatisfying(result -> {
                                assertThat(result.status()).isEqualTo(DeploymentStatus.FAILED);
                                assertThat(result.error())
                                        .contains("kafkaml-train-17-small-a failed: pod "
                                                + "kafkaml-train-17-small-a-x1 OOMKilled (exit code 137)");
                            }));
            // large-b has not ended: the deployment is not terminal yet, whatever its sibling did.
            assertThat(registry.deployment("17").orElseThrow().status()).isEqualTo(DeploymentStatus.TRAINING);
            assertThat(handle.await(Duration.ZERO)).isEmpty();

            handle.cancel();
            assertThat(client.batch().v1().jobs().inNamespace("ml").list().getItems())
                    .isEmpty();
            assertThat(registry.result("17.large-b").orElseThrow().status()).isEqualTo(DeploymentStatus.CANCELLED);
            assertThat(handle.await(Duration.ofSeconds(10))).contains(DeploymentStatus.FAILED);
            assertThat(registry.deployment("17").orElseThrow().error())
                    .contains("model 'small_A'")
                    .contains("OOMKilled")
                    .doesNotContain("large-b");
            assertThat(registry.result("17.small_A").orElseThrow().status())
                    .as("a terminal result is never left")
                    .isEqualTo(DeploymentStatus.FAILED);
        }
    }

    /** Waits until {@code registry} has read a terminal record of result {@code resultId} (written by another client). */
    static void awaitEnded(Registry registry, String resultId) {
        Awaitility.await()
                .atMost(Duration.ofSeconds(30))
                .until(() -> registry.result(resultId)
                        .map(r -> r.status().isTerminal())
                        .orElse(false));
    }

    /** A model whose 3 regression outputs cannot match the stream's one label per record: its worker fails. */
    static ModelDefinition mismatched(String name) {
        return ModelDefinition.of(
                name,
                "",
                new NeuralNetConfiguration.Builder()
                        .list()
                        .layer(new DenseLayer.Builder()
                                .nIn(3)
                                .nOut(4)
                                .activation(Activation.RELU)
                                .build())
                        .layer(new OutputLayer.Builder(LossFunction.MSE)
                                .nIn(4)
                                .nOut(3)
                                .activation(Activation.IDENTITY)
                                .build())
                        .build());
    }

    /**
     * Runs the worker of one training Job as {@code kafkaml worker} would in its pod, on a thread of this JVM: its own
     * registry client, configured from the Job's container environment; returns the worker's final status once it
     * ended, after setting the Job's status as Kubernetes' Job controller would from the worker's exit.
     */
    DeploymentStatus runWorker(EmbeddedKafkaBroker kafka, String prefix, String jobName) throws InterruptedException {
        Job job = client.batch().v1().jobs().inNamespace("ml").withName(jobName).get();
        List<EnvVar> env =
                job.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv();
        DeploymentStatus[] status = new DeploymentStatus[1];
        Thread worker = new Thread(
                () -> {
                    try (Registry own = Registry.connect(kafka.clientConfig(), prefix, Duration.ofSeconds(30))) {
                        TrainingRunner runner = new TrainingRunner(
                                TrainingJob.recorded(
                                                own,
                                                env(env, "KAFKAML_DEPLOYMENT_ID"),
                                                env(env, "KAFKAML_CONTROL_TOPIC"))
                                        .onlyModel(env(env, "KAFKAML_MODEL")),
                                own,
                                kafka.clientConfig(),
                                null);
                        runner.run();
                        status[0] = runner.finalStatus();
                    }
                },
                "worker-" + jobName);
        worker.start();
        worker.join(TimeUnit.MINUTES.toMillis(3));
        assertThat(worker.isAlive()).as(jobName + " ended").isFalse();
        boolean succeeded = status[0] == DeploymentStatus.FINISHED;
        job.setStatus(new JobStatusBuilder()
                .withConditions(new JobConditionBuilder()
                        .withType(succeeded ? "Complete" : "Failed")
                        .withStatus("True")
                        .withReason(succeeded ? null : "BackoffLimitExceeded")
                        .build())
                .withSucceeded(succeeded ? 1 : 0)
                .withFailed(succeeded ? 0 : 4)
                .build());
        client.batch().v1().jobs().inNamespace("ml").resource(job).updateStatus();
        return status[0];
    }

    @Test
    void threeWorkersEndingAtDifferentTimesAndOneFailingMakeTheDeploymentFailedOnlyOnceAllEnded(
            EmbeddedKafkaBroker kafka) throws Exception {
        String prefix = "k8s-three";
        try (Registry registry = Registry.connect(kafka.clientConfig(), prefix, Duration.ofSeconds(30));
                JobStatusWatcher watcher = new JobStatusWatcher(client, "ml", registry);
                KubernetesTrainingLauncher launcher = new KubernetesTrainingLauncher(client, settings(), registry)) {
            registry.registerModel(model("quick", 4));
            registry.registerModel(model("slow", 32));
            registry.registerModel(mismatched("broken"));
            registry.createConfiguration(new Configuration("three", "", List.of("quick", "slow", "broken")));
            TrainingHandle handle = new TrainingDeployments(registry, launcher)
                    .deploy(
                            "three",
                            TrainingSpec.builder().batchSize(8).epochs(5).build(),
                            "40");
            assertThat(client.batch()
                            .v1()
                            .jobs()
                            .inNamespace("ml")
                            .withLabel("kafkaml.io/deployment-id", "40")
                            .list()
                            .getItems())
                    .hasSize(3);
            kafka.createTopic("three-data", 1);
            java.util.Random random = new java.util.Random(7);
            try (RecordDataSink sink = RecordDataSink.builder(kafka.clientConfig())
                    .format("JSON")
                    .inputConfig(Map.of("data_reshape", "3"))
                    .topic("three-data")
                    .deploymentId("40")
                    .testRate(0.2)
                    .build()) {
                for (int i = 0; i < 40; i++) {
                    sink.send(new double[] {i % 2 + random.nextGaussian(), random.nextGaussian(), i % 2}, i % 2);
                }
            }

            // broken ends first, FAILED with its own reason; its siblings have not ended: nothing is terminal.
            assertThat(runWorker(kafka, prefix, "kafkaml-train-40-broken")).isEqualTo(DeploymentStatus.FAILED);
            String reason = "the model has 3 outputs but the stream's labels have 1 value per record";
            // each worker writes with its own registry client: this one reads the ending once it has caught up
            awaitEnded(registry, "40.broken");
            TrainingResult broken = registry.result("40.broken").orElseThrow();
            assertThat(broken.status()).isEqualTo(DeploymentStatus.FAILED);
            assertThat(broken.error()).isEqualTo(reason);
            assertThat(registry.deployment("40").orElseThrow().status()).isEqualTo(DeploymentStatus.TRAINING);
            assertThat(handle.await(Duration.ZERO)).isEmpty();

            // quick finishes next: still one model to go, so neither FINISHED (the old early return) nor FAILED.
            assertThat(runWorker(kafka, prefix, "kafkaml-train-40-quick")).isEqualTo(DeploymentStatus.FINISHED);
            awaitEnded(registry, "40.quick");
            assertThat(registry.deployment("40").orElseThrow().status()).isEqualTo(DeploymentStatus.TRAINING);
            assertThat(handle.await(Duration.ZERO)).isEmpty();

            // slow ends last: now all three are terminal and one failed.
            assertThat(runWorker(kafka, prefix, "kafkaml-train-40-slow")).isEqualTo(DeploymentStatus.FINISHED);
            assertThat(handle.await(Duration.ofSeconds(30))).contains(DeploymentStatus.FAILED);
            assertThat(registry.deployment("40").orElseThrow().error()).isEqualTo("model 'broken': " + reason);
            assertThat(registry.results("40"))
                    .extracting(TrainingResult::model, TrainingResult::status)
                    .containsExactlyInAnyOrder(
                            org.assertj.core.groups.Tuple.tuple("quick", DeploymentStatus.FINISHED),
                            org.assertj.core.groups.Tuple.tuple("slow", DeploymentStatus.FINISHED),
                            org.assertj.core.groups.Tuple.tuple("broken", DeploymentStatus.FAILED));
            // The watcher saw broken's Job fail but kept the worker's own reason.
            assertThat(registry.result("40.broken").orElseThrow().error()).isEqualTo(reason);

            // Kubernetes restarts broken's pod (and quick's): the restarted workers revive nothing.
            TrainingResult quick = registry.result("40.quick").orElseThrow();
            assertThat(runWorker(kafka, prefix, "kafkaml-train-40-broken")).isEqualTo(DeploymentStatus.FAILED);
            assertThat(runWorker(kafka, prefix, "kafkaml-train-40-quick")).isEqualTo(DeploymentStatus.FINISHED);
            assertThat(registry.result("40.broken").orElseThrow()).isEqualTo(broken);
            assertThat(registry.result("40.quick").orElseThrow())
                    .usingRecursiveComparison()
                    .isEqualTo(quick);
            try (Registry fresh = Registry.connect(kafka.clientConfig(), prefix, Duration.ofSeconds(30))) {
                assertThat(fresh.deployment("40").orElseThrow().status()).isEqualTo(DeploymentStatus.FAILED);
                assertThat(fresh.deployment("40").orElseThrow().error()).isEqualTo("model 'broken': " + reason);
            }
        }
    }

    @Test
    void inferenceIsADeploymentThatScalesAndStops(EmbeddedKafkaBroker kafka) {
        try (Registry registry = Registry.connect(kafka.clientConfig(), "k8s-infer", Duration.ofSeconds(30))) {
            KubernetesInference inference = KubernetesInference.start(
                    client,
                    settings(),
                    registry,
                    "hcopd-serving",
                    InferenceSpec.builder("7.hcopd-paper", "hcopd-in", "hcopd-out")
                            .replicas(2)
                            .guarantee(ProcessingGuarantee.EXACTLY_ONCE)
                            .deadLetterTopic("hcopd-dlq")
                            .build());
            Deployment deployment = client.apps()
                    .deployments()
                    .inNamespace("ml")
                    .withName("kafkaml-infer-hcopd-serving")
                    .get();
            assertThat(deployment.getSpec().getReplicas()).isEqualTo(2);
            var container =
                    deployment.getSpec().getTemplate().getSpec().getContainers().get(0);
            assertThat(env(container.getEnv(), "KAFKAML_ROLE")).isEqualTo("infer");
            assertThat(env(container.getEnv(), "KAFKAML_RESULT_ID")).isEqualTo("7.hcopd-paper");
            assertThat(env(container.getEnv(), "KAFKAML_EXACTLY_ONCE")).isEqualTo("true");
            assertThat(env(container.getEnv(), "KAFKAML_DLQ_TOPIC")).isEqualTo("hcopd-dlq");
            assertThat(container.getEnv().stream()
                            .filter(e -> e.getName().equals("KAFKAML_REPLICA_INDEX"))
                            .findFirst()
                            .orElseThrow()
                            .getValueFrom()
                            .getFieldRef()
                            .getFieldPath())
                    .isEqualTo("metadata.name");
            assertThat(deployment.getSpec().getTemplate().getSpec().getRestartPolicy())
                    .isEqualTo("Always");
            assertThat(registry.inference("hcopd-serving").orElseThrow().replicas())
                    .isEqualTo(2);
            assertThat(registry.inference("hcopd-serving").orElseThrow().supervisedBy())
                    .isEqualTo("kubernetes");
            assertThat(registry.inference("hcopd-serving").orElseThrow().owner())
                    .startsWith("kubernetes:ml/kafkaml-infer-hcopd-serving#");

            inference.scale(5);
            assertThat(client.apps()
                            .deployments()
                            .inNamespace("ml")
                            .withName(inference.name())
                            .get()
                            .getSpec()
                            .getReplicas())
                    .isEqualTo(5);
            assertThat(registry.inference("hcopd-serving").orElseThrow().replicas())
                    .isEqualTo(5);

            inference.stop();
            assertThat(client.apps()
                            .deployments()
                            .inNamespace("ml")
                            .withName(inference.name())
                            .get())
                    .isNull();
            assertThat(registry.inference("hcopd-serving").orElseThrow().status())
                    .isEqualTo("STOPPED");
        }
    }
}
