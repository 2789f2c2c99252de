package io.kafkaml.cli;

import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.inference.InferenceConfig;
import io.kafkaml.inference.InferenceSpec;
import io.kafkaml.inference.LocalInference;
import io.kafkaml.inference.ProcessingGuarantee;
import io.kafkaml.metrics.InferenceMetrics;
import io.kafkaml.registry.Registry;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kafkaml infer}: serves a trained model until interrupted; on SIGTERM or SIGINT each replica finishes its
 * batch and commits (or abandons it when the shutdown grace has passed, default 20 s, even with no broker), and
 * the command exits 0. A failed replica is restarted within the restart budget ({@code kafkaml.restart.*}
 * settings in {@code --config}); past it the deployment is FAILED in the registry and the command exits 1 with the
 * reason. An id that is RUNNING another result is refused.
 */
@Command(
        name = "infer",
        mixinStandardHelpOptions = true,
        description = "Serve a trained model from an input topic to an output topic until interrupted.")
final class InferCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ClientOptions client;

    @Option(
            names = "--result",
            required = true,
            paramLabel = "RESULT_ID",
            description = "The result, deploymentId.model")
    String result;

    @Option(names = "--input-topic", required = true, paramLabel = "IN", description = "Where inputs are read")
    String inputTopic;

    @Option(names = "--output-topic", required = true, paramLabel = "OUT", description = "Where predictions go")
    String outputTopic;

    @Option(names = "--replicas", defaultValue = "1", description = "Default: ${DEFAULT-VALUE}")
    int replicas;

    @Option(names = "--exactly-once", description = "Predictions and offsets in one transaction")
    boolean exactlyOnce;

    @Option(
            names = "--dlq-topic",
            paramLabel = "T",
            description = "Where inputs that cannot be decoded, predicted or written go, with the reason in headers")
    String dlqTopic;

    @Option(
            names = "--instance-id",
            paramLabel = "NAME",
            description = "This process's part of the replicas' names "
                    + "and transactional ids: <id>-<instance>-<n> (default: random; pin it so a restarted process fences its "
                    + "predecessor at once)")
    String instanceId;

    @Option(
            names = "--shutdown-grace-ms",
            paramLabel = "MS",
            description = "The longest a SIGTERM may take (default: 20000, or "
                    + InferenceConfig.SHUTDOWN_GRACE_MS_CONFIG + " in --config)")
    Long shutdownGraceMs;

    @Option(
            names = "--commit-interval-ms",
            paramLabel = "MS",
            description = "With --exactly-once: the longest one transaction stays open across polls (default: 100, or "
                    + InferenceConfig.COMMIT_INTERVAL_MS_CONFIG + " in --config; 0: a transaction per poll)")
    Long commitIntervalMs;

    @Option(names = "--id", paramLabel = "ID", description = "The inference deployment's id (default: from the result)")
    String id;

    @Option(
            names = "--threshold",
            paramLabel = "P",
            description =
                    "The probability from which a binary or multi-label "
                            + "output is predicted as class 1 (default: the threshold the model was trained with, 0.5 unless set)")
    Double threshold;

    @Option(
            names = "--metrics-port",
            paramLabel = "PORT",
            description = "Serve Prometheus metrics at http://<host>:PORT/metrics (0: a free port, printed; default: "
                    + KafkaMlConfig.METRICS_PORT_CONFIG + " in --config, else none)")
    Integer metricsPort;

    @Option(
            names = "--version",
            paramLabel = "N",
            description = "Serve this model version of the result, pinned (see 'results versions'); default: the "
                    + "result's trained model")
    Integer version;

    @Option(
            names = "--follow",
            description = "Serve the result's promoted version and follow its promotions and rollbacks: each replica "
                    + "loads a new one in the background and switches between batches (header "
                    + io.kafkaml.config.KafkaMlConfig.MODEL_VERSION_HEADER + " says which version made a prediction)")
    boolean follow;

    @Override
    public Integer call() {
        if (version != null && follow) {
            throw new picocli.CommandLine.ParameterException(
                    spec.commandLine(), "Give either --version N (pinned) or --follow, not both");
        }
        InferenceSpec.Builder builder = InferenceSpec.builder(result, inputTopic, outputTopic)
                .replicas(replicas)
                .guarantee(exactlyOnce ? ProcessingGuarantee.EXACTLY_ONCE : ProcessingGuarantee.AT_LEAST_ONCE)
                .deadLetterTopic(dlqTopic);
        if (threshold != null) {
            builder.decisionThreshold(threshold);
        }
        if (version != null) {
            builder.version(version);
        }
        builder.followPromoted(follow);
        InferenceSpec inferenceSpec = builder.build();
        String deployment = id != null ? id : "infer-" + result.replace('.', '-');
        // the kafkaml.* settings (restart budget, grace, handler) travel with the client settings
        Map<String, Object> clientConfig = client.clientConfig();
        if (instanceId != null) {
            clientConfig.put(InferenceConfig.INSTANCE_ID_CONFIG, instanceId);
        }
        if (shutdownGraceMs != null) {
            clientConfig.put(InferenceConfig.SHUTDOWN_GRACE_MS_CONFIG, shutdownGraceMs);
        }
        if (commitIntervalMs != null) {
            clientConfig.put(InferenceConfig.COMMIT_INTERVAL_MS_CONFIG, commitIntervalMs);
        }
        // ND4J's backend loads in the background while the registry catches up (start-up time)
        io.kafkaml.internals.Nd4jThreads.preloadInBackground(clientConfig);
        Integer port = metricsPort != null ? metricsPort : client.settings().getInt(KafkaMlConfig.METRICS_PORT_CONFIG);
        // bound before anything starts, so a taken port fails the command at once
        MetricsEndpoint metrics = port != null ? MetricsEndpoint.start(port) : null;
        Registry registry;
        LocalInference inference;
        try {
            registry = client.registry();
            try {
                inference = LocalInference.start(registry, clientConfig, deployment, inferenceSpec);
            } catch (RuntimeException e) {
                registry.close();
                throw e;
            }
        } catch (RuntimeException e) {
            if (metrics != null) {
                metrics.close();
            }
            throw e;
        }
        if (metrics != null) {
            // lives as long as the process (which ends by halting); the lag gauge's admin client with it
            InferenceMetrics.of(inference, result, clientConfig).bindTo(metrics.registry());
            spec.commandLine().getOut().println(metrics.announcement());
        }
        spec.commandLine()
                .getOut()
                .println("serving " + result
                        + (version != null ? " version " + version : follow ? " (following its promoted version)" : "")
                        + " from " + inputTopic + " to " + outputTopic + " with " + replicas
                        + " replica(s) as " + deployment + " (instance " + inference.instanceId() + ")");
        spec.commandLine().getOut().flush();
        return InferenceProcess.serve(
                inference,
                registry,
                InferenceConfig.shutdownGrace(clientConfig),
                spec.commandLine().getOut(),
                spec.commandLine().getErr(),
                deployment);
    }
}
