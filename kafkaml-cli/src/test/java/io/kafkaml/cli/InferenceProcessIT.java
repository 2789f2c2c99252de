package io.kafkaml.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.kafkaml.control.ControlMessage;
import io.kafkaml.inference.InferenceConfig;
import io.kafkaml.inference.InferenceLiveness;
import io.kafkaml.inference.InferenceSpec;
import io.kafkaml.inference.LocalInference;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.Deployment;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.Inference;
import io.kafkaml.registry.Registry;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.stream.StreamSlice;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * {@code kafkaml infer} as child processes, where processes must die or stall: a SIGTERM with the broker gone,
 * two processes sharing one exactly-once deployment, a process paused past its session timeout, a deployment
 * that FAILs.
 */
@ExtendWith(EmbeddedKafkaExtension.class)
class InferenceProcessIT {

    static final String PREFIX = "infer-process";

    /** Registers a servable result (an initialised MLP, JSON inputs of {@code features} values); returns its id. */
    static String registerResult(Map<String, Object> client, String name, MultiLayerConfiguration conf, int features)
            throws Exception {
        try (Registry registry = Registry.connect(client, PREFIX, Duration.ofSeconds(30))) {
            registry.registerModel(ModelDefinition.of(name, "", conf));
            registry.createConfiguration(new Configuration(name + "-only", "", List.of(name)));
            String deployment = name + "-train";
            ControlMessage trainedOn = ControlMessage.builder()
                    .slices(List.of(StreamSlice.of("train", 0, 0, 1)))
                    .inputFormat("JSON")
                    .inputConfig(Map.of("data_reshape", String.valueOf(features)))
                    .totalMessages(1)
                    .deploymentId(deployment)
                    .build();
            registry.createDeployment(new Deployment(
                    deployment,
                    name + "-only",
                    DeploymentStatus.FINISHED,
                    null,
                    Map.of(),
                    Instant.now(),
                    Instant.now(),
                    trainedOn.toJson()));
            MultiLayerNetwork network = new MultiLayerNetwork(conf);
            network.init();
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            ModelSerializer.writeModel(network, bytes, false);
            registry.storeArtifact(name + ".model", bytes.toByteArray());
            String resultId = TrainingResult.idOf(deployment, name);
            registry.putResult(new TrainingResult(
                    resultId,
                    deployment,
                    name,
                    DeploymentStatus.FINISHED,
                    List.of(),
                    Map.of(),
                    null,
                    0,
                    name + ".model",
                    null,
                    null,
                    Instant.now()));
            return resultId;
        }
    }

    static String tiny;

    @BeforeAll
    static void registerTheModel(EmbeddedKafkaBroker kafka) throws Exception {
        tiny = registerResult(
                kafka.clientConfig(),
                "tiny",
                new NeuralNetConfiguration.Builder()
                        .seed(1)
                        .list()
                        .layer(new DenseLayer.Builder()
                                .nIn(2)
                                .nOut(8)
                                .activation(Activation.TANH)
                                .build())
                        .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                                .nIn(8)
                                .nOut(2)
                                .activation(Activation.SOFTMAX)
                                .build())
                        .build(),
                2);
    }

    /** Starts {@code kafkaml infer ...} with the registry prefix and bootstrap servers. */
    static Process infer(Path log, String bootstrap, String... args) throws Exception {
        List<String> all =
                new ArrayList<>(List.of("infer", "--registry-prefix", PREFIX, "--bootstrap-servers", bootstrap));
        all.addAll(List.of(args));
        return ChildProcessIT.kafkaml(log, all.toArray(String[]::new)).start();
    }

    static void awaitLog(Path log, String text, int seconds) {
        await().atMost(seconds, TimeUnit.SECONDS)
                .pollInterval(Duration.ofMillis(200))
                .until(() -> Files.exists(log) && Files.readString(log).contains(text));
    }

    static void send(Map<String, Object> client, String topic, int first, int count) throws Exception {
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(client, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = first; i < first + count; i++) {
                sent.add(producer.send(new ProducerRecord<>(
                        topic, bytes(String.valueOf(i)), bytes("[" + (i % 3) + "," + (i % 5) + "]"))));
            }
        }
        for (Future<RecordMetadata> future : sent) {
            future.get(30, TimeUnit.SECONDS);
        }
    }

    /** Reads {@code topic} until {@code expected} records came and none more within 2 s. */
    static List<ConsumerRecord<byte[], byte[]>> read(
            Map<String, Object> client, String topic, int expected, boolean readCommitted) {
        Map<String, Object> config = new HashMap<>(client);
        config.put(ConsumerConfig.GROUP_ID_CONFIG, "reader-" + topic + "-" + System.nanoTime());
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, readCommitted ? "read_committed" : "read_uncommitted");
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            long settleUntil = Long.MAX_VALUE;
            while (System.nanoTime() < Math.min(deadline, settleUntil)) {
                consumer.poll(Duration.ofMillis(100)).forEach(records::add);
                if (records.size() >= expected && settleUntil == Long.MAX_VALUE) {
                    settleUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
                }
            }
        }
        return records;
    }

    /** How many records {@code topic} holds (its end offsets; 0 if it does not exist). */
    static long written(Map<String, Object> client, String topic) {
        Map<String, Object> config = new HashMap<>(client);
        config.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            var partitions = consumer.partitionsFor(topic, Duration.ofSeconds(10));
            if (partitions == null || partitions.isEmpty()) {
                return 0;
            }
            return consumer
                    .endOffsets(partitions.stream()
                            .map(p -> new org.apache.kafka.common.TopicPartition(p.topic(), p.partition()))
                            .toList())
                    .values()
                    .stream()
                    .mapToLong(Long::longValue)
                    .sum();
        }
    }

    static Set<String> keys(List<ConsumerRecord<byte[], byte[]>> records) {
        Set<String> keys = new HashSet<>();
        records.forEach(r -> keys.add(new String(r.key(), StandardCharsets.UTF_8)));
        return keys;
    }

    /** The inputs a stopped process reports it handled ("stopped ID: in N, ..."). */
    static long handled(Path log) throws Exception {
        Matcher m = Pattern.compile("stopped \\S+: in (\\d+),").matcher(Files.readString(log));
        assertThat(m.find()).as(Files.readString(log)).isTrue();
        return Long.parseLong(m.group(1));
    }

    static void signal(Process process, String signal) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + signal, String.valueOf(process.pid()))
                .inheritIO()
                .start();
        assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(kill.exitValue()).isZero();
    }

    /** Settings of a quick heartbeat (lease 900 ms) and a short session, so a killed member leaves the group soon. */
    static Path quickLiveness(Path dir) throws Exception {
        Path config = dir.resolve("liveness.properties");
        Files.writeString(
                config,
                "kafkaml.inference.heartbeat.interval.ms=300\nconsumer.session.timeout.ms=6000\n"
                        + "consumer.heartbeat.interval.ms=1000\n");
        return config;
    }

    @Test
    void aSigkilledOwnerLeavesAStaleDeploymentThatListingsShowAndOfTwoSimultaneousTakeoversOneOwns(
            EmbeddedKafkaBroker kafka, @TempDir Path dir) throws Exception {
        kafka.createTopic("beat-in", 1);
        Path log1 = dir.resolve("beat-1.log");
        Process first = infer(
                log1,
                kafka.bootstrapServers(),
                "--result",
                tiny,
                "--input-topic",
                "beat-in",
                "--output-topic",
                "beat-out",
                "--id",
                "beat",
                "--config",
                quickLiveness(dir).toString());
        try (Registry registry = Registry.connect(kafka.clientConfig(), PREFIX, Duration.ofSeconds(30))) {
            awaitLog(log1, "serving", 60);
            // the child wrote the record: this registry, opened while it started, reads it once caught up
            Inference owned = registry.refreshInference("beat").orElseThrow();
            assertThat(owned.owner()).isNotNull();
            assertThat(owned.leaseMs()).isEqualTo(900);
            await().atMost(30, TimeUnit.SECONDS)
                    .until(() -> !Objects.equals(
                            registry.inference("beat").orElseThrow().heartbeatAt(), owned.heartbeatAt()));
            assertThat(InferenceLiveness.alive(registry, owned, Duration.ZERO)).isTrue();

            first.destroyForcibly(); // SIGKILL: no chance to record STOPPED
            assertThat(first.waitFor(30, TimeUnit.SECONDS)).isTrue();
            // the group coordinator expires the killed member after its session: no consumer, no one serves it
            await().atMost(30, TimeUnit.SECONDS)
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> !InferenceLiveness.alive(
                            registry, registry.inference("beat").orElseThrow(), Duration.ZERO));
            Inference stale = registry.inference("beat").orElseThrow();
            assertThat(stale.status())
                    .as("the record itself still says RUNNING")
                    .isEqualTo("RUNNING");
            KafkaMlCliIT.Run listed =
                    KafkaMlCliIT.run(kafka, "inferences", "list", "--window-ms", "1000", "--registry-prefix", PREFIX);
            assertThat(listed.status()).as(listed.err()).isZero();
            assertThat(listed.out()).containsPattern("beat .*RUNNING \\(no consumers\\) .*" + stale.owner());
            KafkaMlCliIT.Run json = KafkaMlCliIT.run(
                    kafka, "inferences", "list", "--json", "--window-ms", "0", "--registry-prefix", PREFIX);
            assertThat(json.out()).contains("\"liveStatus\":\"NO_CONSUMERS\"").contains("\"status\":\"RUNNING\"");

            // two processes take the stale deployment over at the same moment, each with its own registry client:
            // the first claim of the next generation wins, the other reads it back, sees the winner alive and joins
            Map<String, Object> settings = kafka.clientConfig();
            settings.put(InferenceConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 300);
            InferenceSpec spec =
                    InferenceSpec.builder(tiny, "beat-in", "beat-out-2").build();
            java.util.concurrent.ExecutorService starters = java.util.concurrent.Executors.newFixedThreadPool(2);
            java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(2);
            List<Registry> contenders = new java.util.concurrent.CopyOnWriteArrayList<>();
            java.util.concurrent.Callable<LocalInference> start = () -> {
                Registry own = Registry.connect(kafka.clientConfig(), PREFIX, Duration.ofSeconds(30));
                contenders.add(own);
                go.countDown();
                go.await();
                return LocalInference.start(own, settings, "beat", spec);
            };
            Future<LocalInference> a = starters.submit(start);
            Future<LocalInference> b = starters.submit(start);
            try (LocalInference one = a.get(120, TimeUnit.SECONDS);
                    LocalInference two = b.get(120, TimeUnit.SECONDS)) {
                starters.shutdown();
                assertThat(one.isOwner() ^ two.isOwner())
                        .as("exactly one owner")
                        .isTrue();
                LocalInference winner = one.isOwner() ? one : two;
                LocalInference joiner = one.isOwner() ? two : one;
                Inference taken = registry.refreshInference("beat").orElseThrow();
                assertThat(taken.generation()).isEqualTo(stale.generation() + 1);
                assertThat(taken.owner()).startsWith(winner.instanceId() + "/");
                assertThat(joiner.generation()).isEqualTo(taken.generation());
                send(kafka.clientConfig(), "beat-in", 0, 20);
                assertThat(keys(read(kafka.clientConfig(), "beat-out-2", 20, false)))
                        .hasSize(20);

                // the owner leaves (a rolling restart's SIGTERM) while the joiner serves: ownership is handed over
                assertThat(winner.close(Duration.ofSeconds(20))).isTrue();
                await().atMost(30, TimeUnit.SECONDS).until(joiner::isOwner);
                Inference handedOver = registry.refreshInference("beat").orElseThrow();
                assertThat(handedOver.status()).isEqualTo("RUNNING");
                assertThat(handedOver.generation()).isEqualTo(taken.generation() + 1); // RELEASED in its, then claimed
                assertThat(handedOver.owner()).startsWith(joiner.instanceId() + "/");
                assertThat(joiner.state()).isEqualTo(LocalInference.State.RUNNING);
                send(kafka.clientConfig(), "beat-in", 20, 20);
                assertThat(keys(read(kafka.clientConfig(), "beat-out-2", 40, false)))
                        .hasSize(40);

                // only an explicit stop ends it for every process
                KafkaMlCliIT.Run stop =
                        KafkaMlCliIT.run(kafka, "inferences", "stop", "beat", "--registry-prefix", PREFIX);
                assertThat(stop.status()).as(stop.err()).isZero();
                assertThat(joiner.awaitTermination(Duration.ofSeconds(30))).isTrue();
                assertThat(joiner.state()).isEqualTo(LocalInference.State.STOPPED);
            } finally {
                contenders.forEach(Registry::close);
            }
            Inference stopped = registry.refreshInference("beat").orElseThrow();
            assertThat(stopped.status()).isEqualTo("STOPPED");
            assertThat(stopped.owner()).startsWith("kafkaml inferences stop@");

            KafkaMlCliIT.Run refused =
                    KafkaMlCliIT.run(kafka, "inferences", "forget", "beat", "--registry-prefix", PREFIX);
            assertThat(refused.status()).isEqualTo(2);
            assertThat(refused.err()).contains("--force");
            KafkaMlCliIT.Run forgot =
                    KafkaMlCliIT.run(kafka, "inferences", "forget", "beat", "--force", "--registry-prefix", PREFIX);
            assertThat(forgot.status()).as(forgot.err()).isZero();
            assertThat(registry.refreshInference("beat")).isEmpty();
            assertThat(registry.inferenceGeneration("beat")).isEqualTo(stopped.generation() + 1);
        } finally {
            first.destroyForcibly();
        }
    }

    @Test
    void anOwnerPausedPastItsLeaseAndTakenOverStopsServingWhenItResumesAndWritesNothing(
            EmbeddedKafkaBroker kafka, @TempDir Path dir) throws Exception {
        kafka.createTopic("pause-in", 2);
        Path log = dir.resolve("pause.log");
        Process paused = infer(
                log,
                kafka.bootstrapServers(),
                "--result",
                tiny,
                "--input-topic",
                "pause-in",
                "--output-topic",
                "pause-out",
                "--id",
                "pause",
                "--config",
                quickLiveness(dir).toString());
        try (Registry registry = Registry.connect(kafka.clientConfig(), PREFIX, Duration.ofSeconds(30))) {
            awaitLog(log, "serving", 60);
            // written by the child: read to the topic's end (this registry may not have caught up yet)
            Inference before = registry.refreshInference("pause").orElseThrow();
            signal(paused, "STOP");
            Map<String, Object> settings = kafka.clientConfig();
            settings.put(InferenceConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 300);
            LocalInference successor;
            try {
                await().atMost(90, TimeUnit.SECONDS)
                        .pollInterval(Duration.ofMillis(200))
                        .until(() -> !InferenceLiveness.alive(
                                registry, registry.inference("pause").orElseThrow(), Duration.ZERO));
                successor = LocalInference.start(
                        registry,
                        settings,
                        "pause",
                        InferenceSpec.builder(tiny, "pause-in", "pause-out-2").build());
            } finally {
                signal(paused, "CONT");
            }
            // inputs right after the resume: its consumers may rejoin the group and be assigned a partition before it
            // learns that it lost the deployment, but its replicas write nothing once its lease has passed unconfirmed
            send(kafka.clientConfig(), "pause-in", 0, 200);
            try (successor) {
                assertThat(successor.isOwner()).isTrue();
                assertThat(successor.generation()).isEqualTo(before.generation() + 1);
                // the resumed owner sees another owner at its next heartbeat: it stops serving, writing nothing
                assertThat(paused.waitFor(60, TimeUnit.SECONDS))
                        .as(Files.readString(log))
                        .isTrue();
                assertThat(paused.exitValue()).as(Files.readString(log)).isEqualTo(1);
                assertThat(Files.readString(log)).contains("no longer owns the deployment");
                Inference now = registry.inference("pause").orElseThrow();
                assertThat(now.status()).isEqualTo("RUNNING");
                assertThat(now.owner()).startsWith(successor.instanceId() + "/");
                assertThat(now.outputTopic()).isEqualTo("pause-out-2");
                Instant beat = now.heartbeatAt();
                await().atMost(30, TimeUnit.SECONDS)
                        .until(() -> !Objects.equals(
                                registry.inference("pause").orElseThrow().heartbeatAt(), beat));
                assertThat(keys(read(kafka.clientConfig(), "pause-out-2", 200, false)))
                        .hasSize(200);
                assertThat(written(kafka.clientConfig(), "pause-out"))
                        .as("the resumed old owner wrote nothing: " + Files.readString(log))
                        .isZero();
            }
            assertThat(registry.inference("pause").orElseThrow().status()).isEqualTo("STOPPED");
        } finally {
            paused.destroyForcibly();
        }
    }

    /** {@link #quickLiveness} plus this process's instance id. */
    static Path quickLiveness(Path dir, String instanceId) throws Exception {
        Path config = dir.resolve("liveness-" + instanceId + ".properties");
        Files.writeString(
                config,
                Files.readString(quickLiveness(dir)) + InferenceConfig.INSTANCE_ID_CONFIG + "=" + instanceId + "\n");
        return config;
    }

    @Test
    void aJoinerTakesOverFromASigkilledOwnerAndServesOnAsTheNewGenerationsOwner(
            EmbeddedKafkaBroker kafka, @TempDir Path dir) throws Exception {
        kafka.createTopic("orphan-in", 2);
        String[] work = {
            "--result", tiny, "--input-topic", "orphan-in", "--output-topic", "orphan-out", "--id", "orphan"
        };
        Path ownerLog = dir.resolve("orphan-owner.log");
        Path joinerLog = dir.resolve("orphan-joiner.log");
        List<String> ownerArgs = new ArrayList<>(List.of(work));
        ownerArgs.addAll(List.of("--config", quickLiveness(dir, "first").toString()));
        Process owner = infer(ownerLog, kafka.bootstrapServers(), ownerArgs.toArray(String[]::new));
        Process joiner = null;
        try (Registry registry = Registry.connect(kafka.clientConfig(), PREFIX, Duration.ofSeconds(30))) {
            awaitLog(ownerLog, "serving", 60);
            Inference owned = registry.refreshInference("orphan").orElseThrow();
            assertThat(owned.owner()).startsWith("first/");
            List<String> joinerArgs = new ArrayList<>(List.of(work));
            joinerArgs.addAll(List.of("--config", quickLiveness(dir, "second").toString()));
            joiner = infer(joinerLog, kafka.bootstrapServers(), joinerArgs.toArray(String[]::new));
            awaitLog(joinerLog, "serving", 60);
            assertThat(registry.refreshInference("orphan").orElseThrow().generation())
                    .as("the second process joined the first's generation")
                    .isEqualTo(owned.generation());
            send(kafka.clientConfig(), "orphan-in", 0, 20);
            assertThat(keys(read(kafka.clientConfig(), "orphan-out", 20, false)))
                    .hasSize(20);

            owner.destroyForcibly(); // SIGKILL: no chance to hand over
            assertThat(owner.waitFor(30, TimeUnit.SECONDS)).isTrue();
            // lease 900 ms, the killed owner's consumers expire after their 6 s session: then the joiner claims
            await().atMost(30, TimeUnit.SECONDS)
                    .pollInterval(Duration.ofMillis(200))
                    .until(() ->
                            registry.refreshInference("orphan").orElseThrow().generation() > owned.generation());
            Inference taken = registry.refreshInference("orphan").orElseThrow();
            assertThat(taken.generation()).isEqualTo(owned.generation() + 1);
            assertThat(taken.owner()).as(Files.readString(joinerLog)).startsWith("second/");
            assertThat(taken.status()).isEqualTo("RUNNING");
            assertThat(Files.readString(joinerLog)).contains("shows no sign of life");
            // the new owner beats: the record is live again, not a lie
            await().atMost(30, TimeUnit.SECONDS)
                    .until(() -> !Objects.equals(
                            registry.refreshInference("orphan").orElseThrow().heartbeatAt(), taken.heartbeatAt()));
            assertThat(InferenceLiveness.alive(
                            registry, registry.inference("orphan").orElseThrow(), Duration.ZERO))
                    .isTrue();
            send(kafka.clientConfig(), "orphan-in", 20, 20);
            assertThat(keys(read(kafka.clientConfig(), "orphan-out", 40, false)))
                    .as(Files.readString(joinerLog))
                    .containsAll(java.util.stream.IntStream.range(0, 40)
                            .mapToObj(String::valueOf)
                            .toList());
            assertThat(joiner.isAlive()).isTrue();
        } finally {
            owner.destroyForcibly();
            if (joiner != null) {
                joiner.destroyForcibly();
            }
        }
    }

    @Test
    void sigtermWithTheBrokerGoneExitsWithinTheShutdownGrace(@TempDir Path dir) throws Exception {
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().build().start()) {
            String result = registerResult(
                    broker.clientConfig(),
                    "lonely",
                    new NeuralNetConfiguration.Builder()
                            .seed(2)
                            .list()
                            .layer(new OutputLayer.Builder(LossFunction.MSE)
                                    .nIn(2)
                                    .nOut(1)
                                    .activation(Activation.IDENTITY)
                                    .build())
                            .build(),
                    2);
            broker.createTopic("lonely-in", 1);
            Path log = dir.resolve("infer.log");
            Process infer = infer(
                    log,
                    broker.bootstrapServers(),
                    "--result",
                    result,
                    "--input-topic",
                    "lonely-in",
                    "--output-topic",
                    "lonely-out",
                    "--id",
                    "lonely",
                    "--exactly-once",
                    "--shutdown-grace-ms",
                    "5000");
            try {
                send(broker.clientConfig(), "lonely-in", 0, 10);
                assertThat(read(broker.clientConfig(), "lonely-out", 10, true)).hasSize(10);
                broker.close();
                infer.destroy(); // SIGTERM
                // the grace (5 s) bounds the stop; the margin is for a busy machine, not a timing assertion
                assertThat(infer.waitFor(30, TimeUnit.SECONDS))
                        .as("exited within 30 s: " + Files.readString(log))
                        .isTrue();
                assertThat(infer.exitValue()).as(Files.readString(log)).isZero();
                assertThat(Files.readString(log)).contains("stopped lonely");
            } finally {
                infer.destroyForcibly();
            }
        }
    }

    @Test
    void twoExactlyOnceProcessesShareADeploymentWithoutFencingEachOther(EmbeddedKafkaBroker kafka, @TempDir Path dir)
            throws Exception {
        kafka.createTopic("shared-in", 4);
        Path log1 = dir.resolve("infer-1.log");
        Path log2 = dir.resolve("infer-2.log");
        String[] args = {
            "--result",
            tiny,
            "--input-topic",
            "shared-in",
            "--output-topic",
            "shared-out",
            "--id",
            "shared",
            "--exactly-once"
        };
        Process first = infer(log1, kafka.bootstrapServers(), args);
        Process second = infer(log2, kafka.bootstrapServers(), args);
        try {
            awaitLog(log1, "serving", 60);
            awaitLog(log2, "serving", 60);
            int n = 4000;
            send(kafka.clientConfig(), "shared-in", 0, n / 2);
            await().atMost(60, TimeUnit.SECONDS)
                    .until(() -> kafka.admin()
                                    .describeConsumerGroups(List.of("kafkaml-inference-shared"))
                                    .all()
                                    .get()
                                    .get("kafkaml-inference-shared")
                                    .members()
                                    .size()
                            == 2);
            send(kafka.clientConfig(), "shared-in", n / 2, n / 2);
            List<ConsumerRecord<byte[], byte[]>> outputs = read(kafka.clientConfig(), "shared-out", n, true);
            assertThat(outputs)
                    .as("each prediction once for a read_committed reader")
                    .hasSize(n);
            assertThat(keys(outputs)).hasSize(n);
            first.destroy();
            second.destroy();
            assertThat(first.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(second.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(first.exitValue()).as(Files.readString(log1)).isZero();
            assertThat(second.exitValue()).as(Files.readString(log2)).isZero();
            assertThat(Files.readString(log1) + Files.readString(log2))
                    .doesNotContain("Fenced")
                    .doesNotContain("restart");
            assertThat(handled(log1) + handled(log2)).isGreaterThanOrEqualTo(n);
        } finally {
            first.destroyForcibly();
            second.destroyForcibly();
        }
    }

    @Test
    void aProcessPausedPastItsSessionTimeoutDropsItsLostPartitionsWithoutACommitAndServesOn(
            EmbeddedKafkaBroker kafka, @TempDir Path dir) throws Exception {
        kafka.createTopic("paused-in", 2);
        Path config = dir.resolve("client.properties");
        Files.writeString(config, "consumer.session.timeout.ms=6000\nconsumer.heartbeat.interval.ms=500\n");
        Path logA = dir.resolve("infer-a.log");
        Path logB = dir.resolve("infer-b.log");
        String[] args = {
            "--result",
            tiny,
            "--input-topic",
            "paused-in",
            "--output-topic",
            "paused-out",
            "--id",
            "paused",
            "--config",
            config.toString()
        };
        Process a = infer(logA, kafka.bootstrapServers(), args);
        Process b = infer(logB, kafka.bootstrapServers(), args);
        String group = "kafkaml-inference-paused";
        try {
            awaitLog(logA, "serving", 60);
            awaitLog(logB, "serving", 60);
            await().atMost(60, TimeUnit.SECONDS)
                    .until(() -> kafka.admin()
                                    .describeConsumerGroups(List.of(group))
                                    .all()
                                    .get()
                                    .get(group)
                                    .members()
                                    .size()
                            == 2);
            send(kafka.clientConfig(), "paused-in", 0, 200);
            assertThat(keys(read(kafka.clientConfig(), "paused-out", 200, false)))
                    .hasSize(200);
            signal(a, "STOP");
            try {
                // the group expels the paused member once its session times out; B takes its partitions
                await().atMost(60, TimeUnit.SECONDS)
                        .until(() -> kafka.admin()
                                        .describeConsumerGroups(List.of(group))
                                        .all()
                                        .get()
                                        .get(group)
                                        .members()
                                        .size()
                                == 1);
                send(kafka.clientConfig(), "paused-in", 200, 200);
                assertThat(keys(read(kafka.clientConfig(), "paused-out", 400, false)))
                        .hasSize(400);
            } finally {
                signal(a, "CONT");
            }
            awaitLog(logA, "Lost partitions", 60);
            await().atMost(60, TimeUnit.SECONDS)
                    .until(() -> kafka.admin()
                                    .describeConsumerGroups(List.of(group))
                                    .all()
                                    .get()
                                    .get(group)
                                    .members()
                                    .size()
                            == 2);
            send(kafka.clientConfig(), "paused-in", 400, 200);
            assertThat(keys(read(kafka.clientConfig(), "paused-out", 600, false)))
                    .hasSize(600);
            b.destroy();
            assertThat(b.waitFor(30, TimeUnit.SECONDS)).isTrue();
            a.destroy();
            assertThat(a.waitFor(30, TimeUnit.SECONDS)).isTrue();
            String outputA = Files.readString(logA);
            assertThat(a.exitValue()).as(outputA).isZero();
            assertThat(b.exitValue()).as(Files.readString(logB)).isZero();
            // Lost partitions are dropped without a commit (Kafka's default would call onPartitionsRevoked, which
            // commits with the lost generation). An asynchronous commit sent before the consumer learned of the loss
            // may fail; it is only logged. Either way no replica is lost.
            assertThat(outputA)
                    .as("lost partitions dropped, no commit for them, no replica lost")
                    .contains("Lost partitions")
                    .doesNotContain("Could not commit revoked partitions")
                    .doesNotContain("User rebalance callback")
                    .doesNotContain("restart")
                    .doesNotContain("FAILED");
            long committed = kafka
                    .admin()
                    .listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata()
                    .get(30, TimeUnit.SECONDS)
                    .values()
                    .stream()
                    .mapToLong(o -> o.offset())
                    .sum();
            assertThat(committed).as(outputA + Files.readString(logB)).isEqualTo(600);
        } finally {
            a.destroyForcibly();
            b.destroyForcibly();
        }
    }

    @Test
    void aFailedDeploymentEndsTheProcessWithExitCodeOneAndTheReason(EmbeddedKafkaBroker kafka, @TempDir Path dir)
            throws Exception {
        Path wide = Path.of(System.getProperty("kafkaml.shared.cases"), "oversized-prediction", "wide-regression.json");
        String result = registerResult(
                kafka.clientConfig(), "wide", MultiLayerConfiguration.fromJson(Files.readString(wide)), 3);
        kafka.createTopic("wide-in", 1);
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(kafka.clientConfig(), new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>("wide-in", bytes("0"), bytes("[1,2,3]")))
                    .get(30, TimeUnit.SECONDS);
        }
        Path config = dir.resolve("client.properties");
        Files.writeString(config, "producer.max.request.size=1024\n");
        Path log = dir.resolve("infer.log");
        Process infer = infer(
                log,
                kafka.bootstrapServers(),
                "--result",
                result,
                "--input-topic",
                "wide-in",
                "--output-topic",
                "wide-out",
                "--id",
                "wide",
                "--config",
                config.toString());
        try {
            assertThat(infer.waitFor(90, TimeUnit.SECONDS))
                    .as(Files.readString(log))
                    .isTrue();
            String output = Files.readString(log);
            assertThat(infer.exitValue()).as(output).isEqualTo(1);
            assertThat(output)
                    .contains("inference wide FAILED")
                    .contains("wide-in-0@0")
                    .contains("max.request.size");
            try (Registry registry = Registry.connect(kafka.clientConfig(), PREFIX, Duration.ofSeconds(30))) {
                assertThat(registry.inference("wide").orElseThrow().status()).isEqualTo("FAILED");
            }
            // the same id may be started again once it is no longer RUNNING; another result is refused while it is
            Path again = dir.resolve("again.log");
            Process running = infer(
                    again,
                    kafka.bootstrapServers(),
                    "--result",
                    tiny,
                    "--input-topic",
                    "wide-in-2",
                    "--output-topic",
                    "wide-out-2",
                    "--id",
                    "wide");
            try {
                awaitLog(again, "serving", 60);
                Path refused = dir.resolve("refused.log");
                Process other = infer(
                        refused,
                        kafka.bootstrapServers(),
                        "--result",
                        result,
                        "--input-topic",
                        "wide-in",
                        "--output-topic",
                        "wide-out",
                        "--id",
                        "wide");
                assertThat(other.waitFor(60, TimeUnit.SECONDS)).isTrue();
                assertThat(other.exitValue()).isEqualTo(1);
                assertThat(Files.readString(refused))
                        .contains("kafkaml infer: Inference deployment 'wide' is RUNNING " + "result " + tiny
                                + " (its trained model) from wide-in-2 to wide-out-2; this start asks for " + result
                                + " (its trained model) from wide-in to wide-out: stop it first or choose another id");
            } finally {
                running.destroy();
                running.waitFor(30, TimeUnit.SECONDS);
            }
        } finally {
            infer.destroyForcibly();
        }
    }

    static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
