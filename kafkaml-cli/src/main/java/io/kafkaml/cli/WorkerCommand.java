package io.kafkaml.cli;

import io.kafkaml.KafkaMl;
import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.inference.InferenceSpec;
import io.kafkaml.inference.LocalInference;
import io.kafkaml.inference.ProcessingGuarantee;
import io.kafkaml.metrics.InferenceMetrics;
import io.kafkaml.metrics.TrainingMetrics;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.Registry;
import io.kafkaml.training.TrainingJob;
import io.kafkaml.training.internals.TrainingRunner;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code kafkaml worker}: the container entry point. Everything comes from environment variables, so a Kubernetes
 * Job or Deployment needs no arguments:
 *
 * <table>
 * <caption>Environment</caption>
 * <tr><td>{@code KAFKAML_ROLE}</td><td>{@code train}, {@code infer} or {@code control-logger} (required)</td></tr>
 * <tr><td>{@code KAFKAML_BOOTSTRAP_SERVERS}</td><td>Kafka brokers (required)</td></tr>
 * <tr><td>{@code KAFKAML_REGISTRY_PREFIX}</td><td>registry topic prefix (default {@code kafkaml})</td></tr>
 * <tr><td>{@code KAFKAML_CLIENT_<SETTING>}</td><td>any client setting, e.g. {@code KAFKAML_CLIENT_SECURITY_PROTOCOL}
 *     for {@code security.protocol} (underscores become dots, lower case)</td></tr>
 * <tr><td>{@code KAFKAML_DEPLOYMENT_ID}</td><td>train: the deployment, recorded in the registry (required)</td></tr>
 * <tr><td>{@code KAFKAML_MODEL}</td><td>train: only this model of the configuration (default: all)</td></tr>
 * <tr><td>{@code KAFKAML_CONTROL_TOPIC}</td><td>train, control-logger: default {@code KAFKA_ML_CONTROL_TOPIC}</td></tr>
 * <tr><td>{@code KAFKAML_RESULT_ID}</td><td>infer: the result to serve (required)</td></tr>
 * <tr><td>{@code KAFKAML_INPUT_TOPIC}, {@code KAFKAML_OUTPUT_TOPIC}</td><td>infer: the topics (required)</td></tr>
 * <tr><td>{@code KAFKAML_INFERENCE_ID}</td><td>infer: the inference deployment (default from the result)</td></tr>
 * <tr><td>{@code KAFKAML_INSTANCE_ID}</td><td>infer: this process's instance id; its replicas (and, with
 *     exactly-once, transactional ids) are {@code <inference id>-<instance id>-<n>} (default {@code $HOSTNAME}, the
 *     pod's name in Kubernetes, so a restarted container fences its predecessor; else random).
 *     {@code KAFKAML_REPLICA_INDEX} is deprecated and read as the instance id when this is not set</td></tr>
 * <tr><td>{@code KAFKAML_REPLICAS}</td><td>infer: replicas in this process (default 1)</td></tr>
 * <tr><td>{@code KAFKAML_SHUTDOWN_GRACE_MS}</td><td>infer: the longest a SIGTERM may take (default 20000)</td></tr>
 * <tr><td>{@code KAFKAML_TRAIN_SHUTDOWN_GRACE_MS}</td><td>train: how long a SIGTERM waits for CANCELLED to be
 *     recorded (default 20000)</td></tr>
 * <tr><td>{@code KAFKAML_RESTART_MAX} ...</td><td>infer: the restart budget of replicas (see
 *     {@code docs/settings.md})</td></tr>
 * <tr><td>{@code KAFKAML_EXACTLY_ONCE}</td><td>infer: {@code true} for exactly-once</td></tr>
 * <tr><td>{@code KAFKAML_DLQ_TOPIC}</td><td>infer: the dead-letter topic</td></tr>
 * <tr><td>{@code KAFKAML_METRICS_PORT}</td><td>every role: serve Prometheus metrics at {@code /metrics} on this port
 *     (training: epochs, loss, records; inference: records in/out/dead-lettered, batch latency, consumer lag; and
 *     the JVM's)</td></tr>
 * </table>
 *
 * <p>Each variable sets a setting of {@link KafkaMlConfig} (the table in {@code docs/settings.md}); an unknown
 * {@code KAFKAML_*} variable is warned about.
 *
 * <p>Exit codes: train 0 FINISHED, 1 FAILED, 3 CANCELLED, for the model(s) this worker trains (with
 * {@code KAFKAML_MODEL}, its own model's result; the deployment's status is derived from all its models' results).
 * SIGTERM/SIGINT stops training at the next batch and waits up to {@code KAFKAML_TRAIN_SHUTDOWN_GRACE_MS} (20 s) for
 * CANCELLED to be recorded, then exits 3
 * (1 if it could not be recorded in time). A worker restarted for a model whose result has already ended does not
 * train it again: it exits at once with that result's code. Infer: 0 after SIGTERM/SIGINT (batch finished and
 * committed, or abandoned after the shutdown grace), 1 when the inference deployment FAILED (a replica's restart
 * budget spent, or an input its exception handler FAILed; the reason is on stderr and in the registry). The infer
 * role runs {@link LocalInference}: the same supervisor as {@code kafkaml infer}.
 */
@Command(
        name = "worker",
        mixinStandardHelpOptions = true,
        description = "Container entry point: run one training or inference runner configured by KAFKAML_* variables.")
final class WorkerCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    private final Map<String, String> env;
    private KafkaMlConfig config;
    private MetricsEndpoint metrics;

    WorkerCommand() {
        this(System.getenv());
    }

    WorkerCommand(Map<String, String> env) {
        this.env = env;
    }

    @Override
    public Integer call() throws InterruptedException {
        config = KafkaMlConfig.fromEnvironment(env);
        String role = config.require(KafkaMlConfig.WORKER_ROLE_CONFIG).toLowerCase(Locale.ROOT);
        Map<String, Object> settings = settings();
        Integer port = config.getInt(KafkaMlConfig.METRICS_PORT_CONFIG);
        if (port != null) {
            // for the process's life (it ends by returning or halting)
            metrics = MetricsEndpoint.start(port);
            spec.commandLine().getOut().println(metrics.announcement());
            spec.commandLine().getOut().flush();
        }
        if (role.equals("control-logger")) {
            return controlLogger(settings);
        }
        if (role.equals("train") || role.equals("infer")) {
            // ND4J's backend loads in the background while the registry catches up (start-up time)
            io.kafkaml.internals.Nd4jThreads.preloadInBackground(settings);
        }
        try (Registry registry = Registry.connect(settings, config.registryPrefix(), Duration.ofSeconds(60))) {
            return switch (role) {
                case "train" -> train(registry, settings);
                case "infer" -> infer(registry, settings);
                default ->
                    throw new IllegalArgumentException(
                            "KAFKAML_ROLE must be train, infer or control-logger, was '" + role + "'");
            };
        }
    }

    private int train(Registry registry, Map<String, Object> settings) {
        String deploymentId = config.require(KafkaMlConfig.DEPLOYMENT_ID_CONFIG);
        TrainingJob job = TrainingJob.recorded(registry, deploymentId, config.controlTopic());
        String only = config.getString(KafkaMlConfig.DEPLOYMENT_MODEL_CONFIG);
        if (only != null) {
            job = job.onlyModel(only);
        }
        TrainingMetrics trainingMetrics = null;
        if (metrics != null) {
            trainingMetrics = new TrainingMetrics();
            trainingMetrics.bindTo(metrics.registry());
        }
        TrainingRunner runner = new TrainingRunner(job, registry, settings, trainingMetrics);
        java.util.concurrent.atomic.AtomicBoolean reported = new java.util.concurrent.atomic.AtomicBoolean();
        // how long SIGTERM waits for the runner to record CANCELLED (Kubernetes kills after 30 s by default)
        Duration grace = Duration.ofMillis(config.getLong(KafkaMlConfig.TRAIN_SHUTDOWN_GRACE_MS_CONFIG));
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            // SIGTERM (or SIGINT): stop at the next batch and wait, bounded, until CANCELLED is
                            // recorded, then exit
                            // with the code of what was recorded instead of the JVM's 143. Also runs after a normal end
                            // (no-op wait).
                            runner.cancel();
                            boolean ended;
                            try {
                                ended = runner.awaitEnd(grace);
                            } catch (InterruptedException e) {
                                ended = false;
                            }
                            if (!ended) {
                                System.err.println(
                                        "deployment " + deploymentId + ": the runner did not record its end within "
                                                + grace.toMillis() + " ms of the stop request ("
                                                + KafkaMlConfig.TRAIN_SHUTDOWN_GRACE_MS_CONFIG
                                                + ")");
                            }
                            report(reported, deploymentId, runner.finalStatus());
                            Runtime.getRuntime().halt(ended ? exitCode(runner.finalStatus()) : 1);
                        },
                        "kafkaml-worker-shutdown"));
        runner.run();
        DeploymentStatus status = runner.finalStatus();
        report(reported, deploymentId, status);
        return exitCode(status);
    }

    private void report(
            java.util.concurrent.atomic.AtomicBoolean reported, String deploymentId, DeploymentStatus status) {
        if (reported.compareAndSet(false, true)) {
            spec.commandLine().getOut().println("deployment " + deploymentId + " " + status);
            spec.commandLine().getOut().flush();
        }
    }

    /** The train role's exit code: 0 FINISHED, 3 CANCELLED, 1 FAILED (or nothing recorded). */
    static int exitCode(DeploymentStatus status) {
        return status == DeploymentStatus.FINISHED ? 0 : status == DeploymentStatus.CANCELLED ? 3 : 1;
    }

    /** The always-on catalog: runs until SIGTERM (the Kubernetes Deployment of {@code k8s render control-logger}). */
    private int controlLogger(Map<String, Object> settings) throws InterruptedException {
        KafkaMl ml = ControlLoggerCommand.startRetryingRefusals(
                () -> KafkaMl.builder(settings)
                        .withoutLauncher()
                        .controlLogger(true)
                        .registryTimeout(Duration.ofSeconds(60))
                        .build()
                        .start(),
                settings,
                spec.commandLine().getErr());
        ControlLoggerCommand.runUntilShutdown(
                spec.commandLine().getOut(), ml, config.controlTopic(), config.registryPrefix());
        return 0;
    }

    private int infer(Registry registry, Map<String, Object> workerSettings) {
        String resultId = config.require(KafkaMlConfig.INFERENCE_RESULT_ID_CONFIG);
        InferenceSpec.Builder builder = InferenceSpec.builder(
                        resultId,
                        config.require(KafkaMlConfig.INFERENCE_INPUT_TOPIC_CONFIG),
                        config.require(KafkaMlConfig.INFERENCE_OUTPUT_TOPIC_CONFIG))
                .replicas(config.getInt(KafkaMlConfig.INFERENCE_REPLICAS_CONFIG))
                .groupId(config.getString(KafkaMlConfig.INFERENCE_GROUP_ID_CONFIG))
                .guarantee(
                        config.getBoolean(KafkaMlConfig.INFERENCE_EXACTLY_ONCE_CONFIG)
                                ? ProcessingGuarantee.EXACTLY_ONCE
                                : ProcessingGuarantee.AT_LEAST_ONCE)
                .deadLetterTopic(config.getString(KafkaMlConfig.INFERENCE_DLQ_TOPIC_CONFIG))
                .followPromoted(config.getBoolean(KafkaMlConfig.INFERENCE_FOLLOW_PROMOTED_CONFIG));
        Integer version = config.getInt(KafkaMlConfig.INFERENCE_VERSION_CONFIG);
        if (version != null) {
            builder.version(version);
        }
        Double threshold = config.getDouble(KafkaMlConfig.INFERENCE_DECISION_THRESHOLD_CONFIG);
        if (threshold != null) {
            builder.decisionThreshold(threshold);
        }
        InferenceSpec inferenceSpec = builder.build();
        String inferenceId = Objects.requireNonNullElse(
                config.getString(KafkaMlConfig.INFERENCE_ID_CONFIG), "infer-" + resultId.replace('.', '-'));
        Map<String, Object> settings = new HashMap<>(workerSettings);
        String instance = config.getString(KafkaMlConfig.INFERENCE_INSTANCE_ID_CONFIG);
        if (instance == null) {
            instance = config.getString(KafkaMlConfig.INFERENCE_REPLICA_INDEX_CONFIG);
        }
        if (instance == null
                && env.get("HOSTNAME") != null
                && !env.get("HOSTNAME").isBlank()) {
            instance = env.get("HOSTNAME");
        }
        if (instance != null) {
            settings.put(KafkaMlConfig.INFERENCE_INSTANCE_ID_CONFIG, instance);
        }
        LocalInference inference = LocalInference.start(registry, settings, inferenceId, inferenceSpec);
        if (metrics != null) {
            InferenceMetrics.of(inference, resultId, settings).bindTo(metrics.registry());
        }
        String label = inferenceId + "-" + inference.instanceId();
        spec.commandLine().getOut().println("worker " + label + " serving " + resultId);
        spec.commandLine().getOut().flush();
        return InferenceProcess.serve(
                inference,
                registry,
                Duration.ofMillis(config.getLong(KafkaMlConfig.INFERENCE_SHUTDOWN_GRACE_MS_CONFIG)),
                spec.commandLine().getOut(),
                spec.commandLine().getErr(),
                label);
    }

    /**
     * Every setting the environment gives, {@code kafkaml.*} ones included, as one map that every component takes
     * (each derives its clients' settings and reads the {@code kafkaml.*} settings it needs from it, as
     * {@link KafkaMlConfig} defines): nothing is picked by hand, so no setting is dropped on the way.
     */
    private Map<String, Object> settings() {
        Map<String, Object> settings = new HashMap<>(config.originals());
        Object servers = settings.get("bootstrap.servers");
        if (servers == null || servers.toString().isBlank()) {
            throw new IllegalArgumentException(
                    "The worker needs the environment variable " + KafkaMlConfig.BOOTSTRAP_SERVERS_ENV);
        }
        return settings;
    }
}
