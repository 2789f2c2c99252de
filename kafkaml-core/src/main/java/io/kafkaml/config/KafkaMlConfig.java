package io.kafkaml.config;

import io.kafkaml.internals.ClientConfigs;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.commons.text.similarity.LevenshteinDistance;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every setting of kafkaml, defined once, in the manner of Kafka's {@code ProducerConfig}: each {@code kafkaml.*}
 * key has a type, a default, a validator and its documentation in one {@link ConfigDef}, and each has the
 * {@code KAFKAML_*} environment variable that sets it in a container ({@code kafkaml worker}, Kubernetes pods).
 * The record headers kafkaml writes are named here too ({@link #HEADERS}). The table in {@code docs/settings.md}
 * is generated from these definitions ({@link #markdownTable()}) and a test keeps the two equal.
 *
 * <h2>One settings object for every client</h2>
 * One map holds everything a user configures, as with Kafka Streams' {@code StreamsConfig}:
 * <ul>
 * <li>keys that start with {@code kafkaml.} are kafkaml's settings, parsed and validated here;</li>
 * <li>a plain Kafka client key ({@code bootstrap.servers}, {@code security.protocol}, {@code sasl.*},
 *     {@code ssl.*}, {@code client.id}, ...) reaches every embedded client that knows it: consumers, producers
 *     and admin clients alike, so SASL/TLS settings given once reach every client kafkaml creates;</li>
 * <li>a key prefixed {@link #CONSUMER_PREFIX consumer.}, {@link #PRODUCER_PREFIX producer.} or
 *     {@link #ADMIN_PREFIX admin.} reaches only that kind of client, with the prefix removed, and wins over the
 *     plain key ({@code producer.linger.ms=5}, {@code consumer.max.poll.records=500});</li>
 * <li>an unknown key (a {@code kafkaml.*} key that is not defined here, a client key that no client knows, a
 *     prefixed key its client does not know) is logged as a warning once per JVM and reaches no client.</li>
 * </ul>
 * A setting kafkaml cannot work without (deserializers, {@code enable.auto.commit} of a reader that commits
 * itself, a transactional id) is enforced by the component and cannot be overridden.
 *
 * <p>Every component that creates Kafka clients takes the whole settings map ({@link #originals()}, or the
 * map a user built): {@code Registry.connect}, {@code ControlLogger.start}, {@code LocalTrainingLauncher},
 * {@code LocalInference.start}, data sink builders, {@code StreamDataset.builder}; each derives its consumer,
 * producer and admin settings from it by the rules above (the same derivation as {@link #consumerConfig()},
 * {@link #producerConfig()}, {@link #adminConfig()}) and reads the {@code kafkaml.*} settings it needs. The
 * facade {@code io.kafkaml.KafkaMl} takes this object and hands {@link #originals()} to everything it starts.
 *
 * <pre>{@code
 * KafkaMlConfig config = new KafkaMlConfig(Map.of("bootstrap.servers", "broker:9093",
 *         "security.protocol", "SASL_SSL", "sasl.mechanism", "SCRAM-SHA-512",
 *         "sasl.jaas.config", jaas, "producer.linger.ms", "5",
 *         KafkaMlConfig.REGISTRY_PREFIX_CONFIG, "team-a"));
 * Registry registry = Registry.connect(config.originals(), config.registryPrefix(), Duration.ofSeconds(30));
 * }</pre>
 *
 * <p>From the environment ({@link #fromEnvironment(Map)}): {@code KAFKAML_BOOTSTRAP_SERVERS} sets
 * {@code bootstrap.servers}; {@code KAFKAML_CLIENT_<SETTING>} sets a client setting (underscores become dots,
 * lower case: {@code KAFKAML_CLIENT_SECURITY_PROTOCOL} is {@code security.protocol}); each defined setting's
 * variable ({@link #environmentVariable(String)}) sets it; any other {@code KAFKAML_*} variable is warned about
 * (except {@code KAFKAML_SERVER_TOKEN}, read by {@code kafkaml server} itself).
 *
 * <p>Where settings come from in each entry point: the CLI reads its {@code --config} properties file, then
 * the {@code KAFKAML_*} environment ({@link #settingsFromEnvironment}), then its flags; the worker
 * ({@code kafkaml worker}, Kubernetes pods) reads the environment only ({@link #fromEnvironment}); the Kubernetes
 * manifests name their variables with {@link #environmentVariable(String)}. All of them parse the result with
 * this class.
 *
 * <p>Immutable and thread-safe.
 */
public final class KafkaMlConfig extends AbstractConfig {

    private static final Logger log = LoggerFactory.getLogger(KafkaMlConfig.class);

    /** The prefix of every kafkaml setting. */
    public static final String PREFIX = "kafkaml.";
    /** The prefix of every kafkaml environment variable. */
    public static final String ENV_PREFIX = "KAFKAML_";
    /** The environment variable that sets {@code bootstrap.servers}. */
    public static final String BOOTSTRAP_SERVERS_ENV = "KAFKAML_BOOTSTRAP_SERVERS";
    /** The prefix of environment variables that set a Kafka client setting. */
    public static final String CLIENT_ENV_PREFIX = "KAFKAML_CLIENT_";

    /** Prefix of settings for kafkaml's embedded consumers only ({@code consumer.max.poll.records}). */
    public static final String CONSUMER_PREFIX = ClientConfigs.CONSUMER_PREFIX;
    /** Prefix of settings for kafkaml's embedded producers only ({@code producer.linger.ms}). */
    public static final String PRODUCER_PREFIX = ClientConfigs.PRODUCER_PREFIX;
    /** Prefix of settings for kafkaml's embedded admin clients only ({@code admin.request.timeout.ms}). */
    public static final String ADMIN_PREFIX = ClientConfigs.ADMIN_PREFIX;

    /** Topic prefix of the registry. */
    public static final String REGISTRY_PREFIX_CONFIG = "kafkaml.registry.prefix";
    /** The control topic. */
    public static final String CONTROL_TOPIC_CONFIG = "kafkaml.control.topic";
    /** The worker's role. */
    public static final String WORKER_ROLE_CONFIG = "kafkaml.worker.role";
    /** The training deployment a worker runs. */
    public static final String DEPLOYMENT_ID_CONFIG = "kafkaml.deployment.id";
    /** The one model of the deployment a training worker trains. */
    public static final String DEPLOYMENT_MODEL_CONFIG = "kafkaml.deployment.model";
    /** The result an inference worker serves. */
    public static final String INFERENCE_RESULT_ID_CONFIG = "kafkaml.inference.result.id";
    /** The inference input topic. */
    public static final String INFERENCE_INPUT_TOPIC_CONFIG = "kafkaml.inference.input.topic";
    /** The inference output topic. */
    public static final String INFERENCE_OUTPUT_TOPIC_CONFIG = "kafkaml.inference.output.topic";
    /** The inference deployment's id. */
    public static final String INFERENCE_ID_CONFIG = "kafkaml.inference.id";
    /** This inference replica's number. */
    public static final String INFERENCE_REPLICA_INDEX_CONFIG = "kafkaml.inference.replica.index";
    /** Exactly-once inference. */
    public static final String INFERENCE_EXACTLY_ONCE_CONFIG = "kafkaml.inference.exactly.once";
    /** The inference dead-letter topic. */
    public static final String INFERENCE_DLQ_TOPIC_CONFIG = "kafkaml.inference.dlq.topic";
    /** The inference consumer group. */
    public static final String INFERENCE_GROUP_ID_CONFIG = "kafkaml.inference.group.id";
    /** The probability from which a binary or multi-label output is predicted as class 1. */
    public static final String INFERENCE_DECISION_THRESHOLD_CONFIG = "kafkaml.inference.decision.threshold";
    /** The model version an inference worker serves (pinned), or none for the result's model. */
    public static final String INFERENCE_VERSION_CONFIG = "kafkaml.inference.version";
    /** Whether an inference worker serves the result's promoted version and follows its promotions. */
    public static final String INFERENCE_FOLLOW_PROMOTED_CONFIG = "kafkaml.inference.follow.promoted";
    /**
     * The most values (floats) one record's features may hold when the model leaves their number to the stream.
     */
    public static final String MAX_RECORD_VALUES_CONFIG = "kafkaml.max.record.values";
    /** ND4J's threads (OpenMP and OpenBLAS) when {@code OMP_NUM_THREADS} is not set. */
    public static final String ND4J_THREADS_CONFIG = "kafkaml.nd4j.threads";
    /**
     * Default of {@value #MAX_RECORD_VALUES_CONFIG}: 1,048,576 values (1024 × 1024 × 1, 591 × 591 × 3), the values
     * of one record at Kafka's default {@code message.max.bytes} (1 MiB) in uint8; 4 MiB per record as floats.
     */
    public static final long DEFAULT_MAX_RECORD_VALUES = 1L << 20;
    /** The most bytes (key and value together) of one record that training or serving decodes. */
    public static final String MAX_RECORD_BYTES_CONFIG = "kafkaml.max.record.bytes";
    /**
     * Default of {@value #MAX_RECORD_BYTES_CONFIG}: 16 MiB, room for the largest record of
     * {@link #DEFAULT_MAX_RECORD_VALUES} values in any format (4 MiB as float32, about 12 MiB as JSON text).
     */
    public static final long DEFAULT_MAX_RECORD_BYTES = 16L << 20;
    /** The most bytes of one registry artifact (a model's weights, a trained model, a Keras model's weights). */
    public static final String MAX_ARTIFACT_BYTES_CONFIG = "kafkaml.max.artifact.bytes";
    /** Default of {@value #MAX_ARTIFACT_BYTES_CONFIG}: 512 MiB (134 million float32 parameters). */
    public static final long DEFAULT_MAX_ARTIFACT_BYTES = 512L << 20;
    /** The most parameters a model configuration may declare for kafkaml to build its network. */
    public static final String MAX_MODEL_PARAMETERS_CONFIG = "kafkaml.max.model.parameters";
    /**
     * Default of {@value #MAX_MODEL_PARAMETERS_CONFIG}: 134,217,728 parameters, as many float32 weights as fill the
     * default {@value #MAX_ARTIFACT_BYTES_CONFIG} (512 MiB).
     */
    public static final long DEFAULT_MAX_MODEL_PARAMETERS = DEFAULT_MAX_ARTIFACT_BYTES / Float.BYTES;
    /** The most control messages one wait for a deployment's control message scans. */
    public static final String MAX_CONTROL_MESSAGES_CONFIG = "kafkaml.max.control.messages";
    /** Default of {@value #MAX_CONTROL_MESSAGES_CONFIG}: 1,000,000 messages. */
    public static final long DEFAULT_MAX_CONTROL_MESSAGES = 1_000_000L;
    /** How long the control logger retries a refusal by the broker before it is final. */
    public static final String CONTROL_LOGGER_REFUSAL_RETRY_MS_CONFIG = "kafkaml.control.logger.refusal.retry.ms";
    /** Default of {@value #CONTROL_LOGGER_REFUSAL_RETRY_MS_CONFIG}: 30,000 ms. */
    public static final long DEFAULT_CONTROL_LOGGER_REFUSAL_RETRY_MS = 30_000L;
    /** How many of a result's newest model versions keep their model artifacts (the version retention). */
    public static final String VERSIONS_RETAIN_CONFIG = "kafkaml.versions.retain";
    /** Default of {@value #VERSIONS_RETAIN_CONFIG}: 10 versions. */
    public static final long DEFAULT_VERSIONS_RETAIN = 10L;
    /** The {@code retention.ms} of the metrics topic when the registry creates it. */
    public static final String METRICS_RETENTION_MS_CONFIG = "kafkaml.metrics.retention.ms";
    /**
     * Default of {@value #METRICS_RETENTION_MS_CONFIG}: -1, every record kept (a result's whole per-epoch history; a
     * 30-day default would have cut the charts of month-old batch results too).
     */
    public static final long DEFAULT_METRICS_RETENTION_MS = -1L;
    /** The most unlabelled records a semi-supervised run holds in memory. */
    public static final String SEMI_SUPERVISED_MAX_UNLABELLED_CONFIG = "kafkaml.semi.supervised.max.unlabelled";
    /** Default of {@value #SEMI_SUPERVISED_MAX_UNLABELLED_CONFIG}: 100,000 records. */
    public static final long DEFAULT_SEMI_SUPERVISED_MAX_UNLABELLED = 100_000L;

    /** The number of inference replicas a worker process runs. */
    public static final String INFERENCE_REPLICAS_CONFIG = "kafkaml.inference.replicas";
    /** This process's instance id in the names and transactional ids of its inference replicas. */
    public static final String INFERENCE_INSTANCE_ID_CONFIG = "kafkaml.inference.instance.id";
    /** How long an inference stop may take. */
    public static final String INFERENCE_SHUTDOWN_GRACE_MS_CONFIG = "kafkaml.inference.shutdown.grace.ms";
    /** How often the owner of an inference deployment refreshes its heartbeat and checks its ownership. */
    public static final String INFERENCE_HEARTBEAT_INTERVAL_MS_CONFIG = "kafkaml.inference.heartbeat.interval.ms";
    /** Exactly once: the longest an inference replica's transaction stays open across polls. */
    public static final String INFERENCE_COMMIT_INTERVAL_MS_CONFIG = "kafkaml.inference.commit.interval.ms";
    /** How long a training worker waits for its runner to record CANCELLED after a stop request. */
    public static final String TRAIN_SHUTDOWN_GRACE_MS_CONFIG = "kafkaml.train.shutdown.grace.ms";
    /** The class that decides what a failed inference input does. */
    public static final String INFERENCE_EXCEPTION_HANDLER_CONFIG = "kafkaml.inference.exception.handler";
    /** The most restarts of a supervised runner within the window. */
    public static final String RESTART_MAX_CONFIG = "kafkaml.restart.max";
    /** The window in which restarts are counted. */
    public static final String RESTART_WINDOW_MS_CONFIG = "kafkaml.restart.window.ms";
    /** The wait before the first restart. */
    public static final String RESTART_BACKOFF_MS_CONFIG = "kafkaml.restart.backoff.ms";
    /** The longest wait before a restart. */
    public static final String RESTART_BACKOFF_MAX_MS_CONFIG = "kafkaml.restart.backoff.max.ms";

    /** The port of the Prometheus endpoint ({@code /metrics}) of a worker or {@code kafkaml infer} process. */
    public static final String METRICS_PORT_CONFIG = "kafkaml.metrics.port";

    /** Header on every prediction: the id of the training result whose model made it. */
    public static final String RESULT_HEADER = "kafkaml.result";
    /** Header on every prediction: the name of the model that made it. */
    public static final String MODEL_HEADER = "kafkaml.model";
    /**
     * Header on every prediction made by a model version ({@link io.kafkaml.registry.ModelVersion}): its number, as
     * decimal text. Absent when the result's trained model (no version) made it.
     */
    public static final String MODEL_VERSION_HEADER = "kafkaml.model.version";
    /** Dead-letter header: the topic of the record that could not be processed. */
    public static final String DLQ_TOPIC_HEADER = "kafkaml.dlq.topic";
    /** Dead-letter header: its partition (decimal text). */
    public static final String DLQ_PARTITION_HEADER = "kafkaml.dlq.partition";
    /** Dead-letter header: its offset (decimal text). */
    public static final String DLQ_OFFSET_HEADER = "kafkaml.dlq.offset";
    /** Dead-letter header: where the input failed (DECODE, PREDICT, PRODUCE). */
    public static final String DLQ_STAGE_HEADER = "kafkaml.dlq.stage";
    /** Dead-letter header: the class of the error. */
    public static final String DLQ_ERROR_CLASS_HEADER = "kafkaml.dlq.error.class";
    /** Dead-letter header: the reason, for a person. */
    public static final String DLQ_ERROR_MESSAGE_HEADER = "kafkaml.dlq.error.message";
    /** Dead-letter header: present when the input's key, value and headers were left out of the dead-letter copy. */
    public static final String DLQ_PAYLOAD_OMITTED_HEADER = "kafkaml.dlq.payload.omitted";

    /** Every header kafkaml writes, with its documentation, in the order of the docs table. */
    public static final Map<String, String> HEADERS;

    private static final ConfigDef CONFIG = new ConfigDef();
    private static final Map<String, String> ENV = new LinkedHashMap<>();
    private static final Map<String, String> ENV_TO_KEY = new HashMap<>();
    private static final Set<String> WARNED = ConcurrentHashMap.newKeySet();
    private static final List<ConfigDef> CLIENT_DEFINITIONS = List.of(
            org.apache.kafka.clients.consumer.ConsumerConfig.configDef(),
            org.apache.kafka.clients.producer.ProducerConfig.configDef(),
            org.apache.kafka.clients.admin.AdminClientConfig.configDef());

    static {
        define(
                REGISTRY_PREFIX_CONFIG,
                "KAFKAML_REGISTRY_PREFIX",
                Type.STRING,
                "kafkaml",
                new ConfigDef.NonEmptyString(),
                Importance.HIGH,
                "Topic prefix of the registry: models, configurations, deployments, results and the "
                        + "datasource catalog live in the compacted topics <prefix>.models, <prefix>.configurations, ...");
        define(
                CONTROL_TOPIC_CONFIG,
                "KAFKAML_CONTROL_TOPIC",
                Type.STRING,
                "KAFKA_ML_CONTROL_TOPIC",
                new ConfigDef.NonEmptyString(),
                Importance.HIGH,
                "The control topic: data sinks announce finished streams on it, training deployments wait on it, the "
                        + "control logger catalogs it (Kafka-ML's name is the default)");
        define(
                WORKER_ROLE_CONFIG,
                "KAFKAML_ROLE",
                Type.STRING,
                null,
                ConfigDef.LambdaValidator.with(
                        (name, value) -> {
                            if (value != null
                                    && !List.of("train", "infer", "control-logger")
                                            .contains(value.toString().toLowerCase(Locale.ROOT))) {
                                throw new ConfigException(name, value, "must be train, infer or control-logger");
                            }
                        },
                        () -> "train, infer or control-logger"),
                Importance.HIGH,
                "kafkaml worker: what this container runs (required by the worker)");
        define(
                DEPLOYMENT_ID_CONFIG,
                "KAFKAML_DEPLOYMENT_ID",
                Type.STRING,
                null,
                null,
                Importance.HIGH,
                "Worker role train: the training deployment, as recorded in the registry (required)");
        define(
                DEPLOYMENT_MODEL_CONFIG,
                "KAFKAML_MODEL",
                Type.STRING,
                null,
                null,
                Importance.MEDIUM,
                "Worker role train: train only this model of the deployment's configuration (default: all)");
        define(
                INFERENCE_RESULT_ID_CONFIG,
                "KAFKAML_RESULT_ID",
                Type.STRING,
                null,
                null,
                Importance.HIGH,
                "Worker role infer: the training result whose model is served (required)");
        define(
                INFERENCE_INPUT_TOPIC_CONFIG,
                "KAFKAML_INPUT_TOPIC",
                Type.STRING,
                null,
                null,
                Importance.HIGH,
                "Worker role infer: the topic of the inputs (required)");
        define(
                INFERENCE_OUTPUT_TOPIC_CONFIG,
                "KAFKAML_OUTPUT_TOPIC",
                Type.STRING,
                null,
                null,
                Importance.HIGH,
                "Worker role infer: the topic the predictions are written to (required)");
        define(
                INFERENCE_ID_CONFIG,
                "KAFKAML_INFERENCE_ID",
                Type.STRING,
                null,
                null,
                Importance.MEDIUM,
                "Worker role infer: the inference deployment (default infer-<result id with dots as dashes>)");
        define(
                INFERENCE_REPLICA_INDEX_CONFIG,
                "KAFKAML_REPLICA_INDEX",
                Type.STRING,
                null,
                null,
                Importance.LOW,
                "Deprecated: read as kafkaml.inference.instance.id when that is not set");
        define(
                INFERENCE_REPLICAS_CONFIG,
                "KAFKAML_REPLICAS",
                Type.INT,
                1,
                ConfigDef.Range.atLeast(1),
                Importance.MEDIUM,
                "Worker role infer: the replicas (consumers of the group) this process runs");
        define(
                INFERENCE_INSTANCE_ID_CONFIG,
                "KAFKAML_INSTANCE_ID",
                Type.STRING,
                null,
                ConfigDef.LambdaValidator.with(
                        (name, value) -> {
                            if (value != null && !value.toString().matches("[A-Za-z0-9._-]{1,100}")) {
                                throw new ConfigException(name, value, "use 1-100 of A-Z a-z 0-9 . _ -");
                            }
                        },
                        () -> "1-100 of A-Z a-z 0-9 . _ -"),
                Importance.MEDIUM,
                "Inference: this process's instance id; its replicas and, with exactly-once, their transactional ids "
                        + "are <inference id>-<instance id>-<n>. Pin it (as Kafka Streams' group.instance.id) so a "
                        + "restarted process fences its killed predecessor at once (default: the worker uses $HOSTNAME, "
                        + "the pod's name; otherwise random)");
        define(
                INFERENCE_SHUTDOWN_GRACE_MS_CONFIG,
                "KAFKAML_SHUTDOWN_GRACE_MS",
                Type.LONG,
                20_000L,
                ConfigDef.Range.atLeast(0),
                Importance.MEDIUM,
                "Inference: how long a stop (SIGTERM) may take, in ms: replicas finish and commit their batch within "
                        + "it or abandon it (predicted again); the process exits when it has passed, even with no broker");
        define(
                INFERENCE_COMMIT_INTERVAL_MS_CONFIG,
                "KAFKAML_COMMIT_INTERVAL_MS",
                Type.LONG,
                100L,
                ConfigDef.Range.atLeast(0),
                Importance.MEDIUM,
                "Inference, exactly once: the longest, in ms, a replica keeps one transaction open across polls before "
                        + "it commits (as Kafka Streams' commit.interval.ms, 100 under exactly-once): fewer, larger "
                        + "transactions under a backlog. It commits sooner when a poll brings fewer inputs than the batch "
                        + "size (it has caught up: waiting would only delay read_committed readers), on a rebalance and "
                        + "on stop, and never later than half of the smaller of max.poll.interval.ms and "
                        + "transaction.timeout.ms; an abort rewinds every poll of the transaction. 0: one transaction "
                        + "per poll");
        define(
                INFERENCE_HEARTBEAT_INTERVAL_MS_CONFIG,
                "KAFKAML_HEARTBEAT_INTERVAL_MS",
                Type.LONG,
                10_000L,
                ConfigDef.Range.atLeast(100),
                Importance.LOW,
                "Inference: how often, in ms, the process owning an inference deployment refreshes its heartbeat "
                        + "in the registry and checks that it still owns it (a joining process checks the record). "
                        + "Where the deployment's consumer group cannot be described, a RUNNING deployment whose "
                        + "heartbeat a reader saw unchanged for three intervals (the lease, recorded with it) is STALE, "
                        + "and a new process may take it over");
        define(
                TRAIN_SHUTDOWN_GRACE_MS_CONFIG,
                "KAFKAML_TRAIN_SHUTDOWN_GRACE_MS",
                Type.LONG,
                20_000L,
                ConfigDef.Range.atLeast(0),
                Importance.LOW,
                "Worker role train: how long, in ms, a stop (SIGTERM) waits for the training runner to end and record "
                        + "CANCELLED (then it exits 3); past it the worker exits 1 saying so (keep it under the "
                        + "pod's terminationGracePeriodSeconds)");
        define(
                INFERENCE_EXCEPTION_HANDLER_CONFIG,
                "KAFKAML_INFERENCE_EXCEPTION_HANDLER",
                Type.CLASS,
                "io.kafkaml.inference.InferenceExceptionHandler$DeadLetterOrFail",
                null,
                Importance.MEDIUM,
                "Inference: the InferenceExceptionHandler that decides (CONTINUE: dead-letter and go on; FAIL: the "
                        + "deployment FAILS) for an input that cannot be decoded, predicted or written");
        define(
                RESTART_MAX_CONFIG,
                "KAFKAML_RESTART_MAX",
                Type.INT,
                5,
                ConfigDef.Range.atLeast(0),
                Importance.MEDIUM,
                "Supervisor: the most restarts of a failed runner (an inference replica) within "
                        + "kafkaml.restart.window.ms; one more failure and the deployment is FAILED");
        define(
                RESTART_WINDOW_MS_CONFIG,
                "KAFKAML_RESTART_WINDOW_MS",
                Type.LONG,
                600_000L,
                ConfigDef.Range.atLeast(1),
                Importance.LOW,
                "Supervisor: the sliding window in which restarts are counted, in ms");
        define(
                RESTART_BACKOFF_MS_CONFIG,
                "KAFKAML_RESTART_BACKOFF_MS",
                Type.LONG,
                1_000L,
                ConfigDef.Range.atLeast(0),
                Importance.LOW,
                "Supervisor: the wait before the first restart, in ms; it doubles with each failure in "
                        + "the window");
        define(
                RESTART_BACKOFF_MAX_MS_CONFIG,
                "KAFKAML_RESTART_BACKOFF_MAX_MS",
                Type.LONG,
                30_000L,
                ConfigDef.Range.atLeast(0),
                Importance.LOW,
                "Supervisor: the longest wait before a restart, in ms");
        define(
                INFERENCE_EXACTLY_ONCE_CONFIG,
                "KAFKAML_EXACTLY_ONCE",
                Type.BOOLEAN,
                false,
                null,
                Importance.MEDIUM,
                "Worker role infer: true for exactly-once (transactions, read_committed), false for at-least-once");
        define(
                INFERENCE_DLQ_TOPIC_CONFIG,
                "KAFKAML_DLQ_TOPIC",
                Type.STRING,
                null,
                null,
                Importance.MEDIUM,
                "Worker role infer: the dead-letter topic for inputs that cannot be predicted (default: none)");
        define(
                INFERENCE_GROUP_ID_CONFIG,
                "KAFKAML_GROUP_ID",
                Type.STRING,
                null,
                null,
                Importance.LOW,
                "Worker role infer: the consumer group of the replicas (default kafkaml-inference-<inference id>)");
        define(
                INFERENCE_DECISION_THRESHOLD_CONFIG,
                "KAFKAML_DECISION_THRESHOLD",
                Type.DOUBLE,
                null,
                null,
                Importance.LOW,
                "Worker role infer: the probability from which a binary or multi-label (sigmoid) output "
                        + "is predicted as class 1, in (0, 1) (default: the threshold the model was trained with, 0.5 unless "
                        + "its training spec set one)");
        define(
                INFERENCE_VERSION_CONFIG,
                "KAFKAML_MODEL_VERSION",
                Type.INT,
                null,
                null,
                Importance.LOW,
                "Worker role infer: the model version of the result to serve, pinned (default: the result's trained "
                        + "model, or with kafkaml.inference.follow.promoted its promoted version)");
        define(
                INFERENCE_FOLLOW_PROMOTED_CONFIG,
                "KAFKAML_FOLLOW_PROMOTED",
                Type.BOOLEAN,
                false,
                null,
                Importance.LOW,
                "Worker role infer: serve the result's promoted version and switch to each version promoted later, "
                        + "between batches (hot swap)");
        define(
                ND4J_THREADS_CONFIG,
                "KAFKAML_ND4J_THREADS",
                Type.INT,
                0,
                null,
                Importance.LOW,
                "Training and serving: the threads ND4J computes with (libnd4j's OpenMP threads and OpenBLAS's) when the "
                        + "environment does not set OMP_NUM_THREADS (which ND4J reads itself and which then wins); 0 "
                        + "means the processors this JVM may use (Runtime.availableProcessors(), which follows a "
                        + "container's CPU limit, where ND4J alone takes the host's physical cores); a negative value "
                        + "leaves ND4J's own choice. Set once per process, by the first inference or training started");
        define(
                MAX_RECORD_VALUES_CONFIG,
                "KAFKAML_MAX_RECORD_VALUES",
                Type.LONG,
                DEFAULT_MAX_RECORD_VALUES,
                ConfigDef.Range.atLeast(1),
                Importance.LOW,
                "Training and serving: the most values one record's features may hold (the product of its data_reshape) "
                        + "when the model leaves their number to the stream (a convolutional model of any height and "
                        + "width, a recurrent model of any length). A larger record shape is refused before anything is "
                        + "allocated, naming this setting; a model whose declared input fixes every size is not limited");
        define(
                MAX_RECORD_BYTES_CONFIG,
                "KAFKAML_MAX_RECORD_BYTES",
                Type.LONG,
                DEFAULT_MAX_RECORD_BYTES,
                ConfigDef.Range.atLeast(1),
                Importance.LOW,
                "Training and serving: the most bytes (key and value together) of one record that is decoded. A larger "
                        + "record is refused before it is parsed, as a bad record (dead-letter topic, bad-record "
                        + "policy) whose error names its topic, partition, offset and this setting");
        define(
                MAX_ARTIFACT_BYTES_CONFIG,
                "KAFKAML_MAX_ARTIFACT_BYTES",
                Type.LONG,
                DEFAULT_MAX_ARTIFACT_BYTES,
                ConfigDef.Range.between(1, Integer.MAX_VALUE - 8),
                Importance.LOW,
                "Registry: the most bytes of one artifact stored or loaded (the weights of a model registered with "
                        + "them, such as an imported Keras model; a trained model). A larger one is refused before it "
                        + "is written or its bytes are allocated, naming this setting");
        define(
                MAX_MODEL_PARAMETERS_CONFIG,
                "KAFKAML_MAX_MODEL_PARAMETERS",
                Type.LONG,
                DEFAULT_MAX_MODEL_PARAMETERS,
                ConfigDef.Range.atLeast(1),
                Importance.LOW,
                "Models: the most parameters (weights and biases) a model configuration may declare. They are counted "
                        + "from the configuration (DL4J JSON, a Keras file's configuration, a registry record) before "
                        + "DL4J allocates the network; a larger one is refused as an invalid model naming its count "
                        + "and this setting");
        define(
                MAX_CONTROL_MESSAGES_CONFIG,
                "KAFKAML_MAX_CONTROL_MESSAGES",
                Type.LONG,
                DEFAULT_MAX_CONTROL_MESSAGES,
                ConfigDef.Range.atLeast(1),
                Importance.LOW,
                "The most control messages kafkaml reads or keeps: one wait for a deployment's control message reads "
                        + "at most this many (of any deployment, malformed ones included), then fails naming this "
                        + "setting; the scan for the largest deployment id reads only the newest this many; the control "
                        + "logger catalogs at most this many datasources (reading each partition from its newest share), "
                        + "then warns and records no more. Bounds time and memory on a huge or flooded control topic");
        define(
                CONTROL_LOGGER_REFUSAL_RETRY_MS_CONFIG,
                "KAFKAML_CONTROL_LOGGER_REFUSAL_RETRY_MS",
                Type.LONG,
                DEFAULT_CONTROL_LOGGER_REFUSAL_RETRY_MS,
                ConfigDef.Range.atLeast(0),
                Importance.LOW,
                "The control logger: how long a refusal by the broker (a failed authentication or TLS handshake, a "
                        + "missing ACL) is retried, with a backoff and a WARN each time, before it is final (one ERROR "
                        + "line, the logger stops and reports it). SCRAM credentials and ACLs reach every broker "
                        + "asynchronously, so a refusal right after they were created passes. 0: the first refusal is "
                        + "final");
        define(
                VERSIONS_RETAIN_CONFIG,
                "KAFKAML_VERSIONS_RETAIN",
                Type.LONG,
                DEFAULT_VERSIONS_RETAIN,
                ConfigDef.Range.between(1, Integer.MAX_VALUE),
                Importance.LOW,
                "Incremental training: how many of a result's newest model versions keep their model and normalizer "
                        + "artifacts. After each version an incremental run publishes, the artifacts of older ones are "
                        + "deleted, except the promoted version, every version promoted by hand (pinned: a rollback "
                        + "target), the one the result names and every one an inference deployment serves by number "
                        + "(until forgotten); their version records (metrics, offsets, reason) stay, serving one says "
                        + "its model was deleted by this retention and promoting one is refused");
        define(
                METRICS_RETENTION_MS_CONFIG,
                "KAFKAML_METRICS_RETENTION_MS",
                Type.LONG,
                DEFAULT_METRICS_RETENTION_MS,
                ConfigDef.Range.atLeast(-1),
                Importance.LOW,
                "The retention.ms the registry gives its metrics topic (one record per epoch or window, append-only) "
                        + "when it creates it; -1 (the default) keeps every record. Set it to bound the topic of a "
                        + "long indefinite incremental run, knowing it also cuts batch results' histories. An existing topic is not altered "
                        + "(kafka-configs --alter). A result's history older than this is gone: its epochs are read "
                        + "from the oldest record left");
        define(
                SEMI_SUPERVISED_MAX_UNLABELLED_CONFIG,
                "KAFKAML_SEMI_SUPERVISED_MAX_UNLABELLED",
                Type.LONG,
                DEFAULT_SEMI_SUPERVISED_MAX_UNLABELLED,
                ConfigDef.Range.between(1, Integer.MAX_VALUE),
                Importance.LOW,
                "Semi-supervised training: the most unlabelled records held in memory. A bounded unsupervised_topic "
                        + "is read up to this many records (the first ones; a warning names the rest left out); an "
                        + "online one stops pseudo-labelling a model once this many pseudo-labelled records were added "
                        + "to its training set");

        define(
                METRICS_PORT_CONFIG,
                "KAFKAML_METRICS_PORT",
                Type.INT,
                null,
                ConfigDef.LambdaValidator.with(
                        (name, value) -> {
                            if (value != null && ((Integer) value < 0 || (Integer) value > 65535)) {
                                throw new ConfigException(name, value, "must be a port, 0 to 65535");
                            }
                        },
                        () -> "0 to 65535"),
                Importance.LOW,
                "kafkaml worker and kafkaml infer: serve Micrometer's Prometheus metrics (records in/out/dead-lettered, "
                        + "batch latency, consumer lag, epochs, loss, JVM) over HTTP at /metrics on this port, on every "
                        + "interface (0: a free port, printed at start). Kubernetes pods are annotated for scraping "
                        + "when it is set. Default: no endpoint");

        Map<String, String> headers = new LinkedHashMap<>();
        headers.put(RESULT_HEADER, "On every prediction: the id of the training result whose model made it");
        headers.put(MODEL_HEADER, "On every prediction: the name of the model that made it");
        headers.put(
                MODEL_VERSION_HEADER,
                "On every prediction made by a model version (infer --version N or --follow): its number, as decimal "
                        + "text; absent when the result's trained model made it");
        headers.put(DLQ_TOPIC_HEADER, "On a dead-letter record: the topic of the input that could not be processed");
        headers.put(DLQ_PARTITION_HEADER, "On a dead-letter record: its partition (decimal text)");
        headers.put(DLQ_OFFSET_HEADER, "On a dead-letter record: its offset (decimal text)");
        headers.put(DLQ_STAGE_HEADER, "On a dead-letter record: where the input failed: DECODE, PREDICT or PRODUCE");
        headers.put(DLQ_ERROR_CLASS_HEADER, "On a dead-letter record: the Java class of the error");
        headers.put(DLQ_ERROR_MESSAGE_HEADER, "On a dead-letter record: the reason, for a person");
        headers.put(
                DLQ_PAYLOAD_OMITTED_HEADER,
                "On a dead-letter record whose copy of the input would exceed the "
                        + "producer's max.request.size (or was refused as too large): why the input's key, value and headers "
                        + "were left out; the other kafkaml.dlq.* headers still say where the input is");
        HEADERS = Collections.unmodifiableMap(headers);
    }

    private final Map<String, Object> clientConfig;

    /**
     * Parses kafkaml's settings out of {@code settings} and keeps the rest as client settings.
     *
     * @param settings {@code kafkaml.*} settings and Kafka client settings; keys must be strings
     * @throws ConfigException naming the key and the bad value when a setting does not parse or validate
     */
    public KafkaMlConfig(Map<String, ?> settings) {
        super(CONFIG, settings, false);
        Map<String, Object> client = new HashMap<>();
        settings.forEach((key, value) -> {
            if (key.startsWith(PREFIX)) {
                if (!CONFIG.names().contains(key)) {
                    warnOnce(
                            key,
                            "Unknown kafkaml setting '" + key + "' is ignored" + suggestion(key)
                                    + "; every setting is listed in docs/settings.md");
                }
            } else {
                client.put(key, value);
                String unknown = ClientConfigs.unknownClientSetting(key);
                if (unknown != null) {
                    warnOnce(key, "Unknown setting " + unknown + "; it reaches no client and is ignored");
                }
            }
        });
        this.clientConfig = Collections.unmodifiableMap(client);
    }

    /**
     * Environment variables with the {@value #ENV_PREFIX} prefix that a command reads itself and that are not
     * settings: {@code KAFKAML_SERVER_TOKEN} ({@code kafkaml server}'s bearer token, a secret kept out of settings).
     */
    private static final java.util.Set<String> COMMAND_ENV = java.util.Set.of("KAFKAML_SERVER_TOKEN");

    /**
     * Reads settings from environment variables, as {@code kafkaml worker} does (see the class documentation).
     *
     * @param env the environment, e.g. {@code System.getenv()}
     * @throws ConfigException naming the setting and the bad value
     */
    public static KafkaMlConfig fromEnvironment(Map<String, String> env) {
        return new KafkaMlConfig(settingsFromEnvironment(env));
    }

    /**
     * The settings that {@code env} gives, as a map of setting names to values (no defaults filled in), for a
     * caller that merges them with settings from elsewhere before {@link #KafkaMlConfig(Map) parsing}.
     */
    public static Map<String, Object> settingsFromEnvironment(Map<String, String> env) {
        // (variables in COMMAND_ENV are read by a command itself, not settings: neither taken nor warned about)
        Map<String, Object> settings = new HashMap<>();
        env.forEach((name, value) -> {
            if (!name.startsWith(ENV_PREFIX)) {
                return;
            }
            if (name.equals(BOOTSTRAP_SERVERS_ENV)) {
                settings.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, value);
            } else if (name.startsWith(CLIENT_ENV_PREFIX)) {
                settings.put(
                        name.substring(CLIENT_ENV_PREFIX.length())
                                .toLowerCase(Locale.ROOT)
                                .replace('_', '.'),
                        value);
            } else if (ENV_TO_KEY.containsKey(name)) {
                settings.put(ENV_TO_KEY.get(name), value);
            } else if (!COMMAND_ENV.contains(name)) {
                warnOnce(
                        name,
                        "Unknown kafkaml environment variable " + name + " is ignored; the known ones are "
                                + BOOTSTRAP_SERVERS_ENV + ", " + CLIENT_ENV_PREFIX + "<SETTING>, " + ENV.values());
            }
        });
        return settings;
    }

    /**
     * The environment variables that give {@code settings} to a process that reads them with
     * {@link #fromEnvironment(Map)} (a Kubernetes pod running {@code kafkaml worker}): the inverse of
     * {@link #settingsFromEnvironment(Map)}. {@code bootstrap.servers} becomes {@value #BOOTSTRAP_SERVERS_ENV}, a
     * defined {@code kafkaml.*} setting its own variable ({@link #environmentVariable(String)}), any other key
     * (client settings, {@code consumer.}/{@code producer.}/{@code admin.} ones included)
     * {@value #CLIENT_ENV_PREFIX}{@code <KEY>} in upper case with dots as underscores. Values are their
     * {@code toString()}; {@code null} values are left out. Secrets ({@link #isSecret(String)}) are converted like
     * any other key: a caller that writes the result where others can read it (a pod spec) must leave them out.
     *
     * @return the variables, by name, in the order of {@code settings}' iteration
     * @throws IllegalArgumentException naming the key if it is an unknown {@code kafkaml.*} key or a client key that
     *     would not come back unchanged from its variable (upper case letters, underscores)
     */
    public static Map<String, String> environment(Map<String, ?> settings) {
        Map<String, String> env = new LinkedHashMap<>();
        settings.forEach((key, value) -> {
            if (value == null) {
                return;
            }
            String name;
            if (key.equals(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG)) {
                name = BOOTSTRAP_SERVERS_ENV;
            } else if (key.startsWith(PREFIX)) {
                name = environmentVariable(key);
            } else {
                name = CLIENT_ENV_PREFIX + key.toUpperCase(Locale.ROOT).replace('.', '_');
                if (!name.substring(CLIENT_ENV_PREFIX.length())
                        .toLowerCase(Locale.ROOT)
                        .replace('_', '.')
                        .equals(key)) {
                    throw new IllegalArgumentException("The setting '" + key + "' cannot be passed as an environment "
                            + "variable (" + name + " would read back as another key)");
                }
            }
            env.put(
                    name,
                    value instanceof List<?> list
                            ? String.join(
                                    ",", list.stream().map(KafkaMlConfig::text).toList())
                            : text(value));
        });
        return env;
    }

    private static String text(Object value) {
        return value instanceof Class<?> type ? type.getName() : String.valueOf(value);
    }

    /**
     * Whether {@code key} holds a secret: a setting of type {@code PASSWORD} in kafkaml's definitions or in a Kafka
     * client's ({@code sasl.jaas.config}, {@code ssl.key.password}, {@code ssl.keystore.password},
     * {@code ssl.truststore.password}, {@code ssl.keystore.key}, ...), with or without a {@code consumer.},
     * {@code producer.} or {@code admin.} prefix. Such values must never be written where others read them (a pod
     * spec, a log line); on Kubernetes they reach pods only from a Secret.
     */
    public static boolean isSecret(String key) {
        if (key.startsWith(PREFIX)) {
            ConfigDef.ConfigKey definition = CONFIG.configKeys().get(key);
            return definition != null && definition.type == Type.PASSWORD;
        }
        String plain = key;
        for (String prefix : List.of(CONSUMER_PREFIX, PRODUCER_PREFIX, ADMIN_PREFIX)) {
            if (key.startsWith(prefix)) {
                plain = key.substring(prefix.length());
            }
        }
        for (ConfigDef client : CLIENT_DEFINITIONS) {
            ConfigDef.ConfigKey definition = client.configKeys().get(plain);
            if (definition != null && definition.type == Type.PASSWORD) {
                return true;
            }
        }
        return false;
    }

    /** The definitions of every {@code kafkaml.*} setting (a copy: changes do not reach kafkaml). */
    public static ConfigDef configDef() {
        return new ConfigDef(CONFIG);
    }

    /** The names of every {@code kafkaml.*} setting, in definition order. */
    public static List<String> names() {
        return List.copyOf(ENV.keySet());
    }

    /**
     * The environment variable that sets {@code key}.
     *
     * @throws IllegalArgumentException if {@code key} is not a kafkaml setting
     */
    public static String environmentVariable(String key) {
        String env = ENV.get(key);
        if (env == null) {
            throw new IllegalArgumentException(
                    "'" + key + "' is not a kafkaml setting; the known settings are " + ENV.keySet());
        }
        return env;
    }

    /**
     * The Kafka client settings as given: every key of the given map that does not start with {@code kafkaml.},
     * prefixed ones included (not yet split per client: see {@link #consumerConfig()}).
     */
    public Map<String, Object> clientConfig() {
        return clientConfig;
    }

    /**
     * The settings an embedded consumer gets from these settings: the plain client keys a consumer knows, then the
     * {@code consumer.}-prefixed ones without their prefix (see the class documentation). A new mutable map; a
     * component adds what it enforces.
     *
     * @throws IllegalArgumentException if {@code bootstrap.servers} is missing
     */
    public Map<String, Object> consumerConfig() {
        return ClientConfigs.consumer(clientConfig, Map.of(), Map.of());
    }

    /** The settings an embedded producer gets, derived as for {@link #consumerConfig()} with {@code producer.}. */
    public Map<String, Object> producerConfig() {
        return ClientConfigs.producer(clientConfig, Map.of(), Map.of());
    }

    /** The settings an embedded admin client gets, derived as for {@link #consumerConfig()} with {@code admin.}. */
    public Map<String, Object> adminConfig() {
        return ClientConfigs.admin(clientConfig, Map.of(), Map.of());
    }

    /** {@value #MAX_RECORD_VALUES_CONFIG}. */
    public long maxRecordValues() {
        return getLong(MAX_RECORD_VALUES_CONFIG);
    }

    /**
     * {@value #MAX_RECORD_VALUES_CONFIG} read from a map of settings (such as the client settings given to
     * {@code LocalTrainingLauncher} or {@code LocalInference}), or its default when the map does not hold it.
     *
     * @throws ConfigException naming the setting when the value is not a whole number of at least 1
     */
    public static long maxRecordValues(Map<String, ?> settings) {
        return longSetting(settings, MAX_RECORD_VALUES_CONFIG);
    }

    /** {@value #MAX_RECORD_BYTES_CONFIG}. */
    public long maxRecordBytes() {
        return getLong(MAX_RECORD_BYTES_CONFIG);
    }

    /**
     * {@value #MAX_RECORD_BYTES_CONFIG} read from a map of settings (such as the client settings of a training
     * runner or an inference replica), or its default when the map does not hold it.
     *
     * @throws ConfigException naming the setting when the value is not a whole number of at least 1
     */
    public static long maxRecordBytes(Map<String, ?> settings) {
        return longSetting(settings, MAX_RECORD_BYTES_CONFIG);
    }

    /**
     * {@value #MAX_ARTIFACT_BYTES_CONFIG} read from a map of settings (such as the client settings of a registry),
     * or its default when the map does not hold it.
     *
     * @throws ConfigException naming the setting when the value is not a whole number in [1, 2^31 - 9]
     */
    public static long maxArtifactBytes(Map<String, ?> settings) {
        return longSetting(settings, MAX_ARTIFACT_BYTES_CONFIG);
    }

    /**
     * {@value #MAX_MODEL_PARAMETERS_CONFIG} read from a map of settings (such as the client settings of a registry), or
     * its default when the map does not hold it.
     *
     * @throws ConfigException naming the setting when the value is not a whole number of at least 1
     */
    public static long maxModelParameters(Map<String, ?> settings) {
        return longSetting(settings, MAX_MODEL_PARAMETERS_CONFIG);
    }

    /**
     * {@value #MAX_CONTROL_MESSAGES_CONFIG} read from a map of settings (such as the client settings of a control
     * channel), or its default when the map does not hold it.
     *
     * @throws ConfigException naming the setting when the value is not a whole number of at least 1
     */
    public static long maxControlMessages(Map<String, ?> settings) {
        return longSetting(settings, MAX_CONTROL_MESSAGES_CONFIG);
    }

    /**
     * {@value #VERSIONS_RETAIN_CONFIG} read from a map of settings, or its default when the map does not hold it.
     *
     * @throws ConfigException naming the setting when the value is not a whole number from 1
     */
    public static int versionsRetain(Map<String, ?> settings) {
        return (int) longSetting(settings, VERSIONS_RETAIN_CONFIG);
    }

    /**
     * {@value #METRICS_RETENTION_MS_CONFIG} read from a map of settings, or its default when the map does not hold it.
     *
     * @throws ConfigException naming the setting when the value is not a whole number from -1
     */
    public static long metricsRetentionMs(Map<String, ?> settings) {
        return longSetting(settings, METRICS_RETENTION_MS_CONFIG);
    }

    /**
     * {@value #SEMI_SUPERVISED_MAX_UNLABELLED_CONFIG} read from a map of settings, or its default when the map does not
     * hold it.
     *
     * @throws ConfigException naming the setting when the value is not a whole number from 1
     */
    public static long semiSupervisedMaxUnlabelled(Map<String, ?> settings) {
        return longSetting(settings, SEMI_SUPERVISED_MAX_UNLABELLED_CONFIG);
    }

    /**
     * {@value #CONTROL_LOGGER_REFUSAL_RETRY_MS_CONFIG} read from a map of settings, or its default when the map does not
     * hold it.
     *
     * @throws ConfigException naming the setting when the value is not a whole number of at least 0
     */
    public static long controlLoggerRefusalRetryMs(Map<String, ?> settings) {
        return longSetting(settings, CONTROL_LOGGER_REFUSAL_RETRY_MS_CONFIG);
    }

    /** A LONG setting read from a map of settings, parsed and validated as defined, or its default. */
    private static long longSetting(Map<String, ?> settings, String key) {
        ConfigDef.ConfigKey definition = CONFIG.configKeys().get(key);
        Object value = settings.get(key);
        if (value == null) {
            return (Long) definition.defaultValue;
        }
        Object parsed = ConfigDef.parseType(key, value, Type.LONG);
        definition.validator.ensureValid(key, parsed);
        return (Long) parsed;
    }

    /** {@value #REGISTRY_PREFIX_CONFIG}. */
    public String registryPrefix() {
        return getString(REGISTRY_PREFIX_CONFIG);
    }

    /** {@value #CONTROL_TOPIC_CONFIG}. */
    public String controlTopic() {
        return getString(CONTROL_TOPIC_CONFIG);
    }

    /**
     * A string setting that must be present, for a caller that requires it in its mode (the worker's roles).
     *
     * @throws ConfigException naming the setting and its environment variable when it is missing or blank
     */
    public String require(String key) {
        String value = getString(key);
        if (value == null || value.isBlank()) {
            throw new ConfigException(
                    "Missing required setting " + key + " (environment variable " + environmentVariable(key) + ")");
        }
        return value;
    }

    /**
     * The Markdown tables of {@code docs/settings.md}: settings (name, environment variable, type, default,
     * valid values, documentation), then the headers.
     */
    public static String markdownTable() {
        StringBuilder out = new StringBuilder();
        out.append("| Setting | Environment variable | Type | Default | Valid values | Description |\n");
        out.append("|---|---|---|---|---|---|\n");
        out.append("| `bootstrap.servers` | `")
                .append(BOOTSTRAP_SERVERS_ENV)
                .append("` | list | | | Kafka brokers (a Kafka client setting) |\n");
        out.append("| any Kafka client setting | `")
                .append(CLIENT_ENV_PREFIX)
                .append("<SETTING>` | | | | e.g. `KAFKAML_CLIENT_SECURITY_PROTOCOL` for `security.protocol`: "
                        + "underscores become dots, lower case |\n");
        for (ConfigDef.ConfigKey key : CONFIG.configKeys().values()) {
            out.append("| `")
                    .append(key.name)
                    .append("` | `")
                    .append(ENV.get(key.name))
                    .append("` | ")
                    .append(key.type.toString().toLowerCase(Locale.ROOT))
                    .append(" | ")
                    .append(key.hasDefault() && key.defaultValue != null ? "`" + key.defaultValue + "`" : "")
                    .append(" | ")
                    .append(key.validator == null ? "" : cell(key.validator.toString()))
                    .append(" | ")
                    .append(cell(key.documentation))
                    .append(" |\n");
        }
        out.append("\n| Header | Description |\n|---|---|\n");
        HEADERS.forEach((name, doc) ->
                out.append("| `").append(name).append("` | ").append(cell(doc)).append(" |\n"));
        return out.toString();
    }

    private static String cell(String text) {
        return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;");
    }

    private static void define(
            String key,
            String env,
            Type type,
            Object defaultValue,
            ConfigDef.Validator validator,
            Importance importance,
            String doc) {
        if (!key.startsWith(PREFIX) || !env.startsWith(ENV_PREFIX) || ENV_TO_KEY.containsKey(env)) {
            throw new IllegalStateException("Bad definition of " + key + " / " + env);
        }
        CONFIG.define(key, type, defaultValue, validator, importance, doc);
        ENV.put(key, env);
        ENV_TO_KEY.put(env, key);
    }

    /**
     * {@code " (did you mean 'kafkaml.x'?)"} naming the known setting nearest to {@code key} by Levenshtein distance
     * (Apache Commons Text), when it is at most a third of the key's length away; otherwise empty.
     */
    static String suggestion(String key) {
        LevenshteinDistance distance = LevenshteinDistance.getDefaultInstance();
        String nearest = null;
        int best = Integer.MAX_VALUE;
        for (String name : new java.util.TreeSet<>(CONFIG.names())) {
            int d = distance.apply(key, name);
            if (d < best) {
                best = d;
                nearest = name;
            }
        }
        return nearest != null && best <= Math.max(2, key.length() / 3) ? " (did you mean '" + nearest + "'?)" : "";
    }

    private static void warnOnce(String name, String message) {
        if (WARNED.add(name)) {
            log.warn(message);
        }
    }

    /** Names that were warned about so far in this JVM (for tests and diagnostics). */
    static List<String> warned() {
        return new ArrayList<>(WARNED);
    }
}
