package io.kafkaml.cli;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.inference.InferenceSpec;
import io.kafkaml.inference.ProcessingGuarantee;
import io.kafkaml.k8s.KubernetesManifests;
import io.kafkaml.k8s.KubernetesSettings;
import io.kafkaml.registry.Registry;
import io.kafkaml.training.TrainingJob;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kafkaml k8s render rbac|training|inference|control-logger|server}: the Kubernetes objects as YAML, for kubectl
 * or GitOps.
 */
@Command(
        name = "k8s",
        mixinStandardHelpOptions = true,
        description = "Kubernetes: render objects as YAML.",
        subcommands = {K8sCommand.Render.class})
final class K8sCommand {

    /** Where the pods run and how they reach Kafka. */
    static final class Cluster {
        @Option(names = "--namespace", defaultValue = "default", description = "Default: ${DEFAULT-VALUE}")
        String namespace;

        @Option(
                names = "--image",
                defaultValue = "kafkaml/worker:0.1.0-SNAPSHOT",
                description = "Default: ${DEFAULT-VALUE}")
        String image;

        @Option(names = "--image-pull-policy", defaultValue = "IfNotPresent", description = "Default: ${DEFAULT-VALUE}")
        String imagePullPolicy;

        @Option(
                names = "--kafka",
                paramLabel = "HOST:PORT",
                defaultValue = "kafka:9092",
                description = "Kafka as the pods reach it (default: ${DEFAULT-VALUE})")
        String kafka;

        @Option(
                names = "--client-secret",
                paramLabel = "SECRET",
                description = "A Secret with KAFKAML_CLIENT_* keys (SASL/TLS), passed with envFrom")
        String clientSecret;

        @Option(names = "--service-account", defaultValue = "kafkaml", description = "Default: ${DEFAULT-VALUE}")
        String serviceAccount;

        @Option(names = "--cpu", description = "CPU request and limit, e.g. 1")
        String cpu;

        @Option(names = "--memory", description = "Memory request and limit, e.g. 2Gi")
        String memory;

        @Option(
                names = "--gpus",
                defaultValue = "0",
                description = "nvidia.com/gpu per pod (default: ${DEFAULT-VALUE})")
        int gpus;

        @Option(
                names = "--training-jvm-options",
                paramLabel = "OPTIONS",
                defaultValue = KubernetesManifests.TRAINING_JVM_OPTIONS,
                description = "JDK_JAVA_OPTIONS of the training Jobs' pods (default: ${DEFAULT-VALUE}); \"\" for none, "
                        + "so that the image's own JDK_JAVA_OPTIONS stay (needed when the image already selects a "
                        + "garbage collector: a JVM with two exits at start)")
        String trainingJvmOptions;

        /** The objects' settings from these flags alone, for objects that are no pods (RBAC). */
        KubernetesManifests withoutPods(String registryPrefix) {
            return new KubernetesManifests(KubernetesSettings.builder(kafka, image)
                    .namespace(namespace)
                    .serviceAccount(serviceAccount)
                    .registryPrefix(registryPrefix)
                    .build());
        }

        /**
         * The objects' settings: these flags, and the user's settings ({@code --config}, {@code KAFKAML_*}) for the
         * pods, without {@code bootstrap.servers} (the pods reach Kafka at {@code --kafka}), undefined
         * {@code kafkaml.*} keys (already warned about) and secrets, which reach pods only from the
         * {@code --client-secret} Secret: a note on {@code err} names those left out.
         *
         * @throws IllegalArgumentException if the settings hold a secret and no {@code --client-secret} is given
         */
        KubernetesManifests manifests(ClientOptions client, PrintWriter err) {
            Map<String, Object> podSettings = new TreeMap<>(client.settings().originals());
            podSettings.remove("bootstrap.servers");
            podSettings
                    .keySet()
                    .removeIf(key -> key.startsWith(KafkaMlConfig.PREFIX)
                            && !KafkaMlConfig.names().contains(key));
            List<String> secrets = podSettings.keySet().stream()
                    .filter(KafkaMlConfig::isSecret)
                    .toList();
            if (!secrets.isEmpty()) {
                String variables = String.join(
                        ", ",
                        KafkaMlConfig.environment(secrets.stream()
                                        .collect(Collectors.toMap(
                                                k -> k, k -> "", (a, b) -> a, java.util.LinkedHashMap::new)))
                                .keySet());
                if (clientSecret == null) {
                    throw new IllegalArgumentException("The settings hold secrets (" + String.join(", ", secrets)
                            + ") that are never written into a pod spec: create a Secret with " + variables
                            + " and pass it with --client-secret");
                }
                err.println("Not written into the pod spec: " + String.join(", ", secrets) + " (secrets; the pods "
                        + "read " + variables + " from the Secret " + clientSecret + ")");
                err.flush();
                podSettings.keySet().removeAll(secrets);
            }
            return new KubernetesManifests(KubernetesSettings.builder(kafka, image)
                    .namespace(namespace)
                    .imagePullPolicy(imagePullPolicy)
                    .clientSecret(clientSecret)
                    .serviceAccount(serviceAccount)
                    .registryPrefix(client.registryPrefix())
                    .resources(cpu, memory, cpu, memory)
                    .gpus(gpus)
                    .settings(podSettings)
                    .trainingJvmOptions(trainingJvmOptions)
                    .build());
        }
    }

    @Command(
            name = "render",
            mixinStandardHelpOptions = true,
            description = "Print Kubernetes objects as YAML.",
            subcommands = {Rbac.class, Training.class, Inference.class, ControlLogger.class, Server.class})
    static final class Render {}

    @Command(
            name = "control-logger",
            mixinStandardHelpOptions = true,
            description = "The Deployment (one pod) of the always-on control logger, which catalogs every data stream "
                    + "announced on the control topic.")
    static final class ControlLogger implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ClientOptions client; // --registry-prefix, the control topic's default, settings for the pods

        @ArgGroup(exclusive = false, heading = "Cluster%n")
        Cluster cluster = new Cluster();

        @Option(
                names = "--control-topic",
                paramLabel = "TOPIC",
                description = "The control topic (default: $KAFKAML_CONTROL_TOPIC, else KAFKA_ML_CONTROL_TOPIC)")
        String controlTopic;

        @Override
        public Integer call() {
            print(
                    spec,
                    List.of(cluster.manifests(client, spec.commandLine().getErr())
                            .controlLoggerDeployment(client.controlTopic(controlTopic))));
            return 0;
        }
    }

    @Command(
            name = "server",
            mixinStandardHelpOptions = true,
            description = {
                "The kafkaml server for a cluster (REST API, dashboard, control logger; training as Jobs): its "
                        + "ServiceAccount, the Role and RoleBinding its launcher needs, a Deployment of one pod and a "
                        + "Service (port 80).",
                "It listens on every interface of its pod, so it needs its bearer token: create the Secret first, "
                        + "e.g. kubectl create secret generic kafkaml-server --from-literal=token=$(openssl rand -hex "
                        + "32); its value is never rendered."
            })
    static final class Server implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ClientOptions client; // --registry-prefix, and --config / KAFKAML_* settings for the pods

        @ArgGroup(exclusive = false, heading = "Cluster (the server's pod and the training Jobs it creates)%n")
        Cluster cluster = new Cluster();

        @Option(
                names = "--token-secret",
                paramLabel = "SECRET",
                defaultValue = "kafkaml-server",
                description = "The Secret whose key '" + KubernetesManifests.SERVER_TOKEN_KEY + "' holds the server's "
                        + "bearer token (default: ${DEFAULT-VALUE})")
        String tokenSecret;

        @Option(
                names = "--job-service-account",
                paramLabel = "ACCOUNT",
                defaultValue = KubernetesManifests.JOB_SERVICE_ACCOUNT,
                description = "The ServiceAccount of the training Jobs the server launches (default: "
                        + "${DEFAULT-VALUE}, rendered with no role). Any other name is only referenced, so it must "
                        + "exist; the Jobs' pods never mount its token. --service-account names the server's own "
                        + "account, which the Role is bound to.")
        String jobServiceAccount;

        @Override
        public Integer call() {
            print(spec, cluster.manifests(client, spec.commandLine().getErr()).server(tokenSecret, jobServiceAccount));
            return 0;
        }
    }

    @Command(
            name = "rbac",
            mixinStandardHelpOptions = true,
            description = "The ServiceAccount, Role and RoleBinding a launcher needs in its namespace.")
    static final class Rbac implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ClientOptions client; // only --registry-prefix matters here

        @ArgGroup(exclusive = false, heading = "Cluster%n")
        Cluster cluster = new Cluster();

        @Override
        public Integer call() {
            print(spec, cluster.withoutPods(client.registryPrefix()).rbac());
            return 0;
        }
    }

    @Command(
            name = "training",
            mixinStandardHelpOptions = true,
            description = "The Jobs (one per model) of a training deployment recorded in the registry.")
    static final class Training implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ClientOptions client;

        @ArgGroup(exclusive = false, heading = "Cluster%n")
        Cluster cluster = new Cluster();

        @Option(names = "--deployment-id", required = true, paramLabel = "ID", description = "The deployment")
        String deploymentId;

        @Option(
                names = "--control-topic",
                paramLabel = "TOPIC",
                description = "The control topic (default: $KAFKAML_CONTROL_TOPIC, else KAFKA_ML_CONTROL_TOPIC)")
        String controlTopic;

        @Override
        public Integer call() {
            try (Registry registry = client.registry()) {
                TrainingJob job = TrainingJob.recorded(registry, deploymentId, client.controlTopic(controlTopic));
                print(
                        spec,
                        new ArrayList<>(
                                cluster.manifests(client, spec.commandLine().getErr())
                                        .trainingJobs(job)));
                return 0;
            }
        }
    }

    @Command(
            name = "inference",
            mixinStandardHelpOptions = true,
            description = "The Deployment of an inference deployment.")
    static final class Inference implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ClientOptions client; // --registry-prefix, and --config / KAFKAML_* settings for the pods

        @ArgGroup(exclusive = false, heading = "Cluster%n")
        Cluster cluster = new Cluster();

        @Option(names = "--id", required = true, description = "The inference deployment's id")
        String id;

        @Option(names = "--result", required = true, paramLabel = "RESULT_ID", description = "deploymentId.model")
        String result;

        @Option(names = "--input-topic", required = true, paramLabel = "IN")
        String inputTopic;

        @Option(names = "--output-topic", required = true, paramLabel = "OUT")
        String outputTopic;

        @Option(names = "--replicas", defaultValue = "1")
        int replicas;

        @Option(names = "--exactly-once")
        boolean exactlyOnce;

        @Option(names = "--dlq-topic", paramLabel = "T")
        String dlqTopic;

        @Option(
                names = "--version",
                paramLabel = "N",
                description = "Serve this model version of the result, pinned (as infer --version)")
        Integer version;

        @Option(
                names = "--follow",
                description = "Serve the result's promoted version and follow its promotions (as infer --follow)")
        boolean follow;

        @Override
        public Integer call() {
            if (version != null && follow) {
                throw new picocli.CommandLine.ParameterException(
                        spec.commandLine(), "Give either --version N (pinned) or --follow, not both");
            }
            InferenceSpec.Builder builder = InferenceSpec.builder(result, inputTopic, outputTopic)
                    .replicas(replicas)
                    .guarantee(exactlyOnce ? ProcessingGuarantee.EXACTLY_ONCE : ProcessingGuarantee.AT_LEAST_ONCE)
                    .deadLetterTopic(dlqTopic)
                    .followPromoted(follow);
            if (version != null) {
                builder.version(version);
            }
            InferenceSpec inferenceSpec = builder.build();
            print(
                    spec,
                    List.of(cluster.manifests(client, spec.commandLine().getErr())
                            .inferenceDeployment(id, inferenceSpec)));
            return 0;
        }
    }

    private static void print(CommandSpec spec, List<? extends HasMetadata> objects) {
        spec.commandLine().getOut().print(KubernetesManifests.toYaml(objects));
        spec.commandLine().getOut().flush();
    }
}
