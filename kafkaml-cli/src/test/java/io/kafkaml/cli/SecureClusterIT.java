package io.kafkaml.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.inference.InferenceSpec;
import io.kafkaml.inference.LocalInference;
import io.kafkaml.inference.ProcessingGuarantee;
import io.kafkaml.registry.Registry;
import io.kafkaml.testkit.BrokerSecurity;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pipeline on a SASL_SSL (SCRAM-SHA-512) broker with the standard authorizer, each role with exactly the
 * minimal ACLs of README "Secure clusters"; then each ACL taken away in turn gives the documented one-line
 * error and writes nothing where it should not.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SecureClusterIT {

    @RegisterExtension
    static final EmbeddedKafkaExtension KAFKA = EmbeddedKafkaExtension.configured(
            b -> b.security(BrokerSecurity.builder().build()));

    static final String PREFIX = "sec";
    static final String CONTROL = "sec-control";
    static final String DATA = "sec-data";
    static final String IN = "sec-in";
    static final String OUT = "sec-out";
    static final String INFERENCE = "sec-infer";
    static final String GROUP = "kafkaml-inference-" + INFERENCE;

    @TempDir
    static Path dir;

    static EmbeddedKafkaBroker kafka;

    // ---- the minimal ACLs of each role (README "Secure clusters") ----

    static void operator(boolean grant) {
        acl(
                grant,
                "operator",
                ResourceType.TOPIC,
                PREFIX + ".",
                true,
                AclOperation.CREATE,
                AclOperation.DESCRIBE,
                AclOperation.READ,
                AclOperation.WRITE);
    }

    static void sender(boolean grant, String topic) {
        acl(grant, "sender", ResourceType.TOPIC, topic, false, AclOperation.WRITE);
    }

    static void trainer(boolean grant) {
        acl(grant, "trainer", ResourceType.TOPIC, CONTROL, false, AclOperation.READ);
        acl(grant, "trainer", ResourceType.TOPIC, DATA, false, AclOperation.READ);
        acl(grant, "trainer", ResourceType.TOPIC, PREFIX + ".", true, AclOperation.READ, AclOperation.WRITE);
    }

    static void replicaRegistry(boolean grant) {
        acl(grant, "replica", ResourceType.TOPIC, PREFIX + ".", true, AclOperation.READ, AclOperation.WRITE);
    }

    static void replicaInput(boolean grant) {
        acl(grant, "replica", ResourceType.TOPIC, IN, false, AclOperation.READ);
    }

    static void replicaOutput(boolean grant) {
        acl(grant, "replica", ResourceType.TOPIC, OUT, false, AclOperation.WRITE);
    }

    static void replicaGroup(boolean grant) {
        acl(grant, "replica", ResourceType.GROUP, GROUP, false, AclOperation.READ);
    }

    static void replicaTransactions(boolean grant) {
        acl(grant, "replica", ResourceType.TRANSACTIONAL_ID, INFERENCE + "-", true, AclOperation.WRITE);
    }

    static void acl(
            boolean grant, String user, ResourceType type, String name, boolean prefixed, AclOperation... operations) {
        if (grant && prefixed) {
            kafka.allowPrefixed(user, type, name, operations);
        } else if (grant) {
            kafka.allow(user, type, name, operations);
        } else if (prefixed) {
            kafka.revokePrefixed(user, type, name, operations);
        } else {
            kafka.revoke(user, type, name, operations);
        }
    }

    @BeforeAll
    static void usersTopicsAndAcls(EmbeddedKafkaBroker broker) throws Exception {
        kafka = broker;
        for (String user : List.of("operator", "sender", "trainer", "replica")) {
            kafka.createScramUser(user, user + "-secret");
            write(user, kafka.clientConfig(user));
        }
        kafka.createTopic(CONTROL, 1);
        kafka.createTopic(DATA, 2);
        kafka.createTopic(IN, 1);
        kafka.createTopic(OUT, 1);
        operator(true);
        sender(true, DATA);
        sender(true, CONTROL);
        trainer(true);
        replicaRegistry(true);
        replicaInput(true);
        replicaOutput(true);
        replicaGroup(true);
        replicaTransactions(true);
    }

    static Path write(String name, Map<String, Object> config) throws Exception {
        Properties properties = new Properties();
        config.forEach((k, v) -> properties.setProperty(k, String.valueOf(v)));
        properties.setProperty("kafkaml.registry.prefix", PREFIX);
        properties.setProperty("kafkaml.control.topic", CONTROL);
        Path file = dir.resolve(name + ".properties");
        try (OutputStream out = Files.newOutputStream(file)) {
            properties.store(out, null);
        }
        return file;
    }

    static KafkaMlCliIT.Run as(String user, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        List<String> all = new ArrayList<>(List.of(args));
        all.add("--config");
        all.add(dir.resolve(user + ".properties").toString());
        int status = KafkaMlCli.commandLine(new PrintWriter(out, true), new PrintWriter(err, true))
                .execute(all.toArray(String[]::new));
        return new KafkaMlCliIT.Run(status, out.toString(), err.toString());
    }

    /** The sender sends the HCOPD table to the data topic as JSON for {@code deploymentId}. */
    static KafkaMlCliIT.Run sendHcopd(String deploymentId, String... options) {
        List<String> args = new ArrayList<>(List.of(
                "send",
                "--file",
                KafkaMlCliIT.hcopdCsv().toString(),
                "--label",
                "Diagnosis",
                "--format",
                "JSON",
                "--topic",
                DATA,
                "--deployment-id",
                deploymentId));
        args.addAll(List.of(options));
        return as("sender", args.toArray(String[]::new));
    }

    static void assertOneLineError(KafkaMlCliIT.Run run, String expected) {
        assertThat(run.status()).as(run.out() + run.err()).isEqualTo(1);
        assertThat(run.err()).as(run.err()).contains(expected).endsWith("\n");
        assertThat(run.err().strip().lines().count()).as(run.err()).isEqualTo(1);
    }

    static long endOffset(String topic, int partition) {
        return kafka.logEndOffset(new TopicPartition(topic, partition));
    }

    @Test
    @Timeout(240)
    @Order(1)
    void sendTrainResultsAndExactlyOnceInferenceEachWithItsMinimalAcls() throws Exception {
        CliFixture.registerAndConfigure(
                args -> as("operator", args), "hcopd", CliFixture.mlpFile(dir.resolve("hcopd.json"), 3), "c1");

        CompletableFuture<KafkaMlCliIT.Run> training = CompletableFuture.supplyAsync(
                () -> as("trainer", CliFixture.trainAndWait("c1", 3, "--deployment-id", "s1")));
        // the stream must be announced after the deployment exists (no --reuse-stream)
        await().atMost(Duration.ofMinutes(1))
                .until(() -> as("operator", "deployments", "list").out().contains("s1"));
        KafkaMlCliIT.Run sent = sendHcopd("s1", "--test-rate", "0.1");
        assertThat(sent.status()).as(sent.err()).isZero();
        assertThat(sent.out()).contains("sent 239 records");
        KafkaMlCliIT.Run trained = training.get(3, TimeUnit.MINUTES);
        assertThat(trained.status()).as(trained.out() + trained.err()).isZero();
        assertThat(trained.out()).contains("deployment s1 FINISHED");

        JsonNode results = Output.JSON.readTree(as("operator", "results", "list", "--deployment-id", "s1", "--json")
                .out());
        assertThat(results.get(0).get("status").asText()).isEqualTo("FINISHED");

        // inference replica, exactly once, with the replica's ACLs only
        Map<String, Object> replica = new HashMap<>(kafka.clientConfig("replica"));
        try (Registry registry = Registry.connect(replica, PREFIX, Duration.ofSeconds(30));
                LocalInference inference = LocalInference.start(
                        registry,
                        replica,
                        INFERENCE,
                        InferenceSpec.builder("s1.hcopd", IN, OUT)
                                .guarantee(ProcessingGuarantee.EXACTLY_ONCE)
                                .build())) {
            try (KafkaProducer<byte[], byte[]> producer =
                    new KafkaProducer<>(kafka.clientConfig(), new ByteArraySerializer(), new ByteArraySerializer())) {
                for (int i = 0; i < 20; i++) {
                    producer.send(
                            new ProducerRecord<>(IN, ("[1, " + (40 + i) + ", 2]").getBytes(StandardCharsets.UTF_8)));
                }
            }
            assertThat(readCommitted(OUT, 20)).isEqualTo(20);
            assertThat(inference.state()).isNotEqualTo(LocalInference.State.FAILED);
        }
    }

    static int readCommitted(String topic, int expected) {
        Map<String, Object> config = kafka.clientConfig();
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.assign(List.of(new TopicPartition(topic, 0)));
            int seen = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (seen < expected && System.nanoTime() < deadline) {
                seen += consumer.poll(Duration.ofMillis(200)).count();
            }
            return seen;
        }
    }

    @Test
    @Timeout(180)
    @Order(2)
    void senderWithoutWriteOnTheDataOrControlTopicGetsOneLineAndNoControlMessage() throws Exception {
        long control = endOffset(CONTROL, 0);
        long data = endOffset(DATA, 0) + endOffset(DATA, 1);
        sender(false, DATA);
        try {
            assertOneLineError(sendHcopd("s2"), "User:sender is not authorized to WRITE topic '" + DATA + "'");
        } finally {
            sender(true, DATA);
        }
        assertThat(endOffset(DATA, 0) + endOffset(DATA, 1)).isEqualTo(data);
        assertThat(endOffset(CONTROL, 0)).isEqualTo(control);

        sender(false, CONTROL);
        try {
            assertOneLineError(sendHcopd("s3"), "User:sender is not authorized to WRITE topic '" + CONTROL + "'");
        } finally {
            sender(true, CONTROL);
        }
        assertThat(endOffset(CONTROL, 0)).isEqualTo(control);
    }

    @Test
    @Timeout(120)
    @Order(6)
    void controlLoggerWithoutReadOnTheControlTopicExitsWithOneLine() throws IOException, InterruptedException {
        // the operator may read and write the registry, not read the control topic: the command ends once the refusal
        // has lasted kafkaml.control.logger.refusal.retry.ms (1 s here, 30 s by default)
        Files.writeString(
                dir.resolve("operator-quick.properties"),
                Files.readString(dir.resolve("operator.properties")) + "\n"
                        + KafkaMlConfig.CONTROL_LOGGER_REFUSAL_RETRY_MS_CONFIG + "=1000\n");
        assertOneLineError(
                as("operator-quick", "control-logger"),
                "kafkaml control-logger: User:operator is not authorized to READ topic '" + CONTROL + "'");

        // a server whose control logger stopped so still serves, and its health says DEGRADED with the reason
        Properties quick = new Properties();
        try (java.io.Reader in = Files.newBufferedReader(dir.resolve("operator-quick.properties"))) {
            quick.load(in);
        }
        Map<String, Object> settings = new HashMap<>();
        quick.forEach((k, v) -> settings.put((String) k, v));
        try (io.kafkaml.KafkaMl ml = io.kafkaml.KafkaMl.builder(settings)
                        .withoutLauncher()
                        .controlLogger(true)
                        .build()
                        .start();
                io.kafkaml.server.KafkaMlServer server = io.kafkaml.server.KafkaMlServer.builder(ml)
                        .port(0)
                        .build()
                        .start()) {
            java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
            java.net.http.HttpRequest health = java.net.http.HttpRequest.newBuilder(
                            server.uri().resolve("api/v1/health"))
                    .build();
            await().atMost(Duration.ofSeconds(60)).until(() -> {
                java.net.http.HttpResponse<String> answer =
                        http.send(health, java.net.http.HttpResponse.BodyHandlers.ofString());
                return answer.statusCode() == 200
                        && "DEGRADED"
                                .equals(Output.JSON
                                        .readTree(answer.body())
                                        .path("status")
                                        .asText());
            });
            JsonNode answer = Output.JSON.readTree(http.send(health, java.net.http.HttpResponse.BodyHandlers.ofString())
                    .body());
            assertThat(answer.path("controlLogger").path("state").asText()).isEqualTo("FAILED");
            assertThat(answer.path("controlLogger").path("reason").asText())
                    .contains("User:operator is not authorized to READ topic '" + CONTROL + "'");
        }
    }

    @Test
    @Timeout(180)
    @Order(3)
    void operatorWithoutRegistryAclsGetsOneLineNamingThePrincipalAndTheOperation() throws Exception {
        operator(false);
        try {
            assertOneLineError(as("operator", "models", "list"), "User:operator is not authorized to DESCRIBE");
            // the control logger retries a refusal of the registry as it retries one of the control topic (ACLs
            // reach the brokers asynchronously), then ends with the same line
            Files.writeString(
                    dir.resolve("operator-retrying.properties"),
                    Files.readString(dir.resolve("operator.properties")) + "\n"
                            + KafkaMlConfig.CONTROL_LOGGER_REFUSAL_RETRY_MS_CONFIG + "=1500\n");
            KafkaMlCliIT.Run logger = as("operator-retrying", "control-logger");
            assertThat(logger.status()).as(logger.err()).isEqualTo(1);
            List<String> lines = logger.err().strip().lines().toList();
            assertThat(lines).as(logger.err()).hasSizeGreaterThan(1);
            assertThat(lines.subList(0, lines.size() - 1))
                    .allSatisfy(line -> assertThat(line)
                            .startsWith("control-logger: the broker refused the registry (")
                            .contains("retrying in")
                            .contains("User:operator is not authorized to DESCRIBE"));
            assertThat(lines.get(lines.size() - 1))
                    .startsWith("kafkaml control-logger: ")
                    .contains("User:operator is not authorized to DESCRIBE");
        } finally {
            operator(true);
        }
        assertThat(as("operator", "models", "list").status()).isZero();

        // the operator may not describe the data topic: that stream is marked, the command still lists
        KafkaMlCliIT.Run datasources = as("operator", "datasources", "list", "--json");
        assertThat(datasources.status()).as(datasources.err()).isZero();
        JsonNode row = Output.JSON.readTree(datasources.out()).get(0);
        assertThat(row.get("available").asBoolean()).isFalse();
        assertThat(row.get("unreadableTopics").toString()).contains(DATA);
        assertThat(row.get("reason").asText())
                .contains("User:operator is not authorized to DESCRIBE topic '" + DATA + "'");
    }

    @Test
    @Timeout(180)
    @Order(4)
    void inferenceWithoutEachOfItsAclsFailsInOneLineAndWritesNothing() throws Exception {
        String[] infer = {
            "infer",
            "--result",
            "s1.hcopd",
            "--input-topic",
            IN,
            "--output-topic",
            OUT,
            "--exactly-once",
            "--id",
            INFERENCE
        };
        replicaOutput(false);
        try {
            // the refusal shows on the first prediction written: an input arrives once the replica serves
            CompletableFuture<KafkaMlCliIT.Run> serving = CompletableFuture.supplyAsync(() -> as("replica", infer));
            await().atMost(Duration.ofMinutes(1)).until(() -> groupHasMembers());
            try (KafkaProducer<byte[], byte[]> producer =
                    new KafkaProducer<>(kafka.clientConfig(), new ByteArraySerializer(), new ByteArraySerializer())) {
                producer.send(new ProducerRecord<>(IN, "[0, 50, 1]".getBytes(StandardCharsets.UTF_8)))
                        .get();
            }
            assertOneLineError(
                    serving.get(90, TimeUnit.SECONDS), "User:replica is not authorized to WRITE topic '" + OUT + "'");
        } finally {
            replicaOutput(true);
        }
        replicaGroup(false);
        try {
            assertOneLineError(as("replica", infer), "User:replica is not authorized to READ group '" + GROUP + "'");
        } finally {
            replicaGroup(true);
        }
        replicaTransactions(false);
        try {
            assertOneLineError(
                    as("replica", infer),
                    "User:replica is not authorized to WRITE transactional id '" + INFERENCE + "-");
        } finally {
            replicaTransactions(true);
        }
        replicaInput(false);
        try {
            assertOneLineError(as("replica", infer), "User:replica is not authorized to READ topic '" + IN + "'");
        } finally {
            replicaInput(true);
        }
        assertThat(countCommitted(OUT)).isEqualTo(20); // what the first test wrote, nothing more
    }

    /** The committed records of partition 0 up to its last stable offset. */
    static int countCommitted(String topic) {
        Map<String, Object> config = kafka.clientConfig();
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition partition = new TopicPartition(topic, 0);
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            long end = consumer.endOffsets(List.of(partition)).get(partition);
            int seen = 0;
            while (consumer.position(partition) < end) {
                seen += consumer.poll(Duration.ofMillis(200)).count();
            }
            return seen;
        }
    }

    static boolean groupHasMembers() throws Exception {
        var groups = kafka.admin().describeConsumerGroups(List.of(GROUP)).all().get();
        return !groups.get(GROUP).members().isEmpty();
    }

    @Test
    @Timeout(180)
    @Order(5)
    void wrongPasswordAndUntrustedCaAreOneLineErrors() throws Exception {
        Map<String, Object> wrong = kafka.clientConfig("operator");
        wrong.putAll(kafka.security().clientConfig("operator", "not-the-password", BrokerSecurity.SCRAM_SHA_512));
        write("wrong-password", wrong);
        assertOneLineError(
                as("wrong-password", "models", "list"), "User:operator could not authenticate with SCRAM-SHA-512");

        Map<String, Object> untrusted = kafka.clientConfig("operator");
        untrusted.put(
                "ssl.truststore.certificates", BrokerSecurity.builder().build().caCertificatePem());
        write("untrusted", untrusted);
        assertOneLineError(
                as("untrusted", "models", "list"),
                "TLS handshake with " + kafka.bootstrapServers()
                        + " failed: the broker's certificate is not signed by a certificate authority this client trusts");
    }
}
