package io.kafkaml.cli;

import io.kafkaml.KafkaMl;
import io.kafkaml.Training;
import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.EpochMetrics;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.training.Normalization;
import io.kafkaml.training.TrainingListener;
import io.kafkaml.training.TrainingSpec;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kafkaml train}: deploys a configuration for training and trains it in this process, waiting for its data
 * stream (send it with {@code kafkaml send} or any Kafka-ML sink, before or after).
 */
@Command(
        name = "train",
        mixinStandardHelpOptions = true,
        description = {
            "Deploy a configuration for training and train it in this process.",
            "Prints the deployment id, then a progress line per model; ends when every model has a result."
        })
final class TrainCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ClientOptions client;

    @Option(names = "--configuration", required = true, paramLabel = "C", description = "The configuration to train")
    String configuration;

    @Option(names = "--deployment-id", paramLabel = "ID", description = "Default: the next numeric id")
    String deploymentId;

    @Option(names = "--batch-size", defaultValue = "10", description = "Default: ${DEFAULT-VALUE}")
    int batchSize;

    @Option(names = "--epochs", defaultValue = "100", description = "Default: ${DEFAULT-VALUE}")
    int epochs;

    @Option(names = "--shuffle", description = "Shuffle every epoch (seeded)")
    boolean shuffle;

    @Option(names = "--seed", defaultValue = "42", description = "Default: ${DEFAULT-VALUE}")
    long seed;

    @Option(
            names = "--split-order",
            paramLabel = "ORDER",
            defaultValue = "SHUFFLED",
            description = "How records are "
                    + "split by the stream's rates: SHUFFLED (seeded, round(N x rate) each) or KAFKA_ML (Kafka-ML's sizes and "
                    + "stream order: train, test, then validation). Default: ${DEFAULT-VALUE}")
    io.kafkaml.dataset.SplitOrder splitOrder;

    @Option(names = "--normalize", paramLabel = "standardize|min-max", description = "Feature normalization")
    String normalize;

    @Option(
            names = "--control-topic",
            paramLabel = "TOPIC",
            description = "The control topic (default: $KAFKAML_CONTROL_TOPIC, else KAFKA_ML_CONTROL_TOPIC)")
    String controlTopic;

    @Option(
            names = "--reuse-stream",
            description = "Also accept a data stream announced before this deployment was "
                    + "recorded (the newest one for its id); by default only streams sent after it count")
    boolean reuseStream;

    @Option(
            names = "--timeout",
            paramLabel = "DURATION",
            description = "How long to wait for the data, e.g. PT10M " + "(default: indefinitely)")
    Duration timeout;

    @Option(
            names = "--threshold",
            defaultValue = "0.5",
            paramLabel = "P",
            description =
                    "The probability from which "
                            + "a binary or multi-label (sigmoid) output counts as class 1 in evaluation; default: ${DEFAULT-VALUE}")
    double threshold;

    @picocli.CommandLine.ArgGroup(
            exclusive = false,
            heading = "Incremental training (used when the control message announces an unbounded topic, "
                    + "\"incremental\": true, as Kafka-ML's OnlineRawSink or send --online send it)%n")
    Incremental incremental = new Incremental();

    @Option(
            names = "--unsupervised-rounds",
            paramLabel = "N",
            description = "Semi-supervised (Kafka-ML): up to N rounds of "
                    + "pseudo-labels on the stream's unsupervised_topic (default: none)")
    Integer unsupervisedRounds;

    @Option(
            names = "--confidence",
            paramLabel = "P",
            defaultValue = "0.9",
            description =
                    "Semi-supervised: the least confidence of a pseudo-label, in (0, 1]; default: ${DEFAULT-VALUE}")
    double confidence;

    /** The incremental flags, mapped onto {@link io.kafkaml.training.IncrementalSpec}. */
    static final class Incremental {
        @Option(
                names = "--window-records",
                paramLabel = "N",
                defaultValue = "1000",
                description = "Records per window (0: by --window-time only); default: ${DEFAULT-VALUE}")
        int windowRecords = 1000;

        @Option(
                names = "--window-time",
                paramLabel = "DURATION",
                description = "The longest a window stays open after its first record, e.g. PT10S")
        Duration windowTime;

        @Option(
                names = "--stream-timeout",
                paramLabel = "DURATION",
                defaultValue = "PT30S",
                description = "No record for this long closes the window and ends the run (unless --indefinite); "
                        + "default: ${DEFAULT-VALUE}")
        Duration streamTimeout = io.kafkaml.training.IncrementalSpec.DEFAULT_STREAM_TIMEOUT;

        @Option(names = "--max-windows", paramLabel = "N", description = "End after N windows (default: no limit)")
        int maxWindows;

        @Option(
                names = "--indefinite",
                description = "Never end on a pause (Kafka-ML's stream_timeout -1); stop it with Ctrl-C")
        boolean indefinite;

        @Option(
                names = "--group-id",
                paramLabel = "GROUP",
                description = "The consumer group whose committed offsets record progress (default: "
                        + "kafkaml-incremental.<deployment>.<model>)")
        String groupId;

        @Option(
                names = "--monitoring-metric",
                paramLabel = "METRIC",
                defaultValue = "loss",
                description = "The hold-out metric promotion watches (Kafka-ML's monitoring_metric); "
                        + "default: ${DEFAULT-VALUE}")
        String monitoringMetric = "loss";

        @Option(
                names = "--change",
                paramLabel = "up|down",
                description = "The direction the metric improves in (default: down for loss, mse, mae, rmse; up "
                        + "otherwise)")
        String change;

        @Option(
                names = "--improvement",
                paramLabel = "X",
                defaultValue = "0",
                description = "The least change that promotes a new version; default: ${DEFAULT-VALUE}")
        double improvement;

        @Option(
                names = "--bad-records",
                paramLabel = "skip|fail",
                defaultValue = "skip",
                description = "A record of the unbounded stream that cannot be trained on: skip leaves it out (logged, "
                        + "counted, dead-lettered with --dead-letter-topic), fail ends the run; default: "
                        + "${DEFAULT-VALUE}")
        String badRecords = "skip";

        @Option(
                names = "--start-from",
                paramLabel = "control|earliest|latest",
                defaultValue = "control",
                description = "Where a new consumer group starts the stream's partitions: control, the records written "
                        + "since the control message (by timestamp: re-sent streams, event-time timestamps and "
                        + "producer clock skew lose records, logged at WARN); earliest, the whole topic; latest, only "
                        + "records written after the run starts; default: ${DEFAULT-VALUE}")
        String startFrom = "control";

        @Option(
                names = "--dead-letter-topic",
                paramLabel = "TOPIC",
                description = "Where skipped records of the unbounded stream are copied, with the reason in "
                        + "kafkaml.dlq.* headers (default: none)")
        String deadLetterTopic;

        io.kafkaml.dataset.BadRecordPolicy badRecordPolicy() {
            return switch (badRecords.toLowerCase(Locale.ROOT)) {
                case "skip" -> io.kafkaml.dataset.BadRecordPolicy.SKIP;
                case "fail" -> io.kafkaml.dataset.BadRecordPolicy.FAIL;
                default ->
                    throw new IllegalArgumentException("--bad-records must be skip or fail, was '" + badRecords + "'");
            };
        }

        io.kafkaml.training.IncrementalSpec toSpec() {
            io.kafkaml.training.PromotionPolicy.Direction direction = change != null
                    ? io.kafkaml.training.PromotionPolicy.Direction.of(change)
                    : TrainingSpec.lowerIsBetter(monitoringMetric.toLowerCase(Locale.ROOT))
                            ? io.kafkaml.training.PromotionPolicy.Direction.DOWN
                            : io.kafkaml.training.PromotionPolicy.Direction.UP;
            return io.kafkaml.training.IncrementalSpec.builder()
                    .groupId(groupId)
                    .windowRecords(windowRecords)
                    .windowTime(windowTime)
                    .streamTimeout(streamTimeout)
                    .maxWindows(maxWindows)
                    .indefinite(indefinite)
                    .monitoring(monitoringMetric, direction, improvement)
                    .badRecordPolicy(badRecordPolicy())
                    .deadLetterTopic(deadLetterTopic)
                    .startFrom(io.kafkaml.training.IncrementalSpec.StartFrom.of(startFrom))
                    .build();
        }
    }

    @Option(
            names = "--wait",
            description = "With --kubernetes: follow the Jobs until they end and exit non-zero if any model FAILED "
                    + "(in this process the command always waits, and exits 1 unless the deployment FINISHED)")
    boolean waitForResult;

    @Option(
            names = "--kubernetes",
            description = "Run the models as Kubernetes Jobs (current kubeconfig context) "
                    + "instead of in this process; with --wait, follow them until they end")
    boolean kubernetes;

    @picocli.CommandLine.ArgGroup(exclusive = false, heading = "Kubernetes (with --kubernetes)%n")
    K8sCommand.Cluster cluster = new K8sCommand.Cluster();

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        controlTopic = client.controlTopic(controlTopic);
        TrainingSpec.Builder builder = TrainingSpec.builder()
                .batchSize(batchSize)
                .epochs(epochs)
                .shuffle(shuffle)
                .seed(seed)
                .controlTimeout(timeout)
                .reuseStream(reuseStream)
                .splitOrder(splitOrder)
                .decisionThreshold(threshold)
                .incremental(incremental.toSpec());
        if (unsupervisedRounds != null) {
            builder.semiSupervised(unsupervisedRounds, confidence);
        }
        if (normalize != null) {
            builder.normalization(
                    switch (normalize.toLowerCase(Locale.ROOT).replace("-", "_")) {
                        case "standardize" -> Normalization.STANDARDIZE;
                        case "min_max", "minmax" -> Normalization.MIN_MAX;
                        case "none" -> Normalization.NONE;
                        default ->
                            throw new IllegalArgumentException(
                                    "--normalize must be standardize, min-max or none, was '" + normalize + "'");
                    });
        }
        TrainingSpec trainingSpec = builder.build();
        Map<String, Long> lastPrinted = new ConcurrentHashMap<>();
        TrainingListener progress = new TrainingListener() {
            @Override
            public void onEpoch(String id, String model, EpochMetrics metrics, int totalEpochs) {
                if (!metrics.prequential().isEmpty()) { // a window of an incremental run: every one is printed
                    out.println(Output.window(id, model, metrics));
                    out.flush();
                    return;
                }
                long now = System.nanoTime();
                Long last = lastPrinted.get(model);
                if (last == null || now - last > 1_000_000_000L || metrics.epoch() == totalEpochs) {
                    lastPrinted.put(model, now);
                    long eta = metrics.millis() * (totalEpochs - metrics.epoch()); // at the last epoch's pace
                    out.printf(
                            "[%s] %s epoch %d/%d loss %.4f %s ETA %ds%n",
                            id,
                            model,
                            metrics.epoch(),
                            totalEpochs,
                            metrics.loss(),
                            Output.metrics(metrics.validation(), "val_"),
                            eta / 1000);
                    out.flush();
                }
            }

            @Override
            public void onResult(TrainingResult result) {
                out.printf(
                        "[%s] %s %s %s%s%n",
                        result.deploymentId(),
                        result.model(),
                        result.status(),
                        Output.metrics(result.testMetrics()),
                        result.error() == null ? "" : " " + result.error());
                out.flush();
            }
        };
        Map<String, Object> settings = client.clientConfig();
        settings.put(KafkaMlConfig.CONTROL_TOPIC_CONFIG, controlTopic);
        if (kubernetes) {
            return onKubernetes(out, settings, trainingSpec, progress);
        }
        try (KafkaMl ml = KafkaMl.builder(settings)
                .registryTimeout(Duration.ofSeconds(30))
                .trainingListener(progress)
                .build()
                .start()) {
            Training handle = deploymentId == null
                    ? ml.train(configuration, trainingSpec)
                    : ml.train(configuration, trainingSpec, deploymentId);
            out.println("deployment " + handle.deploymentId() + " waiting for data on " + controlTopic);
            out.flush();
            Thread hook = cancelOnSignal(out, handle, settings);
            DeploymentStatus status = handle.await(Duration.ofDays(3650)).orElse(DeploymentStatus.FAILED);
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // a signal's shutdown runs: the hook records CANCELLED and ends the process with its code
                try {
                    Thread.currentThread().join();
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
            String error = handle.deployment().error();
            out.println("deployment " + handle.deploymentId() + " " + status + (error == null ? "" : ": " + error)
                    + cataloged(ml, handle.deploymentId(), status == DeploymentStatus.FINISHED));
            out.flush();
            // the deployment ran here and has ended: its status is the command's (trial: FAILED exited 0)
            return status == DeploymentStatus.FINISHED ? 0 : 1;
        }
    }

    /**
     * SIGTERM/SIGINT while the deployment runs in this process: its runners stop at their next batch (or window) and
     * record CANCELLED, waited for up to {@value KafkaMlConfig#TRAIN_SHUTDOWN_GRACE_MS_CONFIG} (20 s), then the process
     * exits with the code a {@code train} worker uses (3 CANCELLED, 0 FINISHED, 1 FAILED or not ended within the
     * grace). Without it the JVM ended with 143 and the registry kept TRAINING (or WAITING_FOR_DATA) for ever.
     */
    private static Thread cancelOnSignal(PrintWriter out, Training handle, Map<String, Object> settings) {
        Duration grace =
                Duration.ofMillis(new KafkaMlConfig(settings).getLong(KafkaMlConfig.TRAIN_SHUTDOWN_GRACE_MS_CONFIG));
        Thread hook = new Thread(
                () -> {
                    int code = 1;
                    try {
                        handle.cancel();
                        Optional<DeploymentStatus> ended = handle.await(grace);
                        out.println("deployment " + handle.deploymentId() + " "
                                + ended.map(String::valueOf)
                                        .orElse("did not record its end within " + grace.toMillis() + " ms ("
                                                + KafkaMlConfig.TRAIN_SHUTDOWN_GRACE_MS_CONFIG + ")")
                                + " (stopped by a signal)");
                        code = ended.map(WorkerCommand::exitCode).orElse(1);
                    } catch (RuntimeException e) {
                        out.println("deployment " + handle.deploymentId() + ": cancelling failed: " + e.getMessage());
                    }
                    out.flush();
                    System.out.flush();
                    System.err.flush();
                    Runtime.getRuntime().halt(code);
                },
                "kafkaml-train-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        return hook;
    }

    /**
     * Where the deployment's data stream went in the datasource catalog: whichever control logger recorded it (this
     * process's, or one a broker or server runs), it is found by its deployment id. The logger records it
     * asynchronously, so this waits up to two seconds for it when the deployment finished (it must have had data).
     */
    private static String cataloged(KafkaMl ml, String deploymentId, boolean expected) {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(2);
        while (true) {
            java.util.List<String> ids = ml.datasources().list().stream()
                    .filter(d -> deploymentId.equals(d.deploymentId()))
                    .map(io.kafkaml.registry.Datasource::id)
                    .toList();
            if (!ids.isEmpty()) {
                return " (data stream cataloged as datasource " + String.join(", ", ids) + ")";
            }
            if (!expected) {
                return "";
            }
            if (System.nanoTime() - deadline > 0) {
                return " (its data stream is not in the datasource catalog yet: see kafkaml datasources list)";
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "";
            }
        }
    }

    /**
     * Creates the Jobs (one per model) through the facade with the Kubernetes launcher and, with --wait, follows the
     * deployment in the registry: the epochs its workers append to the metrics topic are printed as they come (the
     * same progress lines as in-process training), then the results and the final status.
     */
    private int onKubernetes(
            PrintWriter out, Map<String, Object> settings, TrainingSpec trainingSpec, TrainingListener progress) {
        try (io.fabric8.kubernetes.client.KubernetesClient kube =
                        new io.fabric8.kubernetes.client.KubernetesClientBuilder().build();
                KafkaMl ml = KafkaMl.builder(settings)
                        .controlLogger(false) // the Jobs' data streams are cataloged by whoever runs a logger
                        .registryTimeout(Duration.ofSeconds(30))
                        .launcher((registry, config, listener) -> new io.kafkaml.k8s.KubernetesTrainingLauncher(
                                kube,
                                cluster.manifests(client, spec.commandLine().getErr())
                                        .settings(),
                                registry))
                        .build()
                        .start();
                io.kafkaml.k8s.JobStatusWatcher watcher = waitForResult
                        ? new io.kafkaml.k8s.JobStatusWatcher(kube, cluster.namespace, ml.registry())
                        : null) {
            Training handle = deploymentId == null
                    ? ml.train(configuration, trainingSpec)
                    : ml.train(configuration, trainingSpec, deploymentId);
            out.println("deployment " + handle.deploymentId() + " launched as Kubernetes Jobs in namespace "
                    + cluster.namespace + (watcher == null ? "" : "; following it"));
            out.flush();
            if (!waitForResult) {
                return 0;
            }
            handle.addListener(progress);
            DeploymentStatus status = handle.await(Duration.ofDays(3650)).orElse(DeploymentStatus.FAILED);
            String error = handle.deployment().error();
            out.println("deployment " + handle.deploymentId() + " " + status + (error == null ? "" : ": " + error));
            out.flush();
            return status == DeploymentStatus.FINISHED ? 0 : 1;
        }
    }
}
