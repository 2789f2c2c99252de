package io.kafkaml.cli;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.kafkaml.inference.InferenceSpec;
import io.kafkaml.inference.ProcessingGuarantee;
import io.kafkaml.k8s.KubernetesManifests;
import io.kafkaml.k8s.KubernetesSettings;
import io.kafkaml.registry.Registry;
import io.kafkaml.training.TrainingJob;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code kafkaml k8s render rbac|training|inference|control-logger}: the Kubernetes objects as YAML, for kubectl or GitOps. */
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

        KubernetesManifests manifests(String registryPrefix) {
            return new KubernetesManifests(KubernetesSettings.builder(kafka, image)
                    .namespace(namespace)
                    .imagePullPolicy(imagePullPolicy)
                    .clientSecret(clientSecret)
                    .serviceAccount(serviceAccount)
                    .registryPrefix(registryPrefix)
                    .resources(cpu, memory, cpu, memory)
                    .gpus(gpus)
                    .build());
        }
    }

    @Command(
            name = "render",
            mixinStandardHelpOptions = true,
            description = "Print Kubernetes objects as YAML.",
            subcommands = {Rbac.class, Training.class, Inference.class, ControlLogger.class})
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
        ClientOptions client; // --registry-prefix and the control topic's default matter here

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
                    List.of(cluster.manifests(client.registryPrefix())
                            .controlLoggerDeployment(client.controlTopic(controlTopic))));
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
            print(spec, cluster.manifests(client.registryPrefix()).rbac());
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
                                cluster.manifests(client.registryPrefix()).trainingJobs(job)));
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
        ClientOptions client; // only --registry-prefix matters here

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

        @Override
        public Integer call() {
            InferenceSpec inferenceSpec = InferenceSpec.builder(result, inputTopic, outputTopic)
                    .replicas(replicas)
                    .guarantee(exactlyOnce ? ProcessingGuarantee.EXACTLY_ONCE : ProcessingGuarantee.AT_LEAST_ONCE)
                    .deadLetterTopic(dlqTopic)
                    .build();
            print(spec, List.of(cluster.manifests(client.registryPrefix()).inferenceDeployment(id, inferenceSpec)));
            return 0;
        }
    }

    private static void print(CommandSpec spec, List<? extends HasMetadata> objects) {
        spec.commandLine().getOut().print(KubernetesManifests.toYaml(objects));
        spec.commandLine().getOut().flush();
    }
}
