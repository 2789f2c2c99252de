package io.kafkaml.k8s;

import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvFromSourceBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.api.model.rbac.PolicyRuleBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.inference.InferenceSpec;
import io.kafkaml.inference.ProcessingGuarantee;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.training.TrainingJob;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The Kubernetes objects of kafkaml: a {@code batch/v1} Job per model of a training deployment, an
 * {@code apps/v1} Deployment per inference deployment, and the RBAC a launcher needs. The launcher creates
 * exactly these objects; {@link #toYaml} renders the same ones for {@code kubectl apply} or GitOps.
 *
 * <p>Pods run the worker image's entry point ({@code kafkaml worker}), configured by {@code KAFKAML_*}
 * environment variables: those that say what the pod runs, then the user's settings
 * ({@link KubernetesSettings#settings()}: {@code kafkaml.*}, {@code consumer.*}, {@code producer.*},
 * {@code admin.*} and client keys, named by {@link KafkaMlConfig#environment}); client credentials come only from
 * the Secret named in the settings, through {@code envFrom}. Labels: {@code app.kubernetes.io/name=kafkaml}, {@code app.kubernetes.io/component}
 * ({@code training} or {@code inference}), {@code app.kubernetes.io/instance} and {@code kafkaml.io/deployment-id}.
 *
 * <p>Stateless and thread-safe.
 */
public final class KubernetesManifests {

    /** Label with kafkaml's deployment id (training) or inference id. */
    public static final String DEPLOYMENT_ID_LABEL = "kafkaml.io/deployment-id";
    /** Label with the model a training Job trains. */
    public static final String MODEL_LABEL = "kafkaml.io/model";
    /** The component label. */
    public static final String COMPONENT_LABEL = "app.kubernetes.io/component";

    /**
     * The default JVM options of a training Job's pod ({@link KubernetesSettings#trainingJvmOptions()}, set as
     * {@code JDK_JAVA_OPTIONS}, which the image's {@code java} launcher adds to its command line; it replaces an
     * image's own {@code JDK_JAVA_OPTIONS}, the image's {@code JAVA_TOOL_OPTIONS} stay, and a collector selected
     * there as well makes the JVM exit: set the options to {@code ""} for such an image). The parallel collector: training allocates
     * a few ND4J buffers per batch, each registered with ND4J's and JavaCPP's weak and phantom references, and under
     * G1 (the JVM's default from 2 CPUs and 1792 MB) their bookkeeping piles up in the old generation, so that young
     * pauses and the time per epoch grow with the run's age; with the parallel collector they stay flat
     * (BENCHMARKS.md, "Table I": a {@code kafkaml train} JVM 11.0–11.5 s against 13.1–13.5 s at 300 epochs).
     * Inference Deployments keep the JVM's default: the parallel collector's longer full collections would reach
     * serving's tail latency (not measured).
     */
    public static final String TRAINING_JVM_OPTIONS = "-XX:+UseParallelGC";

    private final KubernetesSettings settings;

    public KubernetesManifests(KubernetesSettings settings) {
        this.settings = settings;
    }

    /** The settings the objects are made from. */
    public KubernetesSettings settings() {
        return settings;
    }

    /** One Job per model of a training deployment. */
    public List<Job> trainingJobs(TrainingJob job) {
        List<Job> jobs = new ArrayList<>();
        for (ModelDefinition model : job.models()) {
            String name = name("kafkaml-train", job.deploymentId(), model.name());
            Map<String, String> labels = labels("training", job.deploymentId());
            labels.put(MODEL_LABEL, dnsLabel(model.name()));
            List<EnvVar> env = new ArrayList<>(common());
            env.add(env(KafkaMlConfig.WORKER_ROLE_CONFIG, "train"));
            env.add(env(KafkaMlConfig.DEPLOYMENT_ID_CONFIG, job.deploymentId()));
            env.add(env(KafkaMlConfig.DEPLOYMENT_MODEL_CONFIG, model.name()));
            env.add(env(KafkaMlConfig.CONTROL_TOPIC_CONFIG, job.controlTopic()));
            if (!settings.trainingJvmOptions().isEmpty()) { // empty: the image's own JDK_JAVA_OPTIONS stay
                env.add(new EnvVarBuilder()
                        .withName("JDK_JAVA_OPTIONS")
                        .withValue(settings.trainingJvmOptions())
                        .build());
            }
            jobs.add(new JobBuilder()
                    .withNewMetadata()
                    .withName(name)
                    .withNamespace(settings.namespace())
                    .withLabels(labels)
                    .endMetadata()
                    .withNewSpec()
                    .withBackoffLimit(settings.backoffLimit())
                    .withTtlSecondsAfterFinished(settings.ttlSecondsAfterFinished())
                    .withNewTemplate()
                    .withNewMetadata()
                    .withLabels(labels)
                    .addToAnnotations(scrapeAnnotations())
                    .endMetadata()
                    .withSpec(new PodSpecBuilder(pod(withSettings(env), "OnFailure"))
                            // a training worker needs no Kubernetes API: whatever account it runs under (possibly
                            // one that carries a Role), its token is not mounted into the pod (review R1)
                            .withAutomountServiceAccountToken(false)
                            .build())
                    .endTemplate()
                    .endSpec()
                    .build());
        }
        return jobs;
    }

    /** The Deployment of an inference deployment, one pod per replica. */
    public Deployment inferenceDeployment(String id, InferenceSpec spec) {
        String name = name("kafkaml-infer", id, null);
        Map<String, String> labels = labels("inference", id);
        List<EnvVar> env = new ArrayList<>(common());
        env.add(env(KafkaMlConfig.WORKER_ROLE_CONFIG, "infer"));
        env.add(env(KafkaMlConfig.INFERENCE_ID_CONFIG, id));
        env.add(env(KafkaMlConfig.INFERENCE_RESULT_ID_CONFIG, spec.resultId()));
        env.add(env(KafkaMlConfig.INFERENCE_INPUT_TOPIC_CONFIG, spec.inputTopic()));
        env.add(env(KafkaMlConfig.INFERENCE_OUTPUT_TOPIC_CONFIG, spec.outputTopic()));
        env.add(env(
                KafkaMlConfig.INFERENCE_EXACTLY_ONCE_CONFIG,
                String.valueOf(spec.guarantee() == ProcessingGuarantee.EXACTLY_ONCE)));
        if (spec.deadLetterTopic() != null) {
            env.add(env(KafkaMlConfig.INFERENCE_DLQ_TOPIC_CONFIG, spec.deadLetterTopic()));
        }
        if (spec.groupId() != null) {
            env.add(env(KafkaMlConfig.INFERENCE_GROUP_ID_CONFIG, spec.groupId()));
        }
        if (spec.decisionThreshold() != null) {
            env.add(env(KafkaMlConfig.INFERENCE_DECISION_THRESHOLD_CONFIG, String.valueOf(spec.decisionThreshold())));
        }
        if (spec.version() != null) {
            env.add(env(KafkaMlConfig.INFERENCE_VERSION_CONFIG, String.valueOf(spec.version())));
        }
        if (spec.followPromoted()) {
            env.add(env(KafkaMlConfig.INFERENCE_FOLLOW_PROMOTED_CONFIG, "true"));
        }
        // Each pod's name tells its replica apart (and is its transactional id suffix with exactly-once).
        env.add(new EnvVarBuilder()
                .withName(KafkaMlConfig.environmentVariable(KafkaMlConfig.INFERENCE_REPLICA_INDEX_CONFIG))
                .withNewValueFrom()
                .withNewFieldRef()
                .withFieldPath("metadata.name")
                .endFieldRef()
                .endValueFrom()
                .build());
        return new DeploymentBuilder()
                .withNewMetadata()
                .withName(name)
                .withNamespace(settings.namespace())
                .withLabels(labels)
                .endMetadata()
                .withNewSpec()
                .withReplicas(spec.replicas())
                .withNewSelector()
                .withMatchLabels(ordered(
                        "app.kubernetes.io/instance",
                        labels.get("app.kubernetes.io/instance"),
                        COMPONENT_LABEL,
                        "inference"))
                .endSelector()
                .withNewTemplate()
                .withNewMetadata()
                .withLabels(labels)
                .addToAnnotations(scrapeAnnotations())
                .endMetadata()
                .withSpec(pod(withSettings(env), "Always"))
                .endTemplate()
                .endSpec()
                .build();
    }

    /**
     * The always-on control logger: a Deployment of one pod running the worker with role {@code control-logger},
     * which copies every control message of {@code controlTopic} into the registry's datasource catalog, so that a
     * stream sent to an idle cluster (by {@code kafkaml send} or Kafka-ML's sinks) is listed within seconds. One
     * replica is enough (restarting it re-reads the topic and skips what is recorded); a second would only write
     * the same records twice. It gets the CPU and memory settings but no GPU, node selector or tolerations.
     */
    public Deployment controlLoggerDeployment(String controlTopic) {
        String name = name("kafkaml-control-logger", dnsLabel(controlTopic), null);
        Map<String, String> labels = ordered(
                "app.kubernetes.io/name",
                "kafkaml",
                COMPONENT_LABEL,
                "control-logger",
                "app.kubernetes.io/instance",
                name);
        List<EnvVar> env = new ArrayList<>(common());
        env.add(env(KafkaMlConfig.WORKER_ROLE_CONFIG, "control-logger"));
        env.add(env(KafkaMlConfig.CONTROL_TOPIC_CONFIG, controlTopic));
        return new DeploymentBuilder()
                .withNewMetadata()
                .withName(name)
                .withNamespace(settings.namespace())
                .withLabels(labels)
                .endMetadata()
                .withNewSpec()
                .withReplicas(1)
                .withNewStrategy()
                .withType("Recreate")
                .endStrategy()
                .withNewSelector()
                .withMatchLabels(ordered(
                        "app.kubernetes.io/instance",
                        labels.get("app.kubernetes.io/instance"),
                        COMPONENT_LABEL,
                        "control-logger"))
                .endSelector()
                .withNewTemplate()
                .withNewMetadata()
                .withLabels(labels)
                .addToAnnotations(scrapeAnnotations())
                .endMetadata()
                .withSpec(pod(withSettings(env), "Always", false))
                .endTemplate()
                .endSpec()
                .build();
    }

    /**
     * What a launcher needs in its namespace and nothing more: a ServiceAccount, a Role that manages Jobs and
     * Deployments and reads pods (for failure reasons), and the RoleBinding between them.
     */
    public List<HasMetadata> rbac() {
        String account = settings.serviceAccount() != null ? settings.serviceAccount() : "kafkaml";
        Map<String, String> labels = ordered("app.kubernetes.io/name", "kafkaml", COMPONENT_LABEL, "launcher");
        return List.of(
                new ServiceAccountBuilder()
                        .withNewMetadata()
                        .withName(account)
                        .withNamespace(settings.namespace())
                        .withLabels(labels)
                        .endMetadata()
                        .build(),
                new RoleBuilder()
                        .withNewMetadata()
                        .withName("kafkaml-launcher")
                        .withNamespace(settings.namespace())
                        .withLabels(labels)
                        .endMetadata()
                        .withRules(
                                new PolicyRuleBuilder()
                                        .withApiGroups("batch")
                                        .withResources("jobs")
                                        .withVerbs("get", "list", "watch", "create", "delete")
                                        .build(),
                                new PolicyRuleBuilder()
                                        .withApiGroups("apps")
                                        .withResources("deployments", "deployments/scale")
                                        .withVerbs("get", "list", "watch", "create", "update", "patch", "delete")
                                        .build(),
                                new PolicyRuleBuilder()
                                        .withApiGroups("")
                                        .withResources("pods")
                                        .withVerbs("get", "list", "watch")
                                        .build())
                        .build(),
                new RoleBindingBuilder()
                        .withNewMetadata()
                        .withName("kafkaml-launcher")
                        .withNamespace(settings.namespace())
                        .withLabels(labels)
                        .endMetadata()
                        .withNewRoleRef()
                        .withApiGroup("rbac.authorization.k8s.io")
                        .withKind("Role")
                        .withName("kafkaml-launcher")
                        .endRoleRef()
                        .addNewSubject()
                        .withKind("ServiceAccount")
                        .withName(account)
                        .withNamespace(settings.namespace())
                        .endSubject()
                        .build());
    }

    /** The container port of the kafkaml server (its REST API, dashboard and {@code /metrics}). */
    public static final int SERVER_PORT = 8080;

    /**
     * The ServiceAccount of the server's pod when the settings name none; the Role of {@link #server(String, String)}
     * is bound to the server's account.
     */
    public static final String SERVER_SERVICE_ACCOUNT = "kafkaml";

    /**
     * The default ServiceAccount of the training Jobs the server launches ({@code --job-service-account}): rendered by
     * {@link #server(String, String)} with no role and {@code automountServiceAccountToken: false}.
     */
    public static final String JOB_SERVICE_ACCOUNT = "kafkaml-jobs";

    /** The key of the server's bearer token in the Secret named to {@link #server(String)}. */
    public static final String SERVER_TOKEN_KEY = "token";

    /**
     * {@link #server(String, String)} with the training Jobs under {@value #JOB_SERVICE_ACCOUNT}.
     *
     * @param tokenSecret the Secret holding the bearer token
     */
    public List<HasMetadata> server(String tokenSecret) {
        return server(tokenSecret, JOB_SERVICE_ACCOUNT);
    }

    /**
     * The kafkaml server ({@code kafkaml server}: REST API, dashboard, control logger) for a cluster, in the order to
     * apply them: the server's ServiceAccount (the settings' service account, else {@value #SERVER_SERVICE_ACCOUNT}),
     * the training Jobs' ServiceAccount only when it is the default {@value #JOB_SERVICE_ACCOUNT} (no role,
     * {@code automountServiceAccountToken: false}; any other {@code jobServiceAccount} is only referenced, so it must
     * exist, and is never modified), a Role and RoleBinding granting the server's account what its Kubernetes launcher
     * needs (create, watch and delete the training Jobs; read their pods for failure reasons), a Deployment of one pod
     * and a ClusterIP Service in front of it (port 80 to the pod's {@value #SERVER_PORT}). The Jobs' pods never mount
     * a service account token ({@code automountServiceAccountToken: false} in their pod spec).
     *
     * <p>The pod runs the worker image with {@code server --host 0.0.0.0 --kubernetes ...}: it listens on every
     * interface, so it refuses to start without its bearer token, which it reads from the key {@value #SERVER_TOKEN_KEY}
     * of the Secret {@code tokenSecret} (the variable {@code KAFKAML_SERVER_TOKEN}; the Secret is created by the user,
     * never rendered). Its training deployments run as Jobs made from these settings (image, client Secret, resources,
     * GPUs, the training JVM options when not the default, the user's settings) under {@code jobServiceAccount}, in the same namespace; its inference deployments run
     * in the pod. One replica with the {@code Recreate} strategy: the server keeps what it started in memory.
     * Readiness and liveness probes read {@code GET /api/v1/health}; Prometheus' annotations point at its
     * {@code /metrics}.
     *
     * @param tokenSecret the Secret holding the bearer token
     * @param jobServiceAccount the ServiceAccount of the training Jobs ({@value #JOB_SERVICE_ACCOUNT} when
     *     {@code null})
     * @throws IllegalArgumentException if {@code tokenSecret} is blank
     */
    public List<HasMetadata> server(String tokenSecret, String jobServiceAccount) {
        if (tokenSecret == null || tokenSecret.isBlank()) {
            throw new IllegalArgumentException("The server needs a Secret with its bearer token: it listens on every "
                    + "interface of its pod, and refuses to without a token");
        }
        // the server's own identity carries the Role; the training Jobs run under another one with no role and no
        // token mounted (a worker needs no Kubernetes API: code in a training pod must not be able to create Jobs)
        String account = settings.serviceAccount() != null ? settings.serviceAccount() : SERVER_SERVICE_ACCOUNT;
        String workerAccount =
                jobServiceAccount == null || jobServiceAccount.isBlank() ? JOB_SERVICE_ACCOUNT : jobServiceAccount;
        String name = "kafkaml-server";
        Map<String, String> labels = ordered(
                "app.kubernetes.io/name", "kafkaml", COMPONENT_LABEL, "server", "app.kubernetes.io/instance", name);
        Map<String, String> selector = ordered("app.kubernetes.io/instance", name, COMPONENT_LABEL, "server");
        List<String> args = new ArrayList<>(List.of(
                "server",
                "--host",
                "0.0.0.0",
                "--port",
                String.valueOf(SERVER_PORT),
                "--kubernetes",
                "--namespace",
                settings.namespace(),
                "--image",
                settings.image(),
                "--image-pull-policy",
                settings.imagePullPolicy(),
                "--kafka",
                settings.bootstrapServers(),
                "--service-account",
                workerAccount));
        if (settings.clientSecret() != null) {
            args.addAll(List.of("--client-secret", settings.clientSecret()));
        }
        if (settings.cpuRequest() != null) {
            args.addAll(List.of("--cpu", settings.cpuRequest()));
        }
        if (settings.memoryRequest() != null) {
            args.addAll(List.of("--memory", settings.memoryRequest()));
        }
        if (settings.gpus() > 0) {
            args.addAll(List.of("--gpus", String.valueOf(settings.gpus())));
        }
        if (!settings.trainingJvmOptions().equals(TRAINING_JVM_OPTIONS)) {
            // one argument: options start with '-'; "" (none) stays a value
            args.add("--training-jvm-options=" + settings.trainingJvmOptions());
        }
        List<EnvVar> env = new ArrayList<>(common());
        env.add(new EnvVarBuilder()
                .withName("KAFKAML_SERVER_TOKEN")
                .withNewValueFrom()
                .withNewSecretKeyRef()
                .withName(tokenSecret)
                .withKey(SERVER_TOKEN_KEY)
                .endSecretKeyRef()
                .endValueFrom()
                .build());
        ContainerBuilder container = new ContainerBuilder()
                .withName("server")
                .withImage(settings.image())
                .withImagePullPolicy(settings.imagePullPolicy())
                .withArgs(args)
                .withEnv(withSettings(env))
                .withPorts(new io.fabric8.kubernetes.api.model.ContainerPortBuilder()
                        .withName("http")
                        .withContainerPort(SERVER_PORT)
                        .withProtocol("TCP")
                        .build())
                // the port opens once the facade has read the registry (up to 30 s for a slow broker): the startup
                // probe allows 150 s before liveness counts
                .withStartupProbe(new io.fabric8.kubernetes.api.model.ProbeBuilder(healthProbe(5))
                        .withPeriodSeconds(5)
                        .withFailureThreshold(30)
                        .build())
                .withReadinessProbe(healthProbe(10))
                .withLivenessProbe(healthProbe(60));
        if (settings.clientSecret() != null) {
            container.withEnvFrom(new EnvFromSourceBuilder()
                    .withNewSecretRef()
                    .withName(settings.clientSecret())
                    .endSecretRef()
                    .build());
        }
        Map<String, String> scrape = ordered(
                "prometheus.io/scrape",
                "true",
                "prometheus.io/port",
                String.valueOf(SERVER_PORT),
                "prometheus.io/path",
                "/metrics");
        List<HasMetadata> objects = new ArrayList<>();
        objects.add(new ServiceAccountBuilder()
                .withNewMetadata()
                .withName(account)
                .withNamespace(settings.namespace())
                .withLabels(labels)
                .endMetadata()
                .build());
        if (workerAccount.equals(JOB_SERVICE_ACCOUNT)) {
            // only the account kafkaml owns: one the user named may exist and be shared with other pods (review R1)
            objects.add(new ServiceAccountBuilder()
                    .withNewMetadata()
                    .withName(workerAccount)
                    .withNamespace(settings.namespace())
                    .withLabels(ordered("app.kubernetes.io/name", "kafkaml", COMPONENT_LABEL, "worker"))
                    .endMetadata()
                    .withAutomountServiceAccountToken(false)
                    .build());
        }
        objects.addAll(List.of(
                new RoleBuilder()
                        .withNewMetadata()
                        .withName(name)
                        .withNamespace(settings.namespace())
                        .withLabels(labels)
                        .endMetadata()
                        .withRules(
                                new PolicyRuleBuilder()
                                        .withApiGroups("batch")
                                        .withResources("jobs")
                                        .withVerbs("get", "list", "watch", "create", "delete")
                                        .build(),
                                new PolicyRuleBuilder()
                                        .withApiGroups("")
                                        .withResources("pods")
                                        .withVerbs("get", "list", "watch")
                                        .build())
                        .build(),
                new RoleBindingBuilder()
                        .withNewMetadata()
                        .withName(name)
                        .withNamespace(settings.namespace())
                        .withLabels(labels)
                        .endMetadata()
                        .withNewRoleRef()
                        .withApiGroup("rbac.authorization.k8s.io")
                        .withKind("Role")
                        .withName(name)
                        .endRoleRef()
                        .addNewSubject()
                        .withKind("ServiceAccount")
                        .withName(account)
                        .withNamespace(settings.namespace())
                        .endSubject()
                        .build(),
                new DeploymentBuilder()
                        .withNewMetadata()
                        .withName(name)
                        .withNamespace(settings.namespace())
                        .withLabels(labels)
                        .endMetadata()
                        .withNewSpec()
                        .withReplicas(1)
                        .withNewStrategy()
                        .withType("Recreate")
                        .endStrategy()
                        .withNewSelector()
                        .withMatchLabels(selector)
                        .endSelector()
                        .withNewTemplate()
                        .withNewMetadata()
                        .withLabels(labels)
                        .addToAnnotations(scrape)
                        .endMetadata()
                        .withNewSpec()
                        .withServiceAccountName(account)
                        .withContainers(container.build())
                        .endSpec()
                        .endTemplate()
                        .endSpec()
                        .build(),
                new io.fabric8.kubernetes.api.model.ServiceBuilder()
                        .withNewMetadata()
                        .withName(name)
                        .withNamespace(settings.namespace())
                        .withLabels(labels)
                        .endMetadata()
                        .withNewSpec()
                        .withType("ClusterIP")
                        .withSelector(selector)
                        .addNewPort()
                        .withName("http")
                        .withPort(80)
                        .withTargetPort(new io.fabric8.kubernetes.api.model.IntOrString("http"))
                        .withProtocol("TCP")
                        .endPort()
                        .endSpec()
                        .build()));
        return List.copyOf(objects);
    }

    /** An HTTP probe of the server's health endpoint. */
    private static io.fabric8.kubernetes.api.model.Probe healthProbe(int initialDelaySeconds) {
        return new io.fabric8.kubernetes.api.model.ProbeBuilder()
                .withNewHttpGet()
                .withPath("/api/v1/health")
                .withPort(new io.fabric8.kubernetes.api.model.IntOrString("http"))
                .endHttpGet()
                .withInitialDelaySeconds(initialDelaySeconds)
                .withPeriodSeconds(10)
                .build();
    }

    /** Objects as one multi-document YAML stream, in order. */
    public static String toYaml(List<? extends HasMetadata> objects) {
        return objects.stream()
                        .map(Serialization::asYaml)
                        .map(String::strip)
                        .map(yaml -> yaml.startsWith("---") ? yaml : "---\n" + yaml)
                        .collect(Collectors.joining("\n"))
                + "\n";
    }

    private PodSpec pod(List<EnvVar> env, String restartPolicy) {
        return pod(env, restartPolicy, true);
    }

    /**
     * A worker pod; {@code compute} false for a pod that trains and serves nothing: no GPU, and not bound to the
     * compute nodes by the node selector and tolerations.
     */
    private PodSpec pod(List<EnvVar> env, String restartPolicy, boolean compute) {
        ResourceRequirementsBuilder resources = new ResourceRequirementsBuilder();
        Map<String, Quantity> requests = new LinkedHashMap<>();
        Map<String, Quantity> limits = new LinkedHashMap<>();
        put(requests, "cpu", settings.cpuRequest());
        put(requests, "memory", settings.memoryRequest());
        put(limits, "cpu", settings.cpuLimit());
        put(limits, "memory", settings.memoryLimit());
        if (compute && settings.gpus() > 0) {
            limits.put("nvidia.com/gpu", new Quantity(String.valueOf(settings.gpus())));
        }
        ContainerBuilder container = new ContainerBuilder()
                .withName("worker")
                .withImage(settings.image())
                .withImagePullPolicy(settings.imagePullPolicy())
                .withArgs("worker")
                .withEnv(env)
                .withResources(resources
                        .withRequests(requests.isEmpty() ? null : requests)
                        .withLimits(limits.isEmpty() ? null : limits)
                        .build());
        if (metricsPort() > 0) {
            container.withPorts(new io.fabric8.kubernetes.api.model.ContainerPortBuilder()
                    .withName("metrics")
                    .withContainerPort(metricsPort())
                    .withProtocol("TCP")
                    .build());
        }
        if (settings.clientSecret() != null) {
            container.withEnvFrom(new EnvFromSourceBuilder()
                    .withNewSecretRef()
                    .withName(settings.clientSecret())
                    .endSecretRef()
                    .build());
        }
        PodSpecBuilder pod = new PodSpecBuilder()
                .withRestartPolicy(restartPolicy)
                .withContainers(container.build())
                .withServiceAccountName(settings.serviceAccount())
                .withNodeSelector(
                        !compute
                                ? new LinkedHashMap<>()
                                : settings.nodeSelector().isEmpty() ? null : settings.nodeSelector())
                .withTolerations(
                        !compute
                                ? new ArrayList<>()
                                : settings.tolerations().isEmpty() ? null : settings.tolerations());
        return pod.build();
    }

    /**
     * The port of the worker's Prometheus endpoint: {@value KafkaMlConfig#METRICS_PORT_CONFIG} of the pod settings, or
     * 0 when it is not set (or set to 0, a port no scraper could find).
     */
    private int metricsPort() {
        String port = settings.settings().get(KafkaMlConfig.METRICS_PORT_CONFIG);
        if (port == null || port.isBlank()) {
            return 0;
        }
        // parsed and validated as the worker will (a ConfigException names the setting and the bad value)
        Integer parsed = new KafkaMlConfig(Map.of(KafkaMlConfig.METRICS_PORT_CONFIG, port.strip()))
                .getInt(KafkaMlConfig.METRICS_PORT_CONFIG);
        return parsed == null ? 0 : parsed;
    }

    /**
     * The annotations Prometheus' Kubernetes service discovery conventionally reads ({@code prometheus.io/scrape},
     * {@code prometheus.io/port}, {@code prometheus.io/path}) when the pods serve metrics; none when they do not.
     */
    private Map<String, String> scrapeAnnotations() {
        int port = metricsPort();
        return port <= 0
                ? Map.of()
                : ordered(
                        "prometheus.io/scrape",
                        "true",
                        "prometheus.io/port",
                        String.valueOf(port),
                        "prometheus.io/path",
                        "/metrics");
    }

    /** A map in the order given (Map.of's order changes from one JVM to the next, and YAML must not). */
    private static Map<String, String> ordered(String... keysAndValues) {
        Map<String, String> map = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            map.put(keysAndValues[i], keysAndValues[i + 1]);
        }
        return map;
    }

    private static void put(Map<String, Quantity> map, String key, String value) {
        if (value != null) {
            map.put(key, new Quantity(value));
        }
    }

    /**
     * {@code env} followed by the variables of {@link KubernetesSettings#settings()} that it does not set already,
     * except the settings that say what a pod runs ({@link #PER_POD}): those come from the job or the spec only.
     */
    private List<EnvVar> withSettings(List<EnvVar> env) {
        Map<String, EnvVar> byName = new LinkedHashMap<>();
        env.forEach(variable -> byName.put(variable.getName(), variable));
        Map<String, String> passed = new LinkedHashMap<>(settings.settings());
        passed.keySet().removeAll(PER_POD);
        KafkaMlConfig.environment(passed)
                .forEach((name, value) -> byName.putIfAbsent(
                        name,
                        new EnvVarBuilder().withName(name).withValue(value).build()));
        return new ArrayList<>(byName.values());
    }

    /** Settings a pod gets from its job or spec, never from {@link KubernetesSettings#settings()}. */
    private static final java.util.Set<String> PER_POD = java.util.Set.of(
            "bootstrap.servers",
            KafkaMlConfig.REGISTRY_PREFIX_CONFIG,
            KafkaMlConfig.WORKER_ROLE_CONFIG,
            KafkaMlConfig.DEPLOYMENT_ID_CONFIG,
            KafkaMlConfig.DEPLOYMENT_MODEL_CONFIG,
            KafkaMlConfig.INFERENCE_RESULT_ID_CONFIG,
            KafkaMlConfig.INFERENCE_INPUT_TOPIC_CONFIG,
            KafkaMlConfig.INFERENCE_OUTPUT_TOPIC_CONFIG,
            KafkaMlConfig.INFERENCE_ID_CONFIG,
            KafkaMlConfig.INFERENCE_REPLICA_INDEX_CONFIG,
            KafkaMlConfig.INFERENCE_INSTANCE_ID_CONFIG,
            KafkaMlConfig.INFERENCE_REPLICAS_CONFIG,
            KafkaMlConfig.INFERENCE_EXACTLY_ONCE_CONFIG,
            KafkaMlConfig.INFERENCE_DLQ_TOPIC_CONFIG,
            KafkaMlConfig.INFERENCE_GROUP_ID_CONFIG,
            KafkaMlConfig.INFERENCE_DECISION_THRESHOLD_CONFIG,
            KafkaMlConfig.INFERENCE_VERSION_CONFIG,
            KafkaMlConfig.INFERENCE_FOLLOW_PROMOTED_CONFIG);

    private List<EnvVar> common() {
        return List.of(
                new EnvVarBuilder()
                        .withName(KafkaMlConfig.BOOTSTRAP_SERVERS_ENV)
                        .withValue(settings.bootstrapServers())
                        .build(),
                env(KafkaMlConfig.REGISTRY_PREFIX_CONFIG, settings.registryPrefix()));
    }

    /** The variable that sets the kafkaml setting {@code key} (defined in {@link KafkaMlConfig}). */
    private static EnvVar env(String key, String value) {
        return new EnvVarBuilder()
                .withName(KafkaMlConfig.environmentVariable(key))
                .withValue(value)
                .build();
    }

    private static Map<String, String> labels(String component, String id) {
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put("app.kubernetes.io/name", "kafkaml");
        labels.put(COMPONENT_LABEL, component);
        labels.put("app.kubernetes.io/instance", dnsLabel("kafkaml-" + id));
        labels.put(DEPLOYMENT_ID_LABEL, dnsLabel(id));
        return labels;
    }

    /** A DNS-1123 name from parts: lower case, {@code [a-z0-9-]}, at most 63 characters. */
    static String name(String prefix, String id, String model) {
        String name = prefix + "-" + id + (model == null ? "" : "-" + model);
        return dnsLabel(name);
    }

    static String dnsLabel(String text) {
        String label =
                text.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9-]", "-").replaceAll("-+", "-");
        if (label.length() > 63) {
            label = label.substring(0, 54) + "-" + Integer.toHexString(text.hashCode() & 0xfffffff);
        }
        label = label.replaceAll("^-+", "").replaceAll("-+$", "");
        return label.isEmpty() ? "x" : label;
    }
}
