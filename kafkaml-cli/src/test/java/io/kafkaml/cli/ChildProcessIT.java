package io.kafkaml.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kafkaml.format.raw.RawDataSink;
import io.kafkaml.format.raw.RawType;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.Deployment;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.Registry;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import io.kafkaml.training.Normalization;
import io.kafkaml.training.TrainingSpec;
import java.io.File;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** {@code java -jar target/kafkaml.jar} as a child process: quickstart, and workers configured only by environment. */
@ExtendWith(EmbeddedKafkaExtension.class)
class ChildProcessIT {

    /** {@code java -jar target/kafkaml.jar args...} as a user runs it, its output to {@code log}. */
    static ProcessBuilder kafkaml(Path log, String... args) {
        return kafkaml(log, List.of(), args);
    }

    /** {@code java jvmOptions... -jar target/kafkaml.jar args...}, its output to {@code log}. */
    static ProcessBuilder kafkaml(Path log, List<String> jvmOptions, String... args) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmOptions);
        command.add("-jar");
        command.add(new File("target/kafkaml.jar").getAbsolutePath());
        command.addAll(List.of(args));
        ProcessBuilder builder =
                new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().put("OMP_NUM_THREADS", "1");
        return builder;
    }

    @Test
    void quickstartRunsTheWholePipelineAndPrintsItsSummary(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("quickstart.log");
        Process process =
                kafkaml(log, "quickstart", "--epochs", "5", "--inputs", "20").start();
        assertThat(process.waitFor(3, TimeUnit.MINUTES)).isTrue();
        String output = Files.readString(log);
        assertThat(process.exitValue()).as(output).isZero();
        assertThat(output)
                .contains("trained quickstart-mlp on 600 records")
                .contains("20/20 predictions received")
                .contains("after 400 warm-up inputs")
                .contains("the first 50 warm-up inputs: latency p50");
    }

    /** Runs one kafkaml command as a child process to its end; its output is stdout and stderr together. */
    static KafkaMlCliIT.Run child(Path dir, String bootstrap, String... args) throws Exception {
        Path log = Files.createTempFile(dir, "cmd", ".log");
        // C1 only: a command that runs for a second or two then spends ~40% less CPU compiling (JIT), CPU that the
        // test JVMs beside it on two cores need; what the command does does not depend on it
        ProcessBuilder builder = kafkaml(log, List.of("-XX:TieredStopAtLevel=1"), args);
        builder.environment().put("KAFKAML_BOOTSTRAP_SERVERS", bootstrap);
        Process process = builder.start();
        assertThat(process.waitFor(3, TimeUnit.MINUTES)).isTrue();
        return new KafkaMlCliIT.Run(process.exitValue(), Files.readString(log), "");
    }

    /** Runs one kafkaml command as a child process to its end, asserts it succeeded and returns its output. */
    static String runToEnd(Path dir, String bootstrap, String... args) throws Exception {
        KafkaMlCliIT.Run run = child(dir, bootstrap, args);
        assertThat(run.status()).as(String.join(" ", args) + "\n" + run.out()).isZero();
        return run.out();
    }

    @TempDir
    static Path brokerDir;

    private static Process sharedBroker;
    private static String sharedBootstrap;

    /**
     * The bootstrap servers of one {@code kafkaml broker} child process that the tests using it share (each with its
     * own topics and deployment ids), started by the first of them and stopped after the last.
     */
    static synchronized String kafkamlBroker() throws Exception {
        if (sharedBroker == null) {
            Path log = brokerDir.resolve("broker.log");
            sharedBroker = kafkaml(
                            log,
                            "broker",
                            "--port",
                            "0",
                            "--data-dir",
                            brokerDir.resolve("kafka").toString())
                    .start();
            sharedBootstrap = startBroker(sharedBroker, log);
        }
        return sharedBootstrap;
    }

    @AfterAll
    static void stopBroker() throws Exception {
        if (sharedBroker != null) {
            sharedBroker.destroy();
            assertThat(sharedBroker.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(sharedBroker.exitValue())
                    .as("kafkaml broker's exit status after SIGTERM")
                    .isZero();
        }
    }

    /** Starts {@code kafkaml broker} as a child process and returns its bootstrap servers. */
    static String startBroker(Process broker, Path brokerLog) throws Exception {
        org.awaitility.Awaitility.await()
                .atMost(60, TimeUnit.SECONDS)
                .pollInterval(Duration.ofMillis(200))
                .until(() -> Files.readString(brokerLog).contains("bootstrap.servers=") || !broker.isAlive());
        java.util.regex.Matcher m =
                java.util.regex.Pattern.compile("bootstrap.servers=(\\S+)").matcher(Files.readString(brokerLog));
        assertThat(m.find()).as(Files.readString(brokerLog)).isTrue();
        return m.group(1);
    }

    @Test
    void aStreamSentToAnIdleBrokerIsCatalogedAndADeletedTopicIsMarked(@TempDir Path dir) throws Exception {
        String bootstrap = kafkamlBroker();
        // the broker prints this line just after "bootstrap.servers=", which is all kafkamlBroker() waited for
        org.awaitility.Awaitility.await()
                .atMost(30, TimeUnit.SECONDS)
                .pollInterval(Duration.ofMillis(100))
                .until(() -> Files.readString(brokerDir.resolve("broker.log"))
                        .contains("control-logger cataloging control topic KAFKA_ML_CONTROL_TOPIC"));
        Path csv = dir.resolve("idle.csv");
        Files.writeString(csv, "x,y,label\n1,2,0\n3,4,1\n5,6,0\n");
        Path other = dir.resolve("other.csv");
        Files.writeString(other, "x,y,label\n1,2,0\n");
        // Nothing but the broker runs: no train process, no control logger of its own.
        assertThat(runToEnd(
                        dir,
                        bootstrap,
                        "send",
                        "--file",
                        csv.toString(),
                        "--label",
                        "label",
                        "--format",
                        "RAW",
                        "--topic",
                        "idle-data",
                        "--deployment-id",
                        "77"))
                .contains("sent 3 records");
        assertThat(runToEnd(
                        dir,
                        bootstrap,
                        "send",
                        "--file",
                        other.toString(),
                        "--label",
                        "label",
                        "--format",
                        "RAW",
                        "--topic",
                        "doomed-data",
                        "--deployment-id",
                        "78"))
                .contains("sent 1 records");
        try (Registry registry = Registry.connect(Map.of("bootstrap.servers", bootstrap))) {
            org.awaitility.Awaitility.await()
                    .atMost(30, TimeUnit.SECONDS)
                    .until(() -> registry.datasources().stream()
                            .map(d -> d.deploymentId())
                            .toList()
                            .containsAll(List.of("77", "78")));
        }
        try (org.apache.kafka.clients.admin.Admin admin =
                org.apache.kafka.clients.admin.Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            admin.deleteTopics(List.of("doomed-data")).all().get(30, TimeUnit.SECONDS);
        }
        String listing = runToEnd(dir, bootstrap, "datasources", "list");
        assertThat(listing.lines().filter(line -> line.contains("idle-data:0:0:3")))
                .singleElement()
                .asString()
                .contains(" 77 ")
                .contains("true");
        assertThat(listing.lines().filter(line -> line.contains("doomed-data")))
                .singleElement()
                .asString()
                .contains(" 78 ")
                .contains("topic deleted: doomed-data");
    }

    @Test
    void theControlLoggerProcessCatalogsAStreamWithinSecondsAndStopsOnSigterm(
            EmbeddedKafkaBroker kafka, @TempDir Path dir) throws Exception {
        Path log = dir.resolve("control-logger.log");
        Process logger = kafkaml(
                        log,
                        "control-logger",
                        "--bootstrap-servers",
                        kafka.bootstrapServers(),
                        "--registry-prefix",
                        "always-on",
                        "--control-topic",
                        "always-on-control")
                .start();
        try {
            org.awaitility.Awaitility.await()
                    .atMost(60, TimeUnit.SECONDS)
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> Files.readString(log)
                                    .contains("control-logger cataloging control topic "
                                            + "always-on-control into registry always-on")
                            || !logger.isAlive());
            assertThat(logger.isAlive()).as(Files.readString(log)).isTrue();
            try (io.kafkaml.control.ControlChannel control =
                    io.kafkaml.control.ControlChannel.create(kafka.clientConfig(), "always-on-control")) {
                control.publish(
                        io.kafkaml.control.ControlMessage.builder()
                                .slices(List.of(io.kafkaml.stream.StreamSlice.of("always-on-data", 0, 0, 3)))
                                .inputFormat("JSON")
                                .totalMessages(3)
                                .deploymentId("31")
                                .build(),
                        Duration.ofSeconds(10));
            }
            // Nothing else runs: no train process, no broker command; the logger alone catalogs the stream.
            try (Registry registry = Registry.connect(kafka.clientConfig(), "always-on", Duration.ofSeconds(30))) {
                org.awaitility.Awaitility.await()
                        .atMost(30, TimeUnit.SECONDS)
                        .until(() -> registry.datasources().stream()
                                .anyMatch(d -> d.deploymentId().equals("31")
                                        && d.controlTopic().equals("always-on-control")));
            }
            logger.destroy(); // SIGTERM
            assertThat(logger.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(Files.readString(log)).contains("control-logger stopped: 1 data stream(s) cataloged");
            // README: exit status 0 after SIGTERM, not the JVM's 143
            assertThat(logger.exitValue()).as(Files.readString(log)).isZero();
        } finally {
            logger.destroyForcibly();
        }
    }

    @Test
    void theCommandsChainFromBrokerToPredictions(@TempDir Path dir) throws Exception {
        String bootstrap = kafkamlBroker();
        Path csv = dir.resolve("data.csv");
        StringBuilder rows = new StringBuilder("x,y,label\n");
        Random random = new Random(9);
        for (int i = 0; i < 200; i++) {
            rows.append(i % 2 * 3 + random.nextGaussian())
                    .append(',')
                    .append(random.nextGaussian())
                    .append(',')
                    .append(i % 2)
                    .append('\n');
        }
        Files.writeString(csv, rows);
        CliFixture.registerAndConfigure(
                args -> child(dir, bootstrap, args), "mlp", CliFixture.mlpFile(dir.resolve("model.json"), 2), "c");
        Path trainLog = dir.resolve("train.log");
        ProcessBuilder trainer = kafkaml(trainLog, CliFixture.trainAndWait("c", 10));
        trainer.environment().put("KAFKAML_BOOTSTRAP_SERVERS", bootstrap);
        Process training = trainer.start();
        // A deployment trains only on a stream sent after it was recorded (unless --reuse-stream).
        java.util.regex.Pattern waiting = java.util.regex.Pattern.compile("deployment (\\S+) waiting for data");
        org.awaitility.Awaitility.await()
                .atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(200))
                .until(() -> waiting.matcher(Files.readString(trainLog)).find() || !training.isAlive());
        java.util.regex.Matcher deployed = waiting.matcher(Files.readString(trainLog));
        assertThat(deployed.find()).as(Files.readString(trainLog)).isTrue();
        String deploymentId = deployed.group(1);
        assertThat(runToEnd(
                        dir,
                        bootstrap,
                        "send",
                        "--file",
                        csv.toString(),
                        "--label",
                        "label",
                        "--format",
                        "RAW",
                        "--topic",
                        "chain-data",
                        "--deployment-id",
                        deploymentId,
                        "--test-rate",
                        "0.2"))
                .contains("sent 200 records");
        assertThat(training.waitFor(3, TimeUnit.MINUTES)).isTrue();
        assertThat(training.exitValue()).as(Files.readString(trainLog)).isZero();
        assertThat(runToEnd(dir, bootstrap, "results", "list", "--deployment-id", deploymentId, "--json"))
                .contains("\"status\":\"FINISHED\"");

        Path inferLog = dir.resolve("infer.log");
        ProcessBuilder server = kafkaml(
                inferLog,
                "infer",
                "--result",
                deploymentId + ".mlp",
                "--input-topic",
                "chain-in",
                "--output-topic",
                "chain-out",
                "--id",
                "chain");
        server.environment().put("KAFKAML_BOOTSTRAP_SERVERS", bootstrap);
        Process serving = server.start();
        InferenceProcessIT.awaitLog(inferLog, "serving", 120);
        // one row by hand before anything else was served: the output topic does not exist yet (the first
        // prediction creates it), which predict must wait out; encoded as the model was trained (RAW float32)
        String predicted = runToEnd(dir, bootstrap, "predict", "chain", "--row", "3,0", "--row", "0,0", "--json");
        JsonNode answers = Output.JSON.readTree(predicted);
        assertThat(answers).as(predicted).hasSize(2);
        for (JsonNode answer : answers) {
            assertThat(answer.get("prediction").get("values")).as(predicted).hasSize(2);
            assertThat(answer.get("latencyMs").asDouble()).isPositive();
        }
        Map<String, Object> client = Map.of("bootstrap.servers", bootstrap);
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(client, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = 0; i < 50; i++) {
                ByteBuffer value = ByteBuffer.allocate(8)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putFloat(i % 2 * 3)
                        .putFloat(0);
                producer.send(new ProducerRecord<>("chain-in", value.array()));
            }
        }
        Map<String, Object> readerConfig = new java.util.HashMap<>(client);
        readerConfig.put(ConsumerConfig.GROUP_ID_CONFIG, "chain-reader");
        readerConfig.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        int predictions = 0;
        try (KafkaConsumer<byte[], byte[]> reader =
                new KafkaConsumer<>(readerConfig, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            reader.subscribe(List.of("chain-out"));
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (predictions < 50 && System.nanoTime() < until) {
                for (var prediction : reader.poll(Duration.ofMillis(200))) {
                    if (prediction.key() == null) { // predict's rows are keyed
                        predictions++;
                    }
                }
            }
        } finally {
            if (predictions < 50) {
                serving.destroyForcibly();
            }
        }
        assertThat(predictions).as(Files.readString(inferLog)).isEqualTo(50);
        KafkaMlCliIT.Run badRow = child(dir, bootstrap, "predict", "chain", "--row", "3,x");
        assertThat(badRow.status()).isEqualTo(1);
        assertThat(badRow.out() + badRow.err()).contains("--row 1 '3,x': value 2 ('x') is not a number");
        serving.destroy();
        assertThat(serving.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(serving.exitValue()).as(Files.readString(inferLog)).isZero();
    }

    /** Registers the MLP of the CLI tests, a configuration "c" of it and deployment {@code id} waiting for data. */
    static void waitingDeployment(EmbeddedKafkaBroker kafka, String prefix, String id, TrainingSpec spec) {
        try (Registry registry = Registry.connect(kafka.clientConfig(), prefix, Duration.ofSeconds(30))) {
            registry.registerModel(
                    ModelDefinition.of("mlp", "", CliFixture.mlp(2).build()));
            registry.createConfiguration(new Configuration("c", "", List.of("mlp")));
            registry.createDeployment(new Deployment(
                    id,
                    "c",
                    DeploymentStatus.WAITING_FOR_DATA,
                    null,
                    spec.toMap(),
                    Instant.now(),
                    Instant.now(),
                    null));
        }
    }

    @Test
    void workersTrainAndServeWithOnlyEnvironmentVariablesAndSigtermCommits(EmbeddedKafkaBroker kafka, @TempDir Path dir)
            throws Exception {
        String prefix = "worker-test";
        waitingDeployment(
                kafka,
                prefix,
                "21",
                TrainingSpec.builder()
                        .batchSize(8)
                        .epochs(10)
                        .normalization(Normalization.STANDARDIZE)
                        .build());
        Path trainLog = dir.resolve("train.log");
        ProcessBuilder trainer = kafkaml(trainLog, "worker");
        trainer.environment()
                .putAll(Map.of(
                        "KAFKAML_ROLE",
                        "train",
                        "KAFKAML_BOOTSTRAP_SERVERS",
                        kafka.bootstrapServers(),
                        "KAFKAML_REGISTRY_PREFIX",
                        prefix,
                        "KAFKAML_DEPLOYMENT_ID",
                        "21"));
        Process training = trainer.start();
        kafka.createTopic("worker-data", 1);
        Random random = new Random(3);
        try (RawDataSink sink = RawDataSink.builder(kafka.clientConfig())
                .topic("worker-data")
                .deploymentId("21")
                .labelType(RawType.UINT8)
                .testRate(0.2)
                .build()) {
            for (int i = 0; i < 200; i++) {
                int label = i % 2;
                sink.send(
                        new float[] {label * 3 + (float) random.nextGaussian(), (float) random.nextGaussian()}, label);
            }
        }
        assertThat(training.waitFor(3, TimeUnit.MINUTES)).isTrue();
        assertThat(training.exitValue()).as(Files.readString(trainLog)).isZero();
        assertThat(Files.readString(trainLog)).contains("deployment 21 FINISHED");

        kafka.createTopic("worker-in", 2);
        Path inferLog = dir.resolve("infer.log");
        ProcessBuilder server = kafkaml(inferLog, "worker");
        server.environment()
                .putAll(Map.of(
                        "KAFKAML_ROLE",
                        "infer",
                        "KAFKAML_BOOTSTRAP_SERVERS",
                        kafka.bootstrapServers(),
                        "KAFKAML_REGISTRY_PREFIX",
                        prefix,
                        "KAFKAML_RESULT_ID",
                        "21.mlp",
                        "KAFKAML_INPUT_TOPIC",
                        "worker-in",
                        "KAFKAML_OUTPUT_TOPIC",
                        "worker-out",
                        "KAFKAML_INFERENCE_ID",
                        "serving"));
        server.environment().put("KAFKAML_INSTANCE_ID", "w0");
        Process serving = server.start();
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(kafka.clientConfig(), new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = 0; i < 100; i++) {
                ByteBuffer value = ByteBuffer.allocate(8)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putFloat(i % 2 * 3)
                        .putFloat(0);
                producer.send(new ProducerRecord<>(
                        "worker-in", String.valueOf(i).getBytes(StandardCharsets.UTF_8), value.array()));
            }
        }
        Map<String, Object> readerConfig = kafka.clientConfig();
        readerConfig.put(ConsumerConfig.GROUP_ID_CONFIG, "worker-reader");
        readerConfig.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        int predictions = 0;
        try (KafkaConsumer<byte[], byte[]> reader =
                new KafkaConsumer<>(readerConfig, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            reader.subscribe(List.of("worker-out"));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (predictions < 100 && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> record : reader.poll(Duration.ofMillis(200))) {
                    assertThat(new String(record.value(), StandardCharsets.UTF_8))
                            .startsWith("{\"values\":[");
                    predictions++;
                }
            }
        }
        assertThat(predictions).as(Files.readString(inferLog)).isEqualTo(100);
        serving.destroy(); // SIGTERM
        assertThat(serving.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(serving.exitValue()).as(Files.readString(inferLog)).isZero();
        assertThat(Files.readString(inferLog)).contains("stopped serving-w0: in 100, out 100");
        assertThat(Files.readString(inferLog))
                .as("a clean SIGTERM prints no logging noise")
                .doesNotContain("Unable to register shutdown hook");
        long committed = kafka
                .admin()
                .listConsumerGroupOffsets("kafkaml-inference-serving")
                .partitionsToOffsetAndMetadata()
                .get(30, TimeUnit.SECONDS)
                .values()
                .stream()
                .mapToLong(o -> o.offset())
                .sum();
        assertThat(committed).as("every processed input committed before exit").isEqualTo(100);
    }

    @Test
    void aTrainingWorkerSigtermedMidTrainingRecordsCancelledAndExits3(EmbeddedKafkaBroker kafka, @TempDir Path dir)
            throws Exception {
        String prefix = "worker-sigterm";
        waitingDeployment(
                kafka,
                prefix,
                "22",
                TrainingSpec.builder().batchSize(8).epochs(1_000_000).build());
        Path trainLog = dir.resolve("train.log");
        ProcessBuilder trainer = kafkaml(trainLog, "worker");
        trainer.environment()
                .putAll(Map.of(
                        "KAFKAML_ROLE",
                        "train",
                        "KAFKAML_BOOTSTRAP_SERVERS",
                        kafka.bootstrapServers(),
                        "KAFKAML_REGISTRY_PREFIX",
                        prefix,
                        "KAFKAML_DEPLOYMENT_ID",
                        "22",
                        "KAFKAML_MODEL",
                        "mlp"));
        Process training = trainer.start();
        kafka.createTopic("sigterm-data", 1);
        Random random = new Random(4);
        try (RawDataSink sink = RawDataSink.builder(kafka.clientConfig())
                .topic("sigterm-data")
                .deploymentId("22")
                .labelType(RawType.UINT8)
                .testRate(0.2)
                .build()) {
            for (int i = 0; i < 100; i++) {
                sink.send(
                        new float[] {i % 2 * 3 + (float) random.nextGaussian(), (float) random.nextGaussian()}, i % 2);
            }
        }
        try (Registry registry = Registry.connect(kafka.clientConfig(), prefix, Duration.ofSeconds(30))) {
            org.awaitility.Awaitility.await()
                    .atMost(Duration.ofMinutes(2))
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> {
                        assertThat(training.isAlive())
                                .as(Files.readString(trainLog))
                                .isTrue();
                        return registry.result("22.mlp")
                                .map(r -> r.epochCount() >= 2)
                                .orElse(false);
                    });
            assertThat(registry.result("22.mlp").orElseThrow().status()).isEqualTo(DeploymentStatus.TRAINING);

            training.destroy(); // SIGTERM, mid-training
            assertThat(training.waitFor(60, TimeUnit.SECONDS)).isTrue();
            String output = Files.readString(trainLog);
            assertThat(training.exitValue()).as(output).isEqualTo(3);
            assertThat(output).contains("deployment 22 CANCELLED");
            // the child wrote the ending: this registry reads it once it has caught up
            org.awaitility.Awaitility.await()
                    .atMost(30, TimeUnit.SECONDS)
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> registry.result("22.mlp")
                                    .orElseThrow()
                                    .status()
                                    .isTerminal()
                            && registry.deployment("22").orElseThrow().status().isTerminal());
            var result = registry.result("22.mlp").orElseThrow();
            assertThat(result.status()).isEqualTo(DeploymentStatus.CANCELLED);
            assertThat(result.error()).isEqualTo("cancelled on request");
            assertThat(result.epochCount()).isGreaterThanOrEqualTo(2);
            assertThat(registry.epochs("22.mlp")).hasSizeGreaterThanOrEqualTo(result.epochCount());
            assertThat(registry.deployment("22").orElseThrow().status()).isEqualTo(DeploymentStatus.CANCELLED);

            // `kafkaml train` running its deployment in its own JVM: SIGTERM while it waits for data records
            // CANCELLED and exits 3, as the worker does (it exited 143 and left WAITING_FOR_DATA for ever)
            Path cliLog = dir.resolve("train-cli.log");
            Process cli = kafkaml(
                            cliLog,
                            "train",
                            "--configuration",
                            "c",
                            "--deployment-id",
                            "23",
                            "--bootstrap-servers",
                            kafka.bootstrapServers(),
                            "--registry-prefix",
                            prefix)
                    .start();
            InferenceProcessIT.awaitLog(cliLog, "deployment 23 waiting for data", 120);
            cli.destroy();
            assertThat(cli.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(cli.exitValue()).as(Files.readString(cliLog)).isEqualTo(3);
            assertThat(Files.readString(cliLog)).contains("deployment 23 CANCELLED (stopped by a signal)");
            org.awaitility.Awaitility.await()
                    .atMost(30, TimeUnit.SECONDS)
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> registry.deployment("23")
                            .map(d -> d.status() == DeploymentStatus.CANCELLED)
                            .orElse(false));
        }
    }

    /**
     * {@code kafkaml server --embedded-broker}, the one command README's quickstart gives: it starts a broker and the
     * server in one process, answers over HTTP, and a SIGTERM stops it cleanly with exit code 0.
     */
    @Test
    void theServerStartsOnItsEmbeddedBrokerAnswersAndExitsZeroOnSigterm(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("server.log");
        Process server = kafkaml(
                        log,
                        List.of("-XX:TieredStopAtLevel=1"),
                        "server",
                        "--embedded-broker",
                        "--broker-port",
                        "0",
                        "--port",
                        "0")
                .start();
        try {
            org.awaitility.Awaitility.await()
                    .atMost(90, TimeUnit.SECONDS)
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> Files.readString(log).contains("kafkaml server: dashboard ") || !server.isAlive());
            java.util.regex.Matcher dashboard =
                    java.util.regex.Pattern.compile("dashboard (http://\\S+/),").matcher(Files.readString(log));
            assertThat(dashboard.find()).as(Files.readString(log)).isTrue();
            java.net.URI base = java.net.URI.create(dashboard.group(1));
            java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
            java.net.http.HttpResponse<String> health = http.send(
                    java.net.http.HttpRequest.newBuilder(base.resolve("api/v1/health"))
                            .build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(health.statusCode()).as(health.body()).isEqualTo(200);
            assertThat(health.body()).contains("\"status\":\"UP\"").contains("RUNNING");
            java.net.http.HttpResponse<String> models = http.send(
                    java.net.http.HttpRequest.newBuilder(base.resolve("api/v1/models"))
                            .build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(models.statusCode()).isEqualTo(200);
            assertThat(models.body()).isEqualTo("[]");

            // a SIGTERM while a scale to the maximum is starting replicas one by one still stops the server: the
            // scale ends at its next replica, the deployment is stopped, exit 0 (it waited on the scale's lock)
            java.util.regex.Matcher bootstrap =
                    java.util.regex.Pattern.compile("bootstrap.servers=(\\S+)").matcher(Files.readString(log));
            assertThat(bootstrap.find()).isTrue();
            java.util.function.BiFunction<String, String, java.net.http.HttpResponse<String>> post = (path, body) -> {
                try {
                    return http.send(
                            java.net.http.HttpRequest.newBuilder(base.resolve("api/v1" + path))
                                    .header("Content-Type", "application/json")
                                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body))
                                    .build(),
                            java.net.http.HttpResponse.BodyHandlers.ofString());
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            };
            String model = new com.fasterxml.jackson.databind.ObjectMapper()
                    .writeValueAsString(Map.of(
                            "name",
                            "mlp",
                            "configuration",
                            CliFixture.mlp(2).build().toJson()));
            assertThat(post.apply("/models", model).statusCode()).isEqualTo(201);
            assertThat(post.apply("/configurations", "{\"name\":\"c\",\"models\":[\"mlp\"]}")
                            .statusCode())
                    .isEqualTo(201);
            java.net.http.HttpResponse<String> deployment = post.apply(
                    "/deployments", "{\"configuration\":\"c\",\"deploymentId\":\"5\",\"spec\":{\"epochs\":1}}");
            assertThat(deployment.statusCode()).as(deployment.body()).isEqualTo(201);
            try (io.kafkaml.sink.RecordDataSink sink = io.kafkaml.sink.RecordDataSink.builder(
                            Map.of("bootstrap.servers", bootstrap.group(1)))
                    .format("JSON")
                    .inputConfig(Map.of("data_reshape", "2"))
                    .topic("blobs")
                    .deploymentId("5")
                    .testRate(0.0)
                    .build()) {
                for (int i = 0; i < 20; i++) {
                    sink.send(new double[] {i % 2, 1 - i % 2}, i % 2);
                }
            }
            org.awaitility.Awaitility.await()
                    .atMost(90, TimeUnit.SECONDS)
                    .until(() -> http.send(
                                    java.net.http.HttpRequest.newBuilder(base.resolve("api/v1/deployments/5"))
                                            .build(),
                                    java.net.http.HttpResponse.BodyHandlers.ofString())
                            .body()
                            .contains("\"status\":\"FINISHED\""));
            java.net.http.HttpResponse<String> inference = post.apply(
                    "/inferences",
                    "{\"resultId\":\"5.mlp\",\"inputTopic\":\"in\",\"outputTopic\":\"out\",\"id\":\"s\"}");
            assertThat(inference.statusCode()).as(inference.body()).isEqualTo(201);
            java.util.concurrent.CompletableFuture<java.net.http.HttpResponse<String>> scale = http.sendAsync(
                    java.net.http.HttpRequest.newBuilder(base.resolve("api/v1/inferences/s/scale"))
                            .header("Content-Type", "application/json")
                            .POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                                    "{\"replicas\":" + io.kafkaml.server.KafkaMlServer.DEFAULT_MAX_REPLICAS + "}"))
                            .build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            // the deployment answers while the scale goes on, and has more than one replica: the scale is under way
            org.awaitility.Awaitility.await()
                    .atMost(60, TimeUnit.SECONDS)
                    .until(() -> new com.fasterxml.jackson.databind.ObjectMapper()
                                    .readTree(http.send(
                                                    java.net.http.HttpRequest.newBuilder(
                                                                    base.resolve("api/v1/inferences/s"))
                                                            .build(),
                                                    java.net.http.HttpResponse.BodyHandlers.ofString())
                                            .body())
                                    .path("replicas")
                                    .asInt()
                            >= 2);

            server.destroy(); // SIGTERM
            assertThat(server.waitFor(60, TimeUnit.SECONDS)).isTrue();
            String output = Files.readString(log);
            assertThat(server.exitValue()).as(output).isZero();
            assertThat(output).contains("kafkaml server stopped");
            // the scale's request ended with the server: an answer (200 if it finished first, else 503) or a
            // closed connection, never a request left hanging
            assertThat(scale.handle((answer, failure) -> answer == null ? 0 : answer.statusCode())
                            .get(30, TimeUnit.SECONDS))
                    .isIn(0, 200, 503);
        } finally {
            server.destroyForcibly();
        }
    }
}
