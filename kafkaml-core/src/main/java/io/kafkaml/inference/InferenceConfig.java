package io.kafkaml.inference;

import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.runtime.RestartPolicy;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;

/**
 * The process-level settings of inference, given with the client settings (a {@code --config} file for the CLI,
 * {@code KAFKAML_CLIENT_*} variables for the worker, the client map for {@link LocalInference#start}). The
 * restart budget of replicas is a {@link RestartPolicy} ({@code kafkaml.restart.*}).
 *
 * <h2>Transactional ids (exactly-once)</h2>
 * Each replica's producer has the transactional id {@code <inference id>-<instance id>-<n>}: {@code n} is the
 * replica's slot in its process (1, 2, ...), kept when the supervisor restarts it, so a restarted replica fences
 * its failed predecessor; the instance id tells processes apart, so two processes serving one deployment never
 * fence each other. Like Kafka Streams' {@code group.instance.id}, pin the instance id to something stable per
 * process (a pod name) to make a restarted process fence its killed predecessor at once; by default it is random,
 * and a killed process's open transactions are aborted by the broker after {@code transaction.timeout.ms}
 * (10 s by default here). Zombie fencing across processes relies on the consumer group generation (KIP-447:
 * offsets are sent to the transaction with the consumer's group metadata).
 *
 * <p>Thread safety: constants and static functions of a settings map; thread-safe. Lifecycle: not instantiated.
 */
public final class InferenceConfig {

    /** {@value}: this process's instance id in transactional ids (string, default random; [A-Za-z0-9._-]). */
    public static final String INSTANCE_ID_CONFIG = KafkaMlConfig.INFERENCE_INSTANCE_ID_CONFIG;
    /**
     * {@value}: how long a stop may take, in milliseconds (long, default 20000): replicas finish their batch and
     * commit within it, or abandon it (at-least-once: predicted again; exactly-once: aborted); the CLI exits when it
     * has passed, even with no broker reachable.
     */
    public static final String SHUTDOWN_GRACE_MS_CONFIG = KafkaMlConfig.INFERENCE_SHUTDOWN_GRACE_MS_CONFIG;
    /**
     * {@value}: the {@link InferenceExceptionHandler} class (default
     * {@link InferenceExceptionHandler.DeadLetterOrFail}).
     */
    public static final String EXCEPTION_HANDLER_CONFIG = KafkaMlConfig.INFERENCE_EXCEPTION_HANDLER_CONFIG;

    /**
     * {@value}: how often a process serving an inference deployment refreshes its heartbeat in the registry, in
     * milliseconds (long, default 10000); the lease recorded with it is three intervals.
     */
    public static final String HEARTBEAT_INTERVAL_MS_CONFIG = KafkaMlConfig.INFERENCE_HEARTBEAT_INTERVAL_MS_CONFIG;
    /**
     * {@value}: exactly once, the longest a replica's transaction stays open across polls, in milliseconds (long,
     * default 100, as Kafka Streams' {@code commit.interval.ms} under exactly-once). A transaction is committed when
     * it has been open this long, at once when a poll brings fewer inputs than the batch size (the replica has caught
     * up) or none, on a rebalance (before the partitions move) and on stop; never later than half of the smaller of
     * {@code max.poll.interval.ms} and {@code transaction.timeout.ms}. An abort seeks every partition the transaction
     * read back to its committed offset, so exactly-once stays exact. 0 commits every poll.
     */
    public static final String COMMIT_INTERVAL_MS_CONFIG = KafkaMlConfig.INFERENCE_COMMIT_INTERVAL_MS_CONFIG;
    /** The default shutdown grace. */
    public static final Duration DEFAULT_SHUTDOWN_GRACE = Duration.ofSeconds(20);

    private InferenceConfig() {}

    /** The instance id the settings pin, or a new random one. */
    public static String instanceId(Map<String, ?> config) {
        String id = new KafkaMlConfig(config).getString(INSTANCE_ID_CONFIG);
        return id == null || id.isBlank() ? UUID.randomUUID().toString().substring(0, 8) : id;
    }

    /** The shutdown grace the settings give. */
    public static Duration shutdownGrace(Map<String, ?> config) {
        return Duration.ofMillis(new KafkaMlConfig(config).getLong(SHUTDOWN_GRACE_MS_CONFIG));
    }

    /** The commit interval the settings give, in milliseconds. */
    public static long commitInterval(Map<String, ?> config) {
        return new KafkaMlConfig(config).getLong(COMMIT_INTERVAL_MS_CONFIG);
    }

    /** The heartbeat interval the settings give. */
    public static Duration heartbeatInterval(Map<String, ?> config) {
        return Duration.ofMillis(new KafkaMlConfig(config).getLong(HEARTBEAT_INTERVAL_MS_CONFIG));
    }

    /** A new handler of the class the settings name. */
    public static InferenceExceptionHandler exceptionHandler(Map<String, ?> config) {
        KafkaMlConfig settings = new KafkaMlConfig(config);
        InferenceExceptionHandler handler =
                settings.getConfiguredInstance(EXCEPTION_HANDLER_CONFIG, InferenceExceptionHandler.class);
        if (handler == null) {
            throw new IllegalArgumentException("Setting '" + EXCEPTION_HANDLER_CONFIG + "' names no handler");
        }
        return handler;
    }
}
