package io.kafkaml;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.kafkaml.inference.InferenceSpec;
import io.kafkaml.inference.LocalInference;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.EpochMetrics;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.sink.RecordDataSink;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import io.kafkaml.training.TrainingListener;
import io.kafkaml.training.TrainingSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
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
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/** The whole pipeline through {@link KafkaMl} on the in-process broker, with real training and serving. */
@ExtendWith(EmbeddedKafkaExtension.class)
class KafkaMlIT {

    private static final int EPOCHS = 15;

    static ModelDefinition mlp(String name) {
        return ModelDefinition.of(
                name,
                "",
                new NeuralNetConfiguration.Builder()
                        .seed(1)
                        .updater(new Adam(0.05))
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
                        .build());
    }

    private static Map<String, Object> settings(EmbeddedKafkaBroker kafka, String prefix) {
        Map<String, Object> settings = new HashMap<>(kafka.clientConfig());
        settings.put("kafkaml.registry.prefix", prefix);
        settings.put("kafkaml.control.topic", prefix + "-control");
        settings.put("producer.linger.ms", "1");
        return settings;
    }

    /** Collects what a {@link Flow.Publisher} publishes until it completes. */
    static final class Collector implements Flow.Subscriber<TrainingProgress> {
        final List<TrainingProgress> items = new CopyOnWriteArrayList<>();
        final CountDownLatch completed = new CountDownLatch(1);
        volatile Throwable error;

        @Override
        public void onSubscribe(Flow.Subscription subscription) {
            subscription.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(TrainingProgress item) {
            items.add(item);
        }

        @Override
        public void onError(Throwable throwable) {
            error = throwable;
            completed.countDown();
        }

        @Override
        public void onComplete() {
            completed.countDown();
        }
    }

    @Test
    void registerConfigureTrainSendResultsExportServePredictAndCloseInOrder(
            EmbeddedKafkaBroker kafka, @TempDir Path dir) throws Exception {
        kafka.createTopic("facade-data", 2);
        KafkaMl ml = KafkaMl.connect(settings(kafka, "facade"));
        assertThat(ml.state()).isEqualTo(KafkaMl.State.RUNNING);

        ml.models().register(mlp("mlp"));
        ml.configurations().create("mlp-only", "mlp");
        Training training = ml.train(
                "mlp-only",
                TrainingSpec.builder().batchSize(32).epochs(EPOCHS).seed(3).build());
        List<EpochMetrics> heard = new CopyOnWriteArrayList<>();
        List<TrainingResult> finished = new CopyOnWriteArrayList<>();
        training.addListener(new TrainingListener() {
            @Override
            public void onEpoch(String deploymentId, String model, EpochMetrics metrics, int totalEpochs) {
                assertThat(deploymentId).isEqualTo(training.deploymentId());
                heard.add(metrics);
            }

            @Override
            public void onResult(TrainingResult result) {
                finished.add(result);
            }
        });
        Collector progress = new Collector();
        training.progress().subscribe(progress);
        assertThat(training.status()).isEqualTo(DeploymentStatus.WAITING_FOR_DATA);

        Random random = new Random(11);
        try (RecordDataSink sink = ml.sink()
                .format("JSON")
                .inputConfig(Map.of("data_reshape", "2"))
                .topic("facade-data")
                .deploymentId(training.deploymentId())
                .testRate(0.25)
                .build()) {
            for (int i = 0; i < 400; i++) {
                sink.send(new double[] {i % 2 * 4 + random.nextGaussian(), random.nextGaussian()}, i % 2);
            }
        }

        assertThat(training.await(Duration.ofMinutes(3))).contains(DeploymentStatus.FINISHED);
        String resultId = training.deploymentId() + ".mlp";
        TrainingResult result = ml.results().get(resultId).orElseThrow();
        assertThat(result.status()).isEqualTo(DeploymentStatus.FINISHED);
        assertThat(result.testMetrics().get("accuracy")).isGreaterThan(0.9); // classes 4 standard deviations apart
        assertThat(ml.results().of(training.deploymentId()))
                .extracting(TrainingResult::id)
                .containsExactly(resultId);

        // live: the listener heard every epoch in order; the publisher published the same and completed
        assertThat(heard)
                .extracting(EpochMetrics::epoch)
                .containsExactlyElementsOf(
                        IntStream.rangeClosed(1, EPOCHS).boxed().toList());
        assertThat(progress.completed.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(progress.error).isNull();
        assertThat(progress.items).extracting(TrainingProgress::metrics).containsExactlyElementsOf(heard);
        assertThat(progress.items).allSatisfy(p -> assertThat(p.resultId()).isEqualTo(resultId));
        assertThat(finished).extracting(TrainingResult::status).containsExactly(DeploymentStatus.FINISHED);
        // history: the registry's metrics topic holds the same epochs
        assertThat(ml.results().epochs(resultId)).containsExactlyElementsOf(heard);

        // export: a file DL4J restores, giving class probabilities
        Path file = dir.resolve("mlp.zip");
        assertThat(ml.results().export(resultId, file)).isPositive();
        MultiLayerNetwork restored = ModelSerializer.restoreMultiLayerNetwork(file.toFile());
        assertThat(restored.output(Nd4j.create(new double[][] {{4, 0}}))
                        .sumNumber()
                        .doubleValue())
                .isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-4));

        // the control logger cataloged the stream
        await().atMost(Duration.ofSeconds(30))
                .until(() -> ml.datasources().list().stream()
                        .anyMatch(d -> d.deploymentId().equals(training.deploymentId())));
        String datasource = ml.datasources().list().stream()
                .filter(d -> d.deploymentId().equals(training.deploymentId()))
                .findFirst()
                .orElseThrow()
                .id();
        assertThat(ml.datasources().availability(datasource).available()).isTrue();

        // serve and predict
        kafka.createTopic("facade-in", 2);
        kafka.createTopic("facade-out", 1);
        LocalInference serving = ml.serve(InferenceSpec.builder(resultId, "facade-in", "facade-out")
                .replicas(2)
                .build());
        int inputs = 20;
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(
                ml.config().producerConfig(), new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = 0; i < inputs; i++) {
                String value = "[" + (i % 2 * 4) + ", 0]";
                producer.send(new ProducerRecord<>("facade-in", bytes("k" + i), bytes(value)))
                        .get(30, TimeUnit.SECONDS);
            }
        }
        List<ConsumerRecord<byte[], byte[]>> predictions = read(ml, "facade-out", inputs);
        assertThat(predictions).hasSize(inputs);
        for (ConsumerRecord<byte[], byte[]> prediction : predictions) {
            int i = Integer.parseInt(new String(prediction.key(), StandardCharsets.UTF_8).substring(1));
            assertThat(new String(prediction.value(), StandardCharsets.UTF_8)).contains("\"class\":" + (i % 2));
            assertThat(new String(
                            prediction.headers().lastHeader("kafkaml.result").value(), StandardCharsets.UTF_8))
                    .isEqualTo(resultId);
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> serving.stats().recordsOut() == inputs);

        ml.close();
        assertThat(ml.state()).isEqualTo(KafkaMl.State.CLOSED);
        assertThat(serving.state()).isEqualTo(LocalInference.State.STOPPED);
        assertThatThrownBy(ml::models).isInstanceOf(IllegalStateException.class).hasMessageContaining("CLOSED");
        ml.close(); // idempotent
    }

    @Test
    void cancellingAWaitingDeploymentRecordsCancelledAndCompletesItsProgress(EmbeddedKafkaBroker kafka)
            throws Exception {
        try (KafkaMl ml = KafkaMl.builder(settings(kafka, "facade-cancel"))
                .controlLogger(false)
                .build()
                .start()) {
            ml.models().register(mlp("mlp"));
            ml.configurations().create("c", "mlp");
            Training training = ml.train("c", TrainingSpec.builder().epochs(5).build(), "waits-1");
            Collector progress = new Collector();
            training.progress().subscribe(progress);

            training.cancel();

            assertThat(training.await(Duration.ofSeconds(60))).contains(DeploymentStatus.CANCELLED);
            assertThat(progress.completed.await(30, TimeUnit.SECONDS)).isTrue();
            assertThat(progress.items).isEmpty();
            assertThat(training.status()).isEqualTo(DeploymentStatus.CANCELLED);
            Collector late = new Collector();
            training.progress().subscribe(late);
            assertThat(late.completed.await(10, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void withALauncherWhoseRunnersReportNothingHereEpochsAreReadFromTheMetricsTopicAndTheRegistryEndsTheStream(
            EmbeddedKafkaBroker kafka) throws Exception {
        // as a launcher that runs its runners elsewhere (Kubernetes Jobs): no events reach this JVM
        try (KafkaMl ml = KafkaMl.builder(settings(kafka, "facade-remote"))
                .controlLogger(false)
                .launcher((registry, config, listener) ->
                        new io.kafkaml.training.LocalTrainingLauncher(registry, config.originals(), 1, null))
                .build()
                .start()) {
            ml.models().register(mlp("mlp"));
            ml.configurations().create("c", "mlp");
            Training training =
                    ml.train("c", TrainingSpec.builder().batchSize(32).epochs(3).build());
            List<EpochMetrics> heard = new CopyOnWriteArrayList<>();
            training.addListener(new TrainingListener() {
                @Override
                public void onEpoch(String deploymentId, String model, EpochMetrics metrics, int totalEpochs) {
                    heard.add(metrics);
                }
            });
            Collector progress = new Collector();
            training.progress().subscribe(progress);
            kafka.createTopic("facade-remote-data", 1);
            try (RecordDataSink sink = ml.sink()
                    .format("JSON")
                    .inputConfig(Map.of("data_reshape", "2"))
                    .topic("facade-remote-data")
                    .deploymentId(training.deploymentId())
                    .testRate(0.25)
                    .build()) {
                for (int i = 0; i < 64; i++) {
                    sink.send(new double[] {i % 2 * 4, 0}, i % 2);
                }
            }

            assertThat(training.await(Duration.ofMinutes(2))).contains(DeploymentStatus.FINISHED);
            assertThat(progress.completed.await(30, TimeUnit.SECONDS))
                    .as("completed from the registry")
                    .isTrue();
            // read from the metrics topic as it grew: each epoch once, in order, as the history has them
            List<EpochMetrics> history = ml.results().epochs(training.deploymentId() + ".mlp");
            assertThat(history).extracting(EpochMetrics::epoch).containsExactly(1, 2, 3);
            assertThat(heard).isEqualTo(history);
            assertThat(progress.items).extracting(TrainingProgress::metrics).isEqualTo(history);
            assertThat(progress.items).extracting(TrainingProgress::totalEpochs).containsOnly(3);
        }
    }

    @Test
    void closingStopsTrainingThatStillWaitsAndTheRegistryRecordsIt(EmbeddedKafkaBroker kafka) {
        Map<String, Object> settings = settings(kafka, "facade-close");
        Training training;
        try (KafkaMl ml = KafkaMl.connect(settings)) {
            ml.models().register(mlp("mlp"));
            ml.configurations().create("c", "mlp");
            training = ml.train("c", TrainingSpec.builder().epochs(5).build());
        }
        try (KafkaMl again =
                KafkaMl.builder(settings).controlLogger(false).build().start()) {
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> again.registry()
                            .deployment(training.deploymentId())
                            .orElseThrow()
                            .status()
                            .isTerminal());
            assertThat(again.registry()
                            .deployment(training.deploymentId())
                            .orElseThrow()
                            .status())
                    .isEqualTo(DeploymentStatus.CANCELLED);
        }
    }

    private static List<ConsumerRecord<byte[], byte[]>> read(KafkaMl ml, String topic, int count) {
        Map<String, Object> config = ml.config().consumerConfig();
        config.put(ConsumerConfig.GROUP_ID_CONFIG, "reader-" + topic);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            await().atMost(Duration.ofSeconds(60)).until(() -> {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
                return records.size() >= count;
            });
        }
        return records;
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
