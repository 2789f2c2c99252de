package io.kafkaml.cli;

import static org.assertj.core.api.Assertions.assertThat;

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
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/** {@code java -jar target/kafkaml.jar} as a child process: quickstart, and workers configured only by environment. */
@ExtendWith(EmbeddedKafkaExtension.class)
class ChildProcessIT {

    static ProcessBuilder kafkaml(Path log, String... args) {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar",
                new File("target/kafkaml.jar").getAbsolutePath()));
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
        assertThat(output).contains("trained quickstart-mlp on 600 records").contains("20/20 predictions received");
    }

    /** Runs one kafkaml command to its end and returns its output. */
    static String runToEnd(Path dir, String bootstrap, String... args) throws Exception {
        Path log = Files.createTempFile(dir, "cmd", ".log");
        ProcessBuilder builder = kafkaml(log, args);
        builder.environment().put("KAFKAML_BOOTSTRAP_SERVERS", bootstrap);
        Process process = builder.start();
        assertThat(process.waitFor(3, TimeUnit.MINUTES)).isTrue();
        String output = Files.readString(log);
        assertThat(process.exitValue())
                .as(String.join(" ", args) + "\n" + output)
                .isZero();
        return output;
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
        Path brokerLog = dir.resolve("broker.log");
        Process broker = kafkaml(
                        brokerLog,
                        "broker",
                        "--port",
                        "0",
                        "--data-dir",
                        dir.resolve("kafka").toString())
                .start();
        try {
            String bootstrap = startBroker(broker, brokerLog);
            assertThat(Files.readString(brokerLog))
                    .contains("control-logger cataloging control topic KAFKA_ML_CONTROL_TOPIC");
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
                        .until(() -> registry.datasources().size() == 2);
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
        } finally {
            broker.destroy();
            broker.waitFor(60, TimeUnit.SECONDS);
        }
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
        } finally {
            logger.destroyForcibly();
        }
    }

    @Test
    void theCommandsChainFromBrokerToPredictions(@TempDir Path dir) throws Exception {
        Path brokerLog = dir.resolve("broker.log");
        Process broker = kafkaml(
                        brokerLog,
                        "broker",
                        "--port",
                        "0",
                        "--data-dir",
                        dir.resolve("kafka").toString())
                .start();
        try {
            java.util.regex.Pattern announced = java.util.regex.Pattern.compile("bootstrap.servers=(\\S+)");
            org.awaitility.Awaitility.await()
                    .atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> announced.matcher(Files.readString(brokerLog)).find());
            java.util.regex.Matcher found = announced.matcher(Files.readString(brokerLog));
            assertThat(found.find()).as(Files.readString(brokerLog)).isTrue();
            String bootstrap = found.group(1);
            Path model = dir.resolve("model.json");
            Files.writeString(
                    model,
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
                            .build()
                            .toJson());
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
            assertThat(runToEnd(dir, bootstrap, "models", "register", "--name", "mlp", "--file", model.toString()))
                    .contains("registered");
            assertThat(runToEnd(dir, bootstrap, "configurations", "create", "--name", "c", "--models", "mlp"))
                    .contains("created");
            Path trainLog = dir.resolve("train.log");
            ProcessBuilder trainer = kafkaml(trainLog, "train", "--configuration", "c", "--epochs", "10", "--wait");
            trainer.environment().put("KAFKAML_BOOTSTRAP_SERVERS", bootstrap);
            Process training = trainer.start();
            // A deployment trains only on a stream sent after it was recorded (unless --reuse-stream).
            org.awaitility.Awaitility.await()
                    .atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> Files.readString(trainLog).contains("deployment 1 waiting for data"));
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
                            "1",
                            "--test-rate",
                            "0.2"))
                    .contains("sent 200 records");
            assertThat(training.waitFor(3, TimeUnit.MINUTES)).isTrue();
            assertThat(training.exitValue()).as(Files.readString(trainLog)).isZero();
            assertThat(runToEnd(dir, bootstrap, "results", "list", "--json")).contains("\"status\":\"FINISHED\"");

            Path inferLog = dir.resolve("infer.log");
            ProcessBuilder server = kafkaml(
                    inferLog, "infer", "--result", "1.mlp", "--input-topic", "chain-in", "--output-topic", "chain-out");
            server.environment().put("KAFKAML_BOOTSTRAP_SERVERS", bootstrap);
            Process serving = server.start();
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
                    predictions += reader.poll(Duration.ofMillis(200)).count();
                }
            }
            assertThat(predictions).as(Files.readString(inferLog)).isEqualTo(50);
            serving.destroy();
            assertThat(serving.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(serving.exitValue()).as(Files.readString(inferLog)).isZero();
        } finally {
            broker.destroy();
            broker.waitFor(60, TimeUnit.SECONDS);
        }
    }

    @Test
    void workersTrainAndServeWithOnlyEnvironmentVariablesAndSigtermCommits(EmbeddedKafkaBroker kafka, @TempDir Path dir)
            throws Exception {
        String prefix = "worker-test";
        try (Registry registry = Registry.connect(kafka.clientConfig(), prefix, Duration.ofSeconds(30))) {
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
                    "21",
                    "c",
                    DeploymentStatus.WAITING_FOR_DATA,
                    null,
                    TrainingSpec.builder()
                            .batchSize(8)
                            .epochs(10)
                            .normalization(Normalization.STANDARDIZE)
                            .build()
                            .toMap(),
                    Instant.now(),
                    Instant.now(),
                    null));
        }
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
        try (Registry registry = Registry.connect(kafka.clientConfig(), prefix, Duration.ofSeconds(30))) {
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
                    "22",
                    "c",
                    DeploymentStatus.WAITING_FOR_DATA,
                    null,
                    TrainingSpec.builder()
                            .batchSize(8)
                            .epochs(1_000_000)
                            .build()
                            .toMap(),
                    Instant.now(),
                    Instant.now(),
                    null));
        }
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
            var result = registry.result("22.mlp").orElseThrow();
            assertThat(result.status()).isEqualTo(DeploymentStatus.CANCELLED);
            assertThat(result.error()).isEqualTo("cancelled on request");
            assertThat(result.epochCount()).isGreaterThanOrEqualTo(2);
            assertThat(registry.epochs("22.mlp")).hasSizeGreaterThanOrEqualTo(result.epochCount());
            assertThat(registry.deployment("22").orElseThrow().status()).isEqualTo(DeploymentStatus.CANCELLED);
        }
    }
}
