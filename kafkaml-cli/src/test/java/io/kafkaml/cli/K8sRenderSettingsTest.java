package io.kafkaml.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.kafkaml.config.KafkaMlConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code kafkaml k8s render}: the user's settings reach the pods, secrets only through the Secret. */
class K8sRenderSettingsTest {

    static final String JAAS = "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"alice\" "
            + "password=\"alice-secret-9\";";

    record Result(int status, String out, String err) {}

    static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = KafkaMlCli.commandLine(new PrintWriter(out), new PrintWriter(err))
                .execute(args);
        return new Result(status, out.toString(), err.toString());
    }

    static Path config(Path dir) throws IOException {
        Path file = dir.resolve("client.properties");
        Files.writeString(
                file,
                String.join(
                        "\n",
                        "bootstrap.servers=localhost:9093",
                        "security.protocol=SASL_SSL",
                        "sasl.mechanism=SCRAM-SHA-512",
                        "sasl.jaas.config=" + JAAS.replace("\\", "\\\\"),
                        "ssl.truststore.type=PEM",
                        "ssl.truststore.password=truststore-secret-7",
                        "consumer.max.poll.records=50",
                        "kafkaml.max.record.bytes=65536",
                        "kafkaml.restart.max=7"));
        return file;
    }

    @Test
    void theInferenceDeploymentCarriesTheSettingsAndSecretsOnlyByTheSecret(@TempDir Path dir) throws IOException {
        Result rendered = run(
                "k8s",
                "render",
                "inference",
                "--config",
                config(dir).toString(),
                "--id",
                "serving",
                "--result",
                "7.m",
                "--input-topic",
                "in",
                "--output-topic",
                "out",
                "--kafka",
                "kafka.ml:9093",
                "--client-secret",
                "kafkaml-client");
        assertThat(rendered.status()).as(rendered.err()).isZero();
        assertThat(rendered.out())
                .doesNotContain("alice-secret-9")
                .doesNotContain("truststore-secret-7")
                .doesNotContain("JAAS")
                .doesNotContain("localhost:9093");
        assertThat(rendered.err())
                .contains("Not written into the pod spec: sasl.jaas.config, ssl.truststore.password")
                .contains("KAFKAML_CLIENT_SASL_JAAS_CONFIG")
                .contains("from the Secret kafkaml-client");
        Deployment deployment = Serialization.unmarshal(rendered.out(), Deployment.class);
        var container =
                deployment.getSpec().getTemplate().getSpec().getContainers().get(0);
        assertThat(container.getEnvFrom())
                .singleElement()
                .satisfies(from -> assertThat(from.getSecretRef().getName()).isEqualTo("kafkaml-client"));
        Map<String, String> env = new LinkedHashMap<>();
        container.getEnv().stream().filter(e -> e.getValue() != null).forEach(e -> env.put(e.getName(), e.getValue()));
        KafkaMlConfig worker = KafkaMlConfig.fromEnvironment(env);
        assertThat(worker.originals())
                .containsEntry("bootstrap.servers", "kafka.ml:9093")
                .containsEntry("security.protocol", "SASL_SSL")
                .containsEntry("sasl.mechanism", "SCRAM-SHA-512")
                .containsEntry("ssl.truststore.type", "PEM")
                .containsEntry("consumer.max.poll.records", "50")
                .containsEntry(KafkaMlConfig.MAX_RECORD_BYTES_CONFIG, "65536")
                .containsEntry(KafkaMlConfig.RESTART_MAX_CONFIG, "7")
                .doesNotContainKeys("sasl.jaas.config", "ssl.truststore.password");
        assertThat(worker.getString(KafkaMlConfig.INFERENCE_RESULT_ID_CONFIG)).isEqualTo("7.m");
    }

    /** The worker's settings as a pod of {@code kafkaml k8s render inference ... extra} would read them. */
    private static KafkaMlConfig renderedInferenceWorker(String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of(
                "k8s",
                "render",
                "inference",
                "--id",
                "serving",
                "--result",
                "7.m",
                "--input-topic",
                "in",
                "--output-topic",
                "out",
                "--kafka",
                "kafka.ml:9093"));
        args.addAll(List.of(extra));
        Result rendered = run(args.toArray(String[]::new));
        assertThat(rendered.status()).as(rendered.err()).isZero();
        Deployment deployment = Serialization.unmarshal(rendered.out(), Deployment.class);
        Map<String, String> env = new LinkedHashMap<>();
        deployment.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv().stream()
                .filter(e -> e.getValue() != null)
                .forEach(e -> env.put(e.getName(), e.getValue()));
        return KafkaMlConfig.fromEnvironment(env);
    }

    @Test
    void theInferenceDeploymentPassesAFollowedOrPinnedVersionToTheWorker() {
        KafkaMlConfig following = renderedInferenceWorker("--follow");
        assertThat(following.getBoolean(KafkaMlConfig.INFERENCE_FOLLOW_PROMOTED_CONFIG))
                .isTrue();
        assertThat(following.getInt(KafkaMlConfig.INFERENCE_VERSION_CONFIG)).isNull();
        KafkaMlConfig pinned = renderedInferenceWorker("--version", "3");
        assertThat(pinned.getInt(KafkaMlConfig.INFERENCE_VERSION_CONFIG)).isEqualTo(3);
        assertThat(pinned.getBoolean(KafkaMlConfig.INFERENCE_FOLLOW_PROMOTED_CONFIG))
                .isFalse();
        KafkaMlConfig plain = renderedInferenceWorker();
        assertThat(plain.getBoolean(KafkaMlConfig.INFERENCE_FOLLOW_PROMOTED_CONFIG))
                .isFalse();
        assertThat(plain.getInt(KafkaMlConfig.INFERENCE_VERSION_CONFIG)).isNull();
        Result both = run(
                "k8s",
                "render",
                "inference",
                "--id",
                "s",
                "--result",
                "7.m",
                "--input-topic",
                "in",
                "--output-topic",
                "out",
                "--follow",
                "--version",
                "3");
        assertThat(both.status()).isEqualTo(2);
        assertThat(both.err()).contains("Give either --version N (pinned) or --follow, not both");
    }

    @Test
    void theServerIsRenderedWithItsTokenFromTheSecretAndArgumentsTheServerCommandAccepts(@TempDir Path dir)
            throws IOException {
        Result rendered = run(
                "k8s",
                "render",
                "server",
                "--config",
                config(dir).toString(),
                "--namespace",
                "ml",
                "--kafka",
                "kafka.ml:9093",
                "--client-secret",
                "kafkaml-client",
                "--token-secret",
                "ml-server-token");
        assertThat(rendered.status()).as(rendered.err()).isZero();
        assertThat(rendered.out())
                .doesNotContain("alice-secret-9")
                .doesNotContain("truststore-secret-7")
                .doesNotContain("localhost:9093");
        java.util.List<io.fabric8.kubernetes.api.model.HasMetadata> objects = new java.util.ArrayList<>();
        for (String document : rendered.out().split("(?m)^---\\s*$")) {
            if (!document.isBlank()) {
                objects.add((io.fabric8.kubernetes.api.model.HasMetadata)
                        new io.fabric8.kubernetes.client.utils.KubernetesSerialization().unmarshal(document));
            }
        }
        assertThat(objects)
                .extracting(io.fabric8.kubernetes.api.model.HasMetadata::getKind)
                .containsExactly("ServiceAccount", "ServiceAccount", "Role", "RoleBinding", "Deployment", "Service");
        var container = ((Deployment) objects.get(4))
                .getSpec()
                .getTemplate()
                .getSpec()
                .getContainers()
                .get(0);
        assertThat(container.getEnv())
                .filteredOn(e -> e.getName().equals("KAFKAML_SERVER_TOKEN"))
                .singleElement()
                .satisfies(e ->
                        assertThat(e.getValueFrom().getSecretKeyRef().getName()).isEqualTo("ml-server-token"));
        Map<String, String> env = new LinkedHashMap<>();
        container.getEnv().stream().filter(e -> e.getValue() != null).forEach(e -> env.put(e.getName(), e.getValue()));
        assertThat(KafkaMlConfig.fromEnvironment(env).originals()).containsEntry("consumer.max.poll.records", "50");
        // the pod's arguments are flags of the real `kafkaml server` command
        picocli.CommandLine.ParseResult parsed = KafkaMlCli.commandLine(
                        new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()))
                .parseArgs(container.getArgs().toArray(String[]::new));
        picocli.CommandLine.ParseResult server = parsed.subcommand();
        assertThat(server.commandSpec().name()).isEqualTo("server");
        assertThat(server.matchedOptionValue("--host", "")).isEqualTo("0.0.0.0");
        assertThat(server.hasMatchedOption("--kubernetes")).isTrue();
        assertThat(server.matchedOptionValue("--kafka", "")).isEqualTo("kafka.ml:9093");
        assertThat(server.matchedOptionValue("--service-account", "")).isEqualTo("kafkaml-jobs");
        assertThat(objects.get(0).getMetadata().getName()).isEqualTo("kafkaml");
        assertThat(objects.get(1).getMetadata().getName()).isEqualTo("kafkaml-jobs");
    }

    static io.kafkaml.k8s.KubernetesSettings trainingSettings(String... options) {
        java.util.List<String> args =
                new java.util.ArrayList<>(List.of("k8s", "render", "training", "--deployment-id", "7"));
        args.addAll(List.of(options));
        picocli.CommandLine.ParseResult parsed = KafkaMlCli.commandLine(
                        new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()))
                .parseArgs(args.toArray(String[]::new));
        K8sCommand.Training training = (K8sCommand.Training)
                parsed.subcommand().subcommand().subcommand().commandSpec().userObject();
        return training.cluster
                .manifests(training.client, new PrintWriter(new StringWriter()))
                .settings();
    }

    @Test
    void theTrainingJvmOptionsDefaultToTheParallelCollectorAndCanBeReplacedOrLeftOut() {
        assertThat(trainingSettings().trainingJvmOptions()).isEqualTo("-XX:+UseParallelGC");
        assertThat(trainingSettings("--training-jvm-options=-XX:+UseG1GC -Xss2m")
                        .trainingJvmOptions())
                .isEqualTo("-XX:+UseG1GC -Xss2m");
        assertThat(trainingSettings("--training-jvm-options", "").trainingJvmOptions())
                .isEmpty();
        assertThat(trainingSettings("--training-jvm-options=").trainingJvmOptions())
                .isEmpty();
        // `render server` passes a non-default value on to the server's Kubernetes launcher, as a flag it parses
        for (String value : List.of("", "-XX:+UseG1GC")) {
            Result rendered =
                    run("k8s", "render", "server", "--kafka", "kafka.ml:9093", "--training-jvm-options=" + value);
            assertThat(rendered.status()).as(rendered.err()).isZero();
            Deployment server = null;
            for (String document : rendered.out().split("(?m)^---\\s*$")) {
                if (!document.isBlank()
                        && new io.fabric8.kubernetes.client.utils.KubernetesSerialization().unmarshal(document)
                                instanceof Deployment deployment) {
                    server = deployment;
                }
            }
            assertThat(server).isNotNull();
            List<String> podArgs = server.getSpec()
                    .getTemplate()
                    .getSpec()
                    .getContainers()
                    .get(0)
                    .getArgs();
            assertThat(podArgs).contains("--training-jvm-options=" + value);
            picocli.CommandLine.ParseResult parsed = KafkaMlCli.commandLine(
                            new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()))
                    .parseArgs(podArgs.toArray(String[]::new));
            assertThat(parsed.subcommand().matchedOptionValue("--training-jvm-options", "?"))
                    .isEqualTo(value);
        }
        assertThat(run("k8s", "render", "server", "--kafka", "kafka.ml:9093").out())
                .doesNotContain("--training-jvm-options");
    }

    @Test
    void theServerKeepsItsOwnNamedAccountAndOnlyReferencesANamedJobAccount() {
        Result rendered = run(
                "k8s",
                "render",
                "server",
                "--namespace",
                "ml",
                "--kafka",
                "kafka.ml:9093",
                "--service-account",
                "ml-server",
                "--job-service-account",
                "default");
        assertThat(rendered.status()).as(rendered.err()).isZero();
        java.util.List<io.fabric8.kubernetes.api.model.HasMetadata> objects = new java.util.ArrayList<>();
        for (String document : rendered.out().split("(?m)^---\\s*$")) {
            if (!document.isBlank()) {
                objects.add((io.fabric8.kubernetes.api.model.HasMetadata)
                        new io.fabric8.kubernetes.client.utils.KubernetesSerialization().unmarshal(document));
            }
        }
        // --service-account is the server's identity (the Role's subject); the Jobs' existing account is referenced,
        // never rendered, so `kubectl apply` cannot change an account other pods share (review R1)
        assertThat(objects)
                .extracting(io.fabric8.kubernetes.api.model.HasMetadata::getKind)
                .containsExactly("ServiceAccount", "Role", "RoleBinding", "Deployment", "Service");
        assertThat(objects.get(0).getMetadata().getName()).isEqualTo("ml-server");
        assertThat(((io.fabric8.kubernetes.api.model.rbac.RoleBinding) objects.get(2)).getSubjects())
                .extracting(io.fabric8.kubernetes.api.model.rbac.Subject::getName)
                .containsExactly("ml-server");
        var pod = ((Deployment) objects.get(3)).getSpec().getTemplate().getSpec();
        assertThat(pod.getServiceAccountName()).isEqualTo("ml-server");
        assertThat(pod.getContainers().get(0).getArgs()).containsSequence("--service-account", "default");
        assertThat(rendered.out()).doesNotContain("automountServiceAccountToken");
    }

    @Test
    void secretsWithoutAClientSecretAreRefusedInOneLine(@TempDir Path dir) throws IOException {
        Result refused =
                run("k8s", "render", "control-logger", "--config", config(dir).toString(), "--kafka", "kafka.ml:9093");
        assertThat(refused.status()).isEqualTo(1);
        assertThat(refused.out()).isEmpty();
        assertThat(refused.err().strip())
                .isEqualTo("kafkaml k8s render control-logger: The settings hold secrets (sasl.jaas.config, "
                        + "ssl.truststore.password) that are never written into a pod spec: create a Secret with "
                        + "KAFKAML_CLIENT_SASL_JAAS_CONFIG, KAFKAML_CLIENT_SSL_TRUSTSTORE_PASSWORD and pass it with "
                        + "--client-secret")
                .doesNotContain("alice-secret-9");
    }
}
