package io.kafkaml.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.TolerationBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.kafkaml.inference.InferenceSpec;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Configuration;
import io.kafkaml.training.TrainingJob;
import io.kafkaml.training.TrainingSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * The rendered YAML: parses back to the same objects, matches the reviewed golden files in
 * {@code src/test/resources/golden} (regenerate with {@code -Dkafkaml.golden.update=true} and review the diff), and
 * holds no secret value.
 */
class KubernetesManifestsTest {

    static final KubernetesManifests MANIFESTS =
            new KubernetesManifests(KubernetesSettings.builder("kafka.data:9092", "ghcr.io/kafkaml/worker:0.1.0")
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
                    .build());

    static List<HasMetadata> training() {
        return new ArrayList<>(MANIFESTS.trainingJobs(trainingJob()));
    }

    static TrainingJob trainingJob() {
        ModelDefinition model = ModelDefinition.of(
                "hcopd-paper",
                "",
                new NeuralNetConfiguration.Builder()
                        .list()
                        .layer(new DenseLayer.Builder()
                                .nIn(3)
                                .nOut(4)
                                .activation(Activation.SIGMOID)
                                .build())
                        .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                                .nIn(4)
                                .nOut(2)
                                .activation(Activation.SOFTMAX)
                                .build())
                        .build());
        ModelDefinition wide = ModelDefinition.of(
                "hcopd-wide",
                "",
                new NeuralNetConfiguration.Builder()
                        .list()
                        .layer(new DenseLayer.Builder()
                                .nIn(3)
                                .nOut(16)
                                .activation(Activation.RELU)
                                .build())
                        .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                                .nIn(16)
                                .nOut(2)
                                .activation(Activation.SOFTMAX)
                                .build())
                        .build());
        return new TrainingJob(
                "7",
                new Configuration("hcopd-all", "", List.of("hcopd-paper", "hcopd-wide")),
                List.of(model, wide),
                TrainingSpec.builder().build(),
                "KAFKA_ML_CONTROL_TOPIC");
    }

    static List<HasMetadata> inference() {
        return List.of(MANIFESTS.inferenceDeployment(
                "hcopd-serving",
                InferenceSpec.builder("7.hcopd-paper", "hcopd-in", "hcopd-out")
                        .replicas(2)
                        .deadLetterTopic("hcopd-dlq")
                        .build()));
    }

    @Test
    void trainingJobsMatchTheirGoldenFileAndParseBack() throws IOException {
        check("training.yaml", training());
    }

    @Test
    void theInferenceDeploymentMatchesItsGoldenFileAndParsesBack() throws IOException {
        check("inference.yaml", inference());
    }

    @Test
    void anInferenceDeploymentThatFollowsOrPinsAVersionPassesItToItsPods() {
        var following = MANIFESTS.inferenceDeployment(
                "follows",
                InferenceSpec.builder("7.hcopd-paper", "hcopd-in", "hcopd-out")
                        .followPromoted(true)
                        .build());
        var pinned = MANIFESTS.inferenceDeployment(
                "pinned",
                InferenceSpec.builder("7.hcopd-paper", "hcopd-in", "hcopd-out")
                        .version(3)
                        .build());
        java.util.function.Function<io.fabric8.kubernetes.api.model.apps.Deployment, Map<String, String>> env = d -> {
            Map<String, String> values = new java.util.TreeMap<>();
            d.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv().forEach(e -> {
                if (e.getValue() != null) {
                    values.put(e.getName(), e.getValue());
                }
            });
            return values;
        };
        assertThat(env.apply(following))
                .containsEntry("KAFKAML_FOLLOW_PROMOTED", "true")
                .doesNotContainKey("KAFKAML_MODEL_VERSION");
        assertThat(env.apply(pinned))
                .containsEntry("KAFKAML_MODEL_VERSION", "3")
                .doesNotContainKey("KAFKAML_FOLLOW_PROMOTED");
        // the worker reads them back under the names its settings define
        assertThat(io.kafkaml.config.KafkaMlConfig.environmentVariable(
                        io.kafkaml.config.KafkaMlConfig.INFERENCE_FOLLOW_PROMOTED_CONFIG))
                .isEqualTo("KAFKAML_FOLLOW_PROMOTED");
        assertThat(io.kafkaml.config.KafkaMlConfig.environmentVariable(
                        io.kafkaml.config.KafkaMlConfig.INFERENCE_VERSION_CONFIG))
                .isEqualTo("KAFKAML_MODEL_VERSION");
    }

    @Test
    void theControlLoggerDeploymentMatchesItsGoldenFileAndRunsOnePodOfTheWorker() throws IOException {
        var deployment = MANIFESTS.controlLoggerDeployment("KAFKA_ML_CONTROL_TOPIC");
        check("control-logger.yaml", List.of(deployment));
        assertThat(deployment.getSpec().getReplicas()).isEqualTo(1);
        var container =
                deployment.getSpec().getTemplate().getSpec().getContainers().get(0);
        assertThat(container.getArgs()).containsExactly("worker");
        assertThat(container.getEnv()).anySatisfy(e -> {
            assertThat(e.getName()).isEqualTo("KAFKAML_ROLE");
            assertThat(e.getValue()).isEqualTo("control-logger");
        });
        assertThat(
                        container.getResources().getLimits() == null
                                ? Map.of()
                                : container.getResources().getLimits())
                .doesNotContainKey("nvidia.com/gpu");
    }

    @Test
    void theRbacMatchesItsGoldenFileAndGrantsOnlyWhatALauncherNeeds() throws IOException {
        check("rbac.yaml", MANIFESTS.rbac());
        String yaml = KubernetesManifests.toYaml(MANIFESTS.rbac());
        assertThat(yaml)
                .contains("kind: \"Role\"")
                .doesNotContain("ClusterRole")
                .doesNotContain("secrets")
                .doesNotContain("\"*\"");
    }

    @Test
    void noSecretValueIsRendered() {
        List<HasMetadata> all = new ArrayList<>(training());
        all.addAll(inference());
        String yaml = KubernetesManifests.toYaml(all);
        assertThat(yaml).contains("secretRef:").contains("name: \"kafkaml-client\"");
        assertThat(yaml)
                .doesNotContain("KAFKAML_CLIENT_")
                .doesNotContain("password")
                .doesNotContain("jaas")
                .doesNotContain("kind: Secret");
    }

    @Test
    void theServerMatchesItsGoldenFileReadsItsTokenFromItsSecretAndGrantsOnlyWhatItsLauncherNeeds() throws IOException {
        List<HasMetadata> objects = MANIFESTS.server("kafkaml-server");
        check("server.yaml", objects);
        assertThat(objects)
                .extracting(HasMetadata::getKind)
                .containsExactly("ServiceAccount", "ServiceAccount", "Role", "RoleBinding", "Deployment", "Service");
        var deployment = (io.fabric8.kubernetes.api.model.apps.Deployment) objects.get(4);
        assertThat(deployment.getSpec().getReplicas()).isEqualTo(1);
        var template = deployment.getSpec().getTemplate();
        var container = template.getSpec().getContainers().get(0);
        // every interface of the pod, so only with the token, which comes from the Secret and nowhere else
        assertThat(container.getArgs())
                .startsWith("server", "--host", "0.0.0.0", "--port", "8080", "--kubernetes")
                .containsSequence("--namespace", "ml")
                .containsSequence("--kafka", "kafka.data:9092")
                .containsSequence("--client-secret", "kafkaml-client");
        assertThat(container.getEnv()).anySatisfy(e -> {
            assertThat(e.getName()).isEqualTo("KAFKAML_SERVER_TOKEN");
            assertThat(e.getValue()).isNull();
            assertThat(e.getValueFrom().getSecretKeyRef().getName()).isEqualTo("kafkaml-server");
            assertThat(e.getValueFrom().getSecretKeyRef().getKey()).isEqualTo("token");
        });
        assertThat(template.getMetadata().getAnnotations())
                .containsEntry("prometheus.io/scrape", "true")
                .containsEntry("prometheus.io/port", "8080")
                .containsEntry("prometheus.io/path", "/metrics");
        assertThat(container.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/api/v1/health");
        // --service-account keeps its meaning: the server's own account, which the Role is bound to (review R1)
        assertThat(template.getSpec().getServiceAccountName())
                .isEqualTo(objects.get(0).getMetadata().getName())
                .isEqualTo("kafkaml");
        assertThat(container.getStartupProbe().getFailureThreshold()).isEqualTo(30);
        // the Jobs run under the other account: no role is bound to it and no token is mounted (review S8)
        var workers = (io.fabric8.kubernetes.api.model.ServiceAccount) objects.get(1);
        assertThat(container.getArgs())
                .containsSequence("--service-account", workers.getMetadata().getName());
        assertThat(workers.getMetadata().getName()).isEqualTo(KubernetesManifests.JOB_SERVICE_ACCOUNT);
        assertThat(workers.getAutomountServiceAccountToken()).isFalse();
        var binding = (io.fabric8.kubernetes.api.model.rbac.RoleBinding) objects.get(3);
        assertThat(binding.getSubjects())
                .extracting(io.fabric8.kubernetes.api.model.rbac.Subject::getName)
                .containsExactly("kafkaml");
        // an account the user names for the Jobs may exist and be shared: referenced only, never rendered or changed
        List<HasMetadata> named = MANIFESTS.server("kafkaml-server", "default");
        assertThat(named)
                .extracting(HasMetadata::getKind)
                .containsExactly("ServiceAccount", "Role", "RoleBinding", "Deployment", "Service");
        assertThat(named.get(0).getMetadata().getName()).isEqualTo("kafkaml");
        assertThat(((io.fabric8.kubernetes.api.model.apps.Deployment) named.get(3))
                        .getSpec()
                        .getTemplate()
                        .getSpec()
                        .getContainers()
                        .get(0)
                        .getArgs())
                .containsSequence("--service-account", "default");
        assertThat(KubernetesManifests.toYaml(named)).doesNotContain("automountServiceAccountToken");
        var service = (io.fabric8.kubernetes.api.model.Service) objects.get(5);
        assertThat(template.getMetadata().getLabels())
                .containsAllEntriesOf(service.getSpec().getSelector());
        assertThat(service.getSpec().getPorts())
                .singleElement()
                .satisfies(port -> assertThat(port.getTargetPort().getStrVal()).isEqualTo("http"));
        var role = (io.fabric8.kubernetes.api.model.rbac.Role) objects.get(2);
        assertThat(role.getRules())
                .extracting(rule -> rule.getResources().get(0) + ":" + String.join(",", rule.getVerbs()))
                .containsExactly("jobs:get,list,watch,create,delete", "pods:get,list,watch");
        String yaml = KubernetesManifests.toYaml(objects);
        assertThat(yaml)
                .doesNotContain("ClusterRole")
                .doesNotContain("secrets")
                .doesNotContain("\"*\"")
                .doesNotContain("kind: \"Secret\"")
                .doesNotContain("password")
                .doesNotContain("jaas");
        assertThatThrownBy(() -> MANIFESTS.server(" ")).hasMessageContaining("bearer token");
    }

    /** The plain-value environment of a pod's one container, as the worker would read it. */
    private static Map<String, String> env(io.fabric8.kubernetes.api.model.PodSpec pod) {
        Map<String, String> env = new java.util.LinkedHashMap<>();
        pod.getContainers().get(0).getEnv().stream()
                .filter(e -> e.getValue() != null)
                .forEach(e -> env.put(e.getName(), e.getValue()));
        return env;
    }

    @Test
    void trainingJobsCarryTheReviewedFieldsAndTheWorkerReadsTheirEnvironment() {
        List<HasMetadata> jobs = training();
        assertThat(jobs)
                .extracting(j -> j.getMetadata().getName())
                .containsExactly("kafkaml-train-7-hcopd-paper", "kafkaml-train-7-hcopd-wide");
        for (HasMetadata object : jobs) {
            io.fabric8.kubernetes.api.model.batch.v1.Job job = (io.fabric8.kubernetes.api.model.batch.v1.Job) object;
            String model = job.getMetadata().getName().substring("kafkaml-train-7-".length());
            assertThat(job.getMetadata().getNamespace()).isEqualTo("ml");
            assertThat(job.getSpec().getBackoffLimit()).isEqualTo(3);
            assertThat(job.getSpec().getTtlSecondsAfterFinished()).isEqualTo(3600);
            var pod = job.getSpec().getTemplate().getSpec();
            assertThat(pod.getRestartPolicy()).isEqualTo("OnFailure");
            // a training worker needs no Kubernetes API: no token, whatever its account (review R1)
            assertThat(pod.getAutomountServiceAccountToken()).isFalse();
            assertThat(pod.getNodeSelector()).containsExactly(Map.entry("accelerator", "nvidia"));
            assertThat(pod.getTolerations())
                    .singleElement()
                    .satisfies(t -> assertThat(t.getKey()).isEqualTo("nvidia.com/gpu"));
            var container = pod.getContainers().get(0);
            assertThat(container.getImage()).isEqualTo("ghcr.io/kafkaml/worker:0.1.0");
            assertThat(container.getArgs()).containsExactly("worker");
            assertThat(container.getEnvFrom())
                    .singleElement()
                    .satisfies(from -> assertThat(from.getSecretRef().getName()).isEqualTo("kafkaml-client"));
            assertThat(container.getResources().getRequests())
                    .containsEntry("cpu", new io.fabric8.kubernetes.api.model.Quantity("500m"))
                    .containsEntry("memory", new io.fabric8.kubernetes.api.model.Quantity("1Gi"));
            assertThat(container.getResources().getLimits())
                    .containsEntry("nvidia.com/gpu", new io.fabric8.kubernetes.api.model.Quantity("1"));
            // the worker parses this environment with the same definitions
            io.kafkaml.config.KafkaMlConfig worker = io.kafkaml.config.KafkaMlConfig.fromEnvironment(env(pod));
            assertThat(worker.require(io.kafkaml.config.KafkaMlConfig.WORKER_ROLE_CONFIG))
                    .isEqualTo("train");
            assertThat(worker.require(io.kafkaml.config.KafkaMlConfig.DEPLOYMENT_ID_CONFIG))
                    .isEqualTo("7");
            assertThat(worker.require(io.kafkaml.config.KafkaMlConfig.DEPLOYMENT_MODEL_CONFIG))
                    .isEqualTo(model);
            assertThat(worker.controlTopic()).isEqualTo("KAFKA_ML_CONTROL_TOPIC");
            assertThat(worker.registryPrefix()).isEqualTo("kafkaml");
            assertThat(worker.clientConfig()).containsExactly(Map.entry("bootstrap.servers", "kafka.data:9092"));
        }
    }

    static List<String> jdkJavaOptions(KubernetesSettings.Builder builder) {
        List<String> values = new ArrayList<>();
        for (var job : new KubernetesManifests(builder.build()).trainingJobs(trainingJob())) {
            job.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv().stream()
                    .filter(e -> e.getName().equals("JDK_JAVA_OPTIONS"))
                    .forEach(e -> values.add(e.getValue()));
        }
        return values;
    }

    @Test
    void trainingJobsGetTheParallelCollectorByDefaultOtherOptionsOrNoneAtAll() {
        var builder = KubernetesSettings.builder("kafka.data:9092", "ghcr.io/kafkaml/worker:0.1.0");
        // default: the parallel collector, one per Job (two models)
        assertThat(builder.build().trainingJvmOptions()).isEqualTo("-XX:+UseParallelGC");
        assertThat(jdkJavaOptions(builder)).containsExactly("-XX:+UseParallelGC", "-XX:+UseParallelGC");
        // null is the default too (as the constructors without the setting)
        assertThat(jdkJavaOptions(builder.trainingJvmOptions(null)))
                .containsExactly(KubernetesManifests.TRAINING_JVM_OPTIONS, KubernetesManifests.TRAINING_JVM_OPTIONS);
        // custom options replace the default
        String custom = "-XX:+UseG1GC -XX:SharedArchiveFile=/opt/kafkaml/kafkaml.jsa";
        assertThat(jdkJavaOptions(builder.trainingJvmOptions(custom))).containsExactly(custom, custom);
        // empty or blank: no JDK_JAVA_OPTIONS at all, the image's own stays
        assertThat(jdkJavaOptions(builder.trainingJvmOptions(""))).isEmpty();
        assertThat(builder.trainingJvmOptions("  ").build().trainingJvmOptions())
                .isEmpty();
        assertThat(jdkJavaOptions(builder)).isEmpty();
        // inference Deployments never get it
        assertThat(new KubernetesManifests(builder.trainingJvmOptions(custom).build())
                        .inferenceDeployment(
                                "serving",
                                InferenceSpec.builder("7.hcopd-paper", "in", "out")
                                        .build())
                        .getSpec()
                        .getTemplate()
                        .getSpec()
                        .getContainers()
                        .get(0)
                        .getEnv())
                .noneMatch(e -> e.getName().equals("JDK_JAVA_OPTIONS"));
        // the constructor without the setting keeps the default
        KubernetesSettings all = builder.trainingJvmOptions("").build();
        assertThat(new KubernetesSettings(
                                all.namespace(),
                                all.bootstrapServers(),
                                all.image(),
                                all.imagePullPolicy(),
                                all.serviceAccount(),
                                all.clientSecret(),
                                all.registryPrefix(),
                                all.controlTopic(),
                                all.cpuRequest(),
                                all.memoryRequest(),
                                all.cpuLimit(),
                                all.memoryLimit(),
                                all.gpus(),
                                all.nodeSelector(),
                                all.tolerations(),
                                all.backoffLimit(),
                                all.ttlSecondsAfterFinished(),
                                all.settings())
                        .trainingJvmOptions())
                .isEqualTo("-XX:+UseParallelGC");
    }

    @Test
    void theInferenceDeploymentCarriesTheReviewedFieldsAndTheWorkerReadsItsEnvironment() {
        var deployment =
                (io.fabric8.kubernetes.api.model.apps.Deployment) inference().get(0);
        assertThat(deployment.getSpec().getReplicas()).isEqualTo(2);
        var pod = deployment.getSpec().getTemplate().getSpec();
        io.kafkaml.config.KafkaMlConfig worker = io.kafkaml.config.KafkaMlConfig.fromEnvironment(env(pod));
        assertThat(worker.require(io.kafkaml.config.KafkaMlConfig.WORKER_ROLE_CONFIG))
                .isEqualTo("infer");
        assertThat(worker.require(io.kafkaml.config.KafkaMlConfig.INFERENCE_ID_CONFIG))
                .isEqualTo("hcopd-serving");
        assertThat(worker.require(io.kafkaml.config.KafkaMlConfig.INFERENCE_RESULT_ID_CONFIG))
                .isEqualTo("7.hcopd-paper");
        assertThat(worker.require(io.kafkaml.config.KafkaMlConfig.INFERENCE_INPUT_TOPIC_CONFIG))
                .isEqualTo("hcopd-in");
        assertThat(worker.require(io.kafkaml.config.KafkaMlConfig.INFERENCE_OUTPUT_TOPIC_CONFIG))
                .isEqualTo("hcopd-out");
        assertThat(worker.require(io.kafkaml.config.KafkaMlConfig.INFERENCE_DLQ_TOPIC_CONFIG))
                .isEqualTo("hcopd-dlq");
        assertThat(worker.getBoolean(io.kafkaml.config.KafkaMlConfig.INFERENCE_EXACTLY_ONCE_CONFIG))
                .isFalse();
        // each pod's instance id is its own name (fenced predecessors are found by it)
        assertThat(pod.getContainers().get(0).getEnv()).anySatisfy(e -> {
            assertThat(e.getName())
                    .isEqualTo(io.kafkaml.config.KafkaMlConfig.environmentVariable(
                            io.kafkaml.config.KafkaMlConfig.INFERENCE_REPLICA_INDEX_CONFIG));
            assertThat(e.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("metadata.name");
        });
    }

    /** What a user's --config file holds besides its secrets. */
    static final Map<String, String> USER_SETTINGS = Map.of(
            "kafkaml.max.record.bytes", "65536",
            "kafkaml.restart.max", "7",
            "kafkaml.inference.heartbeat.interval.ms", "2000",
            "security.protocol", "SASL_SSL",
            "sasl.mechanism", "SCRAM-SHA-512",
            "consumer.max.poll.records", "50",
            "producer.linger.ms", "5",
            "admin.request.timeout.ms", "20000");

    static KubernetesManifests withUserSettings(Map<String, String> settings) {
        return new KubernetesManifests(KubernetesSettings.builder("kafka.data:9092", "ghcr.io/kafkaml/worker:0.1.0")
                .namespace("ml")
                .clientSecret("kafkaml-client")
                .registryPrefix("team-a")
                .settings(settings)
                .build());
    }

    @Test
    void everyPodCarriesTheUserSettingsAndTheWorkerReadsThemBackUnchanged() {
        Map<String, String> settings = new java.util.HashMap<>(USER_SETTINGS);
        // settings that say what a pod runs come from the job or the spec, never from the user's file
        settings.put("kafkaml.inference.result.id", "9.other");
        settings.put("kafkaml.inference.instance.id", "laptop");
        settings.put("kafkaml.registry.prefix", "other");
        KubernetesManifests manifests = withUserSettings(settings);
        List<io.fabric8.kubernetes.api.model.PodSpec> pods = new ArrayList<>();
        for (var job : manifests.trainingJobs(trainingJob())) {
            pods.add(job.getSpec().getTemplate().getSpec());
        }
        var deployment = manifests.inferenceDeployment(
                "hcopd-serving",
                InferenceSpec.builder("7.hcopd-paper", "hcopd-in", "hcopd-out").build());
        pods.add(deployment.getSpec().getTemplate().getSpec());
        pods.add(manifests
                .controlLoggerDeployment("KAFKA_ML_CONTROL_TOPIC")
                .getSpec()
                .getTemplate()
                .getSpec());
        for (var pod : pods) {
            var container = pod.getContainers().get(0);
            assertThat(container.getEnv())
                    .extracting(io.fabric8.kubernetes.api.model.EnvVar::getName)
                    .doesNotHaveDuplicates()
                    .contains(
                            "KAFKAML_MAX_RECORD_BYTES",
                            "KAFKAML_RESTART_MAX",
                            "KAFKAML_CLIENT_SECURITY_PROTOCOL",
                            "KAFKAML_CLIENT_CONSUMER_MAX_POLL_RECORDS",
                            "KAFKAML_CLIENT_PRODUCER_LINGER_MS",
                            "KAFKAML_CLIENT_ADMIN_REQUEST_TIMEOUT_MS")
                    .doesNotContain("KAFKAML_INSTANCE_ID");
            io.kafkaml.config.KafkaMlConfig worker = io.kafkaml.config.KafkaMlConfig.fromEnvironment(env(pod));
            Map<String, Object> expected = new java.util.HashMap<>(USER_SETTINGS);
            expected.put("bootstrap.servers", "kafka.data:9092");
            assertThat(worker.originals()).containsAllEntriesOf(expected);
            assertThat(worker.registryPrefix()).isEqualTo("team-a");
            assertThat(worker.maxRecordBytes()).isEqualTo(65536);
            assertThat(worker.consumerConfig()).containsEntry("max.poll.records", "50");
            assertThat(worker.producerConfig()).containsEntry("linger.ms", "5");
            assertThat(worker.adminConfig()).containsEntry("request.timeout.ms", "20000");
            assertThat(worker.originals()).doesNotContainKey("kafkaml.inference.instance.id");
            if (worker.getString(io.kafkaml.config.KafkaMlConfig.WORKER_ROLE_CONFIG)
                    .equals("infer")) {
                assertThat(worker.getString(io.kafkaml.config.KafkaMlConfig.INFERENCE_RESULT_ID_CONFIG))
                        .isEqualTo("7.hcopd-paper");
            }
            assertThat(container.getEnvFrom())
                    .singleElement()
                    .satisfies(from -> assertThat(from.getSecretRef().getName()).isEqualTo("kafkaml-client"));
        }
    }

    @Test
    void aSecretIsRefusedAsAPodSettingWithTheVariableItsSecretNeeds() {
        for (String secret : List.of(
                "sasl.jaas.config",
                "ssl.truststore.password",
                "ssl.keystore.password",
                "ssl.key.password",
                "ssl.keystore.key",
                "producer.sasl.jaas.config")) {
            Map<String, String> settings = new java.util.HashMap<>(USER_SETTINGS);
            settings.put(secret, "s3cr3t-value");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> withUserSettings(settings))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("'" + secret + "' is a secret")
                    .hasMessageContaining("KAFKAML_CLIENT_"
                            + secret.toUpperCase(java.util.Locale.ROOT).replace('.', '_'))
                    .hasMessageNotContaining("s3cr3t-value");
        }
        String yaml = KubernetesManifests.toYaml(List.of(withUserSettings(USER_SETTINGS)
                .inferenceDeployment(
                        "hcopd-serving",
                        InferenceSpec.builder("7.hcopd-paper", "hcopd-in", "hcopd-out")
                                .build())));
        assertThat(yaml)
                .contains("KAFKAML_CLIENT_SASL_MECHANISM")
                .doesNotContain("JAAS")
                .doesNotContain("PASSWORD")
                .contains("secretRef:");
    }

    @Test
    void withAMetricsPortEveryPodIsAnnotatedForScrapingAndExposesThePort() throws IOException {
        KubernetesManifests manifests =
                new KubernetesManifests(KubernetesSettings.builder("kafka.data:9092", "ghcr.io/kafkaml/worker:0.1.0")
                        .namespace("ml")
                        .clientSecret("kafkaml-client")
                        .resources("500m", "1Gi", "2", "4Gi")
                        .nodeSelector(Map.of("accelerator", "nvidia"))
                        .tolerations(List.of(new TolerationBuilder()
                                .withKey("nvidia.com/gpu")
                                .withOperator("Exists")
                                .withEffect("NoSchedule")
                                .build()))
                        .settings(Map.of("kafkaml.metrics.port", "9404"))
                        .build());
        check(
                "inference-metrics.yaml",
                List.of(manifests.inferenceDeployment(
                        "hcopd-serving",
                        InferenceSpec.builder("7.hcopd-paper", "hcopd-in", "hcopd-out")
                                .build())));
        List<io.fabric8.kubernetes.api.model.PodTemplateSpec> templates = new ArrayList<>();
        manifests
                .trainingJobs(trainingJob())
                .forEach(job -> templates.add(job.getSpec().getTemplate()));
        templates.add(manifests
                .inferenceDeployment(
                        "hcopd-serving",
                        InferenceSpec.builder("7.hcopd-paper", "hcopd-in", "hcopd-out")
                                .build())
                .getSpec()
                .getTemplate());
        templates.add(manifests
                .controlLoggerDeployment("KAFKA_ML_CONTROL_TOPIC")
                .getSpec()
                .getTemplate());
        for (var template : templates) {
            assertThat(template.getMetadata().getAnnotations())
                    .containsEntry("prometheus.io/scrape", "true")
                    .containsEntry("prometheus.io/port", "9404")
                    .containsEntry("prometheus.io/path", "/metrics");
            var container = template.getSpec().getContainers().get(0);
            assertThat(container.getPorts())
                    .singleElement()
                    .satisfies(port -> assertThat(port.getContainerPort()).isEqualTo(9404));
            // the worker reads the port from the environment the pod gets
            assertThat(io.kafkaml.config.KafkaMlConfig.fromEnvironment(env(template.getSpec()))
                            .getInt("kafkaml.metrics.port"))
                    .isEqualTo(9404);
        }
        // without the setting nothing is annotated (the other golden files)
        assertThat(MANIFESTS
                        .inferenceDeployment(
                                "x", InferenceSpec.builder("7.m", "in", "out").build())
                        .getSpec()
                        .getTemplate()
                        .getMetadata()
                        .getAnnotations())
                .isNullOrEmpty();
        assertThatThrownBy(() -> withUserSettings(Map.of("kafkaml.metrics.port", "http"))
                        .inferenceDeployment(
                                "x", InferenceSpec.builder("7.m", "in", "out").build()))
                .hasMessageContaining("kafkaml.metrics.port");
    }

    private static void check(String golden, List<HasMetadata> objects) throws IOException {
        String yaml = KubernetesManifests.toYaml(objects);
        List<HasMetadata> parsed = new ArrayList<>();
        for (String document : yaml.split("(?m)^---\\s*$")) {
            if (!document.isBlank()) {
                parsed.add((HasMetadata) new KubernetesSerialization().unmarshal(document));
            }
        }
        assertThat(parsed).isEqualTo(objects);
        Path file = Path.of("src/test/resources/golden", golden);
        if (Boolean.getBoolean("kafkaml.golden.update")) {
            Files.writeString(file, yaml, StandardCharsets.UTF_8);
        }
        assertThat(yaml)
                .as("%s (regenerate with -Dkafkaml.golden.update=true and review the diff)", file)
                .isEqualTo(Files.readString(file, StandardCharsets.UTF_8));
    }
}
