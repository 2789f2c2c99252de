package io.kafkaml;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.EpochMetrics;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.sink.RecordDataSink;
import io.kafkaml.testing.InMemoryKafka;
import io.kafkaml.training.LocalTrainingLauncher;
import io.kafkaml.training.TrainingListener;
import io.kafkaml.training.TrainingSpec;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A {@link Training}'s live progress with no broker ({@link KafkaMl.Builder#clientSupplier} on an in-memory log):
 * from runners that report in this JVM, and from runners that report nothing here (as Kubernetes Jobs), whose epochs
 * are read from the metrics topic as it grows.
 */
class KafkaMlProgressTest {

    private static final int EPOCHS = 4;

    private final InMemoryKafka kafka = new InMemoryKafka();

    /** Everything a listener heard. */
    static final class Heard implements TrainingListener {
        final List<String> epochs = new CopyOnWriteArrayList<>();
        final List<EpochMetrics> metrics = new CopyOnWriteArrayList<>();
        final List<DeploymentStatus> statuses = new CopyOnWriteArrayList<>();
        final List<TrainingResult> results = new CopyOnWriteArrayList<>();

        @Override
        public void onEpoch(String deploymentId, String model, EpochMetrics epoch, int totalEpochs) {
            epochs.add(model + " " + epoch.epoch() + "/" + totalEpochs);
            metrics.add(epoch);
        }

        @Override
        public void onDeploymentStatus(String deploymentId, DeploymentStatus status, String error) {
            statuses.add(status);
        }

        @Override
        public void onResult(TrainingResult result) {
            results.add(result);
        }
    }

    private KafkaMl.Builder builder() {
        return KafkaMl.builder(Map.of(
                        "bootstrap.servers", "in-memory:9092",
                        "kafkaml.registry.prefix", "progress",
                        "kafkaml.control.topic", "progress-control"))
                .clientSupplier(kafka)
                .controlLogger(false)
                .registryTimeout(Duration.ofSeconds(10));
    }

    /** Trains the facade's two-input classifier and returns what a listener and a subscriber added at once heard. */
    private Heard trainAndListen(KafkaMl ml, KafkaMlIT.Collector progress) throws Exception {
        ml.models().register(KafkaMlIT.mlp("mlp"));
        ml.configurations().create("c", "mlp");
        Training training = ml.train(
                "c", TrainingSpec.builder().batchSize(16).epochs(EPOCHS).build());
        Heard heard = new Heard();
        training.addListener(heard);
        training.progress().subscribe(progress);
        try (RecordDataSink sink = ml.sink()
                .format("JSON")
                .inputConfig(Map.of("data_reshape", "2"))
                .topic("points")
                .deploymentId(training.deploymentId())
                .testRate(0.25)
                .build()) {
            for (int i = 0; i < 64; i++) {
                sink.send(new double[] {i % 2 * 4, 1}, i % 2);
            }
        }
        assertThat(training.await(Duration.ofMinutes(2))).contains(DeploymentStatus.FINISHED);
        assertThat(progress.completed.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(progress.error).isNull();
        // every epoch once, in order, as the registry's history has them
        assertThat(heard.epochs).containsExactly("mlp 1/4", "mlp 2/4", "mlp 3/4", "mlp 4/4");
        assertThat(heard.metrics).isEqualTo(ml.results().epochs(training.deploymentId() + ".mlp"));
        assertThat(progress.items).extracting(TrainingProgress::metrics).isEqualTo(heard.metrics);
        assertThat(heard.results).extracting(TrainingResult::status).containsExactly(DeploymentStatus.FINISHED);
        return heard;
    }

    @Test
    void runnersThatReportNothingHereAreFollowedThroughTheMetricsTopic() throws Exception {
        // as a launcher of Kubernetes Jobs: its runners hand their events to no listener of this JVM
        try (KafkaMl ml = builder()
                .launcher((registry, config, listener) ->
                        new LocalTrainingLauncher(registry, config.originals(), 1, null, kafka))
                .build()
                .start()) {
            KafkaMlIT.Collector progress = new KafkaMlIT.Collector();
            Heard heard = trainAndListen(ml, progress);
            // the statuses the registry showed when it was read: each once, ending FINISHED
            assertThat(heard.statuses).doesNotHaveDuplicates().last().isEqualTo(DeploymentStatus.FINISHED);
        }
    }

    /** A launcher that only records (as one creating Kubernetes Jobs): the test writes what a worker would. */
    private static io.kafkaml.training.TrainingLauncher recordOnly(io.kafkaml.registry.Registry registry) {
        return new io.kafkaml.training.TrainingLauncher() {
            @Override
            public io.kafkaml.training.TrainingHandle launch(io.kafkaml.training.TrainingJob job) {
                return new io.kafkaml.training.TrainingHandle() {
                    @Override
                    public String deploymentId() {
                        return job.deploymentId();
                    }

                    @Override
                    public void cancel() {}

                    @Override
                    public java.util.Optional<DeploymentStatus> await(Duration timeout) {
                        return registry.awaitTerminal(job.deploymentId(), timeout)
                                .map(io.kafkaml.registry.Deployment::status);
                    }
                };
            }

            @Override
            public void close() {}
        };
    }

    private static EpochMetrics epoch(int n) {
        return new EpochMetrics(n, 1.0 / n, Map.of("accuracy", 0.5 + n / 10.0), 5L * n);
    }

    /** The summary a worker writes: its status, how many epochs, where its run starts (and ends) in the topic. */
    private static TrainingResult summary(
            String deploymentId,
            DeploymentStatus status,
            int epochs,
            io.kafkaml.registry.MetricsPosition start,
            io.kafkaml.registry.MetricsPosition end) {
        return new TrainingResult(
                deploymentId + ".mlp",
                deploymentId,
                "mlp",
                status,
                List.of(),
                Map.of(),
                null,
                0,
                null,
                null,
                null,
                java.time.Instant.now(),
                epochs,
                epoch(epochs),
                epoch(epochs),
                start,
                end);
    }

    @Test
    void aWorkerElsewhereIsFollowedAsItsMetricsGrowAcrossARestartUntilItEnds() throws Exception {
        try (KafkaMl ml = builder()
                .launcher((registry, config, listener) -> recordOnly(registry))
                .build()
                .start()) {
            ml.models().register(KafkaMlIT.mlp("mlp"));
            ml.configurations().create("c", "mlp");
            Training training = ml.train("c", TrainingSpec.builder().epochs(3).build());
            Heard heard = new Heard();
            training.addListener(heard);
            KafkaMlIT.Collector progress = new KafkaMlIT.Collector();
            training.progress().subscribe(progress);
            io.kafkaml.registry.Registry registry = ml.registry();
            String id = training.deploymentId();
            String resultId = id + ".mlp";

            // the worker's first run: two epochs, then its summary (as a runner writes one at most once a second)
            var start = registry.appendEpoch(resultId, "run-1", epoch(1)).join();
            registry.appendEpoch(resultId, "run-1", epoch(2)).join();
            registry.putResult(summary(id, DeploymentStatus.TRAINING, 2, start, null));
            // the epochs are told before the status the same record change brings: await both
            org.awaitility.Awaitility.await()
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> heard.epochs.size() == 2
                            && !heard.statuses.isEmpty()
                            && heard.statuses.get(heard.statuses.size() - 1) == DeploymentStatus.TRAINING);
            assertThat(heard.epochs).containsExactly("mlp 1/3", "mlp 2/3"); // live: the training has not ended
            assertThat(heard.statuses).last().isEqualTo(DeploymentStatus.TRAINING);
            assertThat(progress.completed.getCount()).isEqualTo(1);

            // Kubernetes restarts the worker: a new run, from epoch 1, to the end
            var restart = registry.appendEpoch(resultId, "run-2", epoch(1)).join();
            registry.putResult(summary(id, DeploymentStatus.TRAINING, 1, restart, null));
            registry.appendEpoch(resultId, "run-2", epoch(2)).join();
            var last = registry.appendEpoch(resultId, "run-2", epoch(3)).join();
            registry.putResult(summary(id, DeploymentStatus.FINISHED, 3, restart, last));

            assertThat(training.await(Duration.ofSeconds(30))).contains(DeploymentStatus.FINISHED);
            assertThat(progress.completed.await(30, TimeUnit.SECONDS)).isTrue();
            assertThat(heard.epochs).containsExactly("mlp 1/3", "mlp 2/3", "mlp 1/3", "mlp 2/3", "mlp 3/3");
            assertThat(progress.items).extracting(TrainingProgress::metrics).isEqualTo(heard.metrics);
            assertThat(heard.results).extracting(TrainingResult::status).containsExactly(DeploymentStatus.FINISHED);
            assertThat(heard.statuses).doesNotHaveDuplicates().last().isEqualTo(DeploymentStatus.FINISHED);
        }
    }

    @Test
    void runnersInThisJvmReportEachEpochOnceThoughTheRegistryChangesToo() throws Exception {
        try (KafkaMl ml = builder().build().start()) {
            KafkaMlIT.Collector progress = new KafkaMlIT.Collector();
            Heard heard = trainAndListen(ml, progress);
            assertThat(heard.statuses).doesNotHaveDuplicates().last().isEqualTo(DeploymentStatus.FINISHED);
        }
        assertThat(kafka.openClients()).isZero();
    }
}
