package io.kafkaml.cli;

import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.inference.InferenceReplica;
import io.kafkaml.inference.InferenceSpec;
import io.kafkaml.inference.InferenceStats;
import io.kafkaml.inference.ProcessingGuarantee;
import io.kafkaml.inference.ServedModel;
import io.kafkaml.registry.ControlLogger;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.Registry;
import io.kafkaml.training.TrainingJob;
import io.kafkaml.training.TrainingRunner;
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
 * <tr><td>{@code KAFKAML_REPLICA_INDEX}</td><td>infer: this replica's number (default 0); with exactly-once its
 *     transactional id is {@code <inference id>-<index>}</td></tr>
 * <tr><td>{@code KAFKAML_EXACTLY_ONCE}</td><td>infer: {@code true} for exactly-once</td></tr>
 * <tr><td>{@code KAFKAML_DLQ_TOPIC}</td><td>infer: the dead-letter topic</td></tr>
 * </table>
 *
 * <p>Each variable sets a setting of {@link KafkaMlConfig} (the table in {@code docs/settings.md}); an unknown
 * {@code KAFKAML_*} variable is warned about.
 *
 * <p>Exit codes: train 0 FINISHED, 1 FAILED, 3 CANCELLED, for the model(s) this worker trains (with
 * {@code KAFKAML_MODEL}, its own model's result; the deployment's status is derived from all its models' results).
 * SIGTERM/SIGINT stops training at the next batch and waits up to 20 s for CANCELLED to be recorded, then exits 3
 * (1 if it could not be recorded in time). A worker restarted for a model whose result has already ended does not
 * train it again: it exits at once with that result's code. Infer: 0 after SIGTERM/SIGINT (batch finished and
 * committed).
 */
@Command(name = "worker", mixinStandardHelpOptions = true,
        description = "Container entry point: run one training or inference runner configured by KAFKAML_* variables.")
final class WorkerCommand implements Callable<Integer> {

    /** How long SIGTERM waits for a training runner to record CANCELLED (Kubernetes kills after 30 s by default). */
    static final Duration TRAIN_SHUTDOWN_GRACE = Duration.ofSeconds(20);

    @Spec
    CommandSpec spec;

    private final Map<String, String> env;
    private KafkaMlConfig config;

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
        Map<String, Object> clientConfig = clientConfig();
        try (Registry registry = Registry.connect(clientConfig, config.registryPrefix(), Duration.ofSeconds(60))) {
            return switch (role) {
                case "train" -> train(registry, clientConfig);
                case "infer" -> infer(registry, clientConfig);
                case "control-logger" -> controlLogger(registry, clientConfig);
                default -> throw new IllegalArgumentException("KAFKAML_ROLE must be train, infer or control-logger, was '"
                        + role + "'");
            };
        }
    }

    private int train(Registry registry, Map<String, Object> clientConfig) {
        String deploymentId = config.require(KafkaMlConfig.DEPLOYMENT_ID_CONFIG);
        TrainingJob job = TrainingJob.recorded(registry, deploymentId,
                config.controlTopic());
        String only = config.getString(KafkaMlConfig.DEPLOYMENT_MODEL_CONFIG);
        if (only != null) {
            job = job.onlyModel(only);
        }
        TrainingRunner runner = new TrainingRunner(job, registry, clientConfig, null);
        java.util.concurrent.atomic.AtomicBoolean reported = new java.util.concurrent.atomic.AtomicBoolean();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            // SIGTERM (or SIGINT): stop at the next batch and wait, bounded, until CANCELLED is recorded, then exit
            // with the code of what was recorded instead of the JVM's 143. Also runs after a normal end (no-op wait).
            runner.cancel();
            boolean ended;
            try {
                ended = runner.awaitEnd(TRAIN_SHUTDOWN_GRACE);
            } catch (InterruptedException e) {
                ended = false;
            }
            if (!ended) {
                System.err.println("deployment " + deploymentId + ": the runner did not record its end within "
                        + TRAIN_SHUTDOWN_GRACE.toSeconds() + " s of the stop request");
            }
            report(reported, deploymentId, runner.finalStatus());
            Runtime.getRuntime().halt(ended ? exitCode(runner.finalStatus()) : 1);
        }, "kafkaml-worker-shutdown"));
        runner.run();
        DeploymentStatus status = runner.finalStatus();
        report(reported, deploymentId, status);
        return exitCode(status);
    }

    private void report(java.util.concurrent.atomic.AtomicBoolean reported, String deploymentId, DeploymentStatus status) {
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
    private int controlLogger(Registry registry, Map<String, Object> clientConfig) throws InterruptedException {
        ControlLogger logger = ControlLogger.start(clientConfig, registry, config.controlTopic());
        ControlLoggerCommand.runUntilShutdown(spec.commandLine().getOut(), logger, () -> { }, config.controlTopic(),
                config.registryPrefix());
        return 0;
    }

    private int infer(Registry registry, Map<String, Object> clientConfig) throws InterruptedException {
        String resultId = config.require(KafkaMlConfig.INFERENCE_RESULT_ID_CONFIG);
        InferenceSpec inferenceSpec = InferenceSpec.builder(resultId, config.require(KafkaMlConfig.INFERENCE_INPUT_TOPIC_CONFIG),
                config.require(KafkaMlConfig.INFERENCE_OUTPUT_TOPIC_CONFIG))
                .guarantee(config.getBoolean(KafkaMlConfig.INFERENCE_EXACTLY_ONCE_CONFIG)
                        ? ProcessingGuarantee.EXACTLY_ONCE : ProcessingGuarantee.AT_LEAST_ONCE)
                .deadLetterTopic(config.getString(KafkaMlConfig.INFERENCE_DLQ_TOPIC_CONFIG)).build();
        String inferenceId = Objects.requireNonNullElse(config.getString(KafkaMlConfig.INFERENCE_ID_CONFIG),
                "infer-" + resultId.replace('.', '-'));
        String name = inferenceId + "-" + config.getString(KafkaMlConfig.INFERENCE_REPLICA_INDEX_CONFIG);
        InferenceStats stats = new InferenceStats();
        InferenceReplica replica = new InferenceReplica(name, inferenceSpec,
                Objects.requireNonNullElse(config.getString(KafkaMlConfig.INFERENCE_GROUP_ID_CONFIG),
                        "kafkaml-inference-" + inferenceId),
                ServedModel.load(registry, inferenceSpec), clientConfig, stats);
        Thread worker = new Thread(replica, "kafkaml-inference | " + name);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            replica.stop();
            replica.awaitStopped(Duration.ofSeconds(30));
            spec.commandLine().getOut().println("stopped " + name + ": " + stats);
            spec.commandLine().getOut().flush();
            // The batch is finished and committed: a requested stop is a success, not the JVM's 143.
            Runtime.getRuntime().halt(replica.failure() == null ? 0 : 1);
        }, "kafkaml-worker-shutdown"));
        spec.commandLine().getOut().println("worker " + name + " serving " + resultId);
        spec.commandLine().getOut().flush();
        worker.start();
        worker.join();
        return replica.failure() == null ? 0 : 1;
    }

    private Map<String, Object> clientConfig() {
        Map<String, Object> clientConfig = new HashMap<>(config.clientConfig());
        Object servers = clientConfig.get("bootstrap.servers");
        if (servers == null || servers.toString().isBlank()) {
            throw new IllegalArgumentException("The worker needs the environment variable "
                    + KafkaMlConfig.BOOTSTRAP_SERVERS_ENV);
        }
        return clientConfig;
    }
}
