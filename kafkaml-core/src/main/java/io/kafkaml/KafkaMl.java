package io.kafkaml;

import io.kafkaml.config.KafkaClientSupplier;
import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.inference.InferenceSpec;
import io.kafkaml.inference.LocalInference;
import io.kafkaml.registry.ControlLogger;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.EpochMetrics;
import io.kafkaml.registry.Registry;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.sink.DataSink;
import io.kafkaml.sink.RecordDataSink;
import io.kafkaml.training.LocalTrainingLauncher;
import io.kafkaml.training.TrainingDeployments;
import io.kafkaml.training.TrainingHandle;
import io.kafkaml.training.TrainingLauncher;
import io.kafkaml.training.TrainingListener;
import io.kafkaml.training.TrainingSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * kafkaml in one object: the paper's whole pipeline (define models, group them in configurations, deploy a
 * configuration for training, stream the data through Kafka, collect results, serve a trained model) bound to one
 * settings object, in the manner of {@code KafkaStreams}.
 *
 * <pre>{@code
 * try (KafkaMl ml = KafkaMl.connect(Map.of("bootstrap.servers", "localhost:9092"))) {
 *     ml.models().register(ModelDefinition.of("mlp", "a small classifier", conf));
 *     ml.configurations().create("mlp-only", "mlp");
 *     Training training = ml.train("mlp-only", TrainingSpec.builder().epochs(20).build());
 *     try (RecordDataSink sink = ml.sink().topic("data").deploymentId(training.deploymentId()).testRate(0.2)
 *             .build()) {
 *         rows.forEach(row -> sink.send(row.features(), row.label()));
 *     }   // closing the sink announces the stream: training starts
 *     training.await(Duration.ofMinutes(5));
 *     TrainingResult result = training.results().get(0);
 *     LocalInference serving = ml.serve(InferenceSpec.builder(result.id(), "inputs", "predictions").build());
 * }   // stops serving, training, the catalog and the registry, in that order
 * }</pre>
 *
 * <h2>What it owns</h2>
 * <ul>
 * <li>the {@link Registry} (models, configurations, deployments, results, datasources, artifacts in compacted
 *     topics under {@value KafkaMlConfig#REGISTRY_PREFIX_CONFIG});</li>
 * <li>a {@link ControlLogger} cataloging every data stream announced on {@value KafkaMlConfig#CONTROL_TOPIC_CONFIG}
 *     (off with {@link Builder#controlLogger(boolean)} where another process runs one);</li>
 * <li>a {@link TrainingLauncher}: threads of this JVM by default ({@link LocalTrainingLauncher}), or one of your own
 *     ({@link Builder#launcher}, e.g. kafkaml-k8s's Kubernetes Jobs), or none ({@link Builder#withoutLauncher()}:
 *     an instance that reads and edits the registry, catalogs streams or serves models, but does not train, as the
 *     command line's {@code list} commands and {@code control-logger} use it);</li>
 * <li>the inference deployments started with {@link #serve}.</li>
 * </ul>
 * Every one of them gets the same settings ({@link KafkaMlConfig#originals()}): SASL/TLS and prefixed client
 * settings reach every client they create, and so do the sinks of {@link #sink()}.
 *
 * <h2>Lifecycle</h2>
 * {@link State}: {@code CREATED} ({@link Builder#build()}: nothing connected yet) → {@code RUNNING}
 * ({@link #start()}: the registry has been read, the catalog and the launcher run) → {@code CLOSED}
 * ({@link #close()}); {@code CREATED → CLOSED} too. {@link #connect} is build and start. Every operation but
 * {@link #state()} and {@link #close()} needs RUNNING and otherwise throws {@link IllegalStateException};
 * {@link #start()} twice throws it too. If starting fails, what was started is closed, the state is CLOSED and the
 * error is thrown. {@link #close()} stops, in order: the inference deployments (each finishes and commits its batch
 * within its shutdown grace), the training deployments of the launcher (cancelled: they record CANCELLED), the
 * control logger, the progress threads, the registry; a part that fails to stop is logged and the others are still
 * stopped; the first failure is thrown at the end. Close is idempotent.
 *
 * <p>Thread-safe: one instance may be used by any number of threads. A call that races with {@link #close()} may
 * fail with {@link IllegalStateException}.
 */
public final class KafkaMl implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(KafkaMl.class);
    private static final AtomicInteger PROGRESS_THREADS = new AtomicInteger();

    /** The states of a {@link KafkaMl}, as {@code KafkaStreams.State}. */
    public enum State {
        /** Built; nothing connected. */
        CREATED,
        /** Started: the registry, the control logger and the launcher run. */
        RUNNING,
        /** Closed (terminal). */
        CLOSED;

        /** Whether a {@link KafkaMl} in this state may move to {@code next}. */
        public boolean isValidTransition(State next) {
            return switch (this) {
                case CREATED -> next == RUNNING || next == CLOSED;
                case RUNNING -> next == CLOSED;
                case CLOSED -> false;
            };
        }
    }

    /**
     * Creates the training launcher of a {@link KafkaMl} when it starts.
     */
    @FunctionalInterface
    public interface LauncherFactory {
        /**
         * @param registry the registry the launcher's runners record in (owned by the {@link KafkaMl})
         * @param config the settings
         * @param listener a listener to call as training progresses in this JVM (feeds {@link Training}'s events);
         *     a launcher whose runners run elsewhere may ignore it
         * @return a launcher; the {@link KafkaMl} closes it
         */
        TrainingLauncher create(Registry registry, KafkaMlConfig config, TrainingListener listener);
    }

    private final KafkaMlConfig config;
    private final LauncherFactory launcherFactory;
    private final boolean runControlLogger;
    private final Duration registryTimeout;
    private final TrainingListener globalListener;
    private final KafkaClientSupplier clients;
    private final Map<String, Training> trainings = new ConcurrentHashMap<>();
    private final List<LocalInference> inferences = new CopyOnWriteArrayList<>();
    private volatile State state = State.CREATED;

    private Registry registry;
    private ControlLogger controlLogger;
    private TrainingLauncher launcher;
    private TrainingDeployments deployments;
    private ExecutorService progressExecutor;
    private Models models;
    private Configurations configurations;
    private Datasources datasources;
    private Results results;

    private KafkaMl(Builder builder) {
        this.config = builder.config;
        this.launcherFactory = builder.launcherFactory;
        this.runControlLogger = builder.controlLogger;
        this.registryTimeout = builder.registryTimeout;
        this.globalListener = builder.listener;
        this.clients = builder.clients;
    }

    /**
     * Builds and {@link #start() starts} a {@link KafkaMl} with the default launcher: connected and RUNNING.
     *
     * @param settings {@code bootstrap.servers} and any other Kafka client and {@code kafkaml.*} settings (see
     *     {@link KafkaMlConfig})
     * @throws org.apache.kafka.common.config.ConfigException if a setting is invalid, naming it
     * @throws IllegalArgumentException if {@code bootstrap.servers} is missing
     * @throws io.kafkaml.registry.RegistryException if the registry cannot be read within 60 s
     */
    public static KafkaMl connect(Map<String, ?> settings) {
        return builder(settings).build().start();
    }

    /** {@link #connect(Map)} with parsed settings. */
    public static KafkaMl connect(KafkaMlConfig config) {
        return builder(config).build().start();
    }

    /** A builder for a {@link KafkaMl} with these settings. */
    public static Builder builder(Map<String, ?> settings) {
        return new Builder(new KafkaMlConfig(settings));
    }

    /** A builder for a {@link KafkaMl} with these settings. */
    public static Builder builder(KafkaMlConfig config) {
        return new Builder(config);
    }

    /**
     * Connects: reads the registry (creating its topics if absent), starts the control logger and the launcher.
     *
     * @return this, RUNNING
     * @throws IllegalStateException if it is not CREATED
     * @throws io.kafkaml.registry.RegistryException if the registry cannot be read within its timeout (then CLOSED)
     */
    public synchronized KafkaMl start() {
        if (!state.isValidTransition(State.RUNNING)) {
            throw new IllegalStateException("KafkaMl is " + state + "; it cannot become " + State.RUNNING);
        }
        try {
            registry = Registry.connect(config.originals(), config.registryPrefix(), registryTimeout, clients);
            registry.addListener(this::onRegistryChange);
            if (runControlLogger) {
                controlLogger = ControlLogger.start(config.originals(), registry, config.controlTopic(), clients);
            }
            progressExecutor = Executors.newCachedThreadPool(runnable -> {
                Thread thread = new Thread(runnable, "kafkaml-progress-" + PROGRESS_THREADS.incrementAndGet());
                thread.setDaemon(true);
                return thread;
            });
            if (launcherFactory != null) {
                launcher = Objects.requireNonNull(
                        launcherFactory.create(registry, config, new Dispatcher()),
                        "the launcher factory returned null");
                deployments = new TrainingDeployments(registry, launcher, config.controlTopic());
            }
            models = new Models(registry);
            configurations = new Configurations(registry);
            datasources = new Datasources(registry, controlLogger);
            results = new Results(registry);
            state = State.RUNNING; // after every part is set: a thread that sees RUNNING sees them
            log.info(
                    "kafkaml running: registry '{}', control topic '{}', launcher {}",
                    config.registryPrefix(),
                    config.controlTopic(),
                    launcher == null ? "none" : launcher.getClass().getSimpleName());
            return this;
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    /** The state now. */
    public State state() {
        return state;
    }

    /** The settings every part of this instance uses. */
    public KafkaMlConfig config() {
        return config;
    }

    /**
     * The registry, for what the views here do not cover. Owned by this instance: do not close it.
     *
     * @throws IllegalStateException unless RUNNING
     */
    public Registry registry() {
        requireRunning();
        return registry;
    }

    /**
     * The control logger this instance runs (its counters, its {@link ControlLogger#failure() failure}), or empty
     * when built with {@link Builder#controlLogger(boolean) controlLogger(false)}. Owned by this instance: do not
     * close it.
     *
     * @throws IllegalStateException unless RUNNING
     */
    public java.util.Optional<ControlLogger> controlLogger() {
        requireRunning();
        return java.util.Optional.ofNullable(controlLogger);
    }

    /**
     * The number of control messages this instance's control logger has recorded in the datasource catalog since it
     * started; 0 without a control logger ({@link Builder#controlLogger(boolean)}).
     */
    public long cataloged() {
        requireRunning();
        return controlLogger == null ? 0 : controlLogger.recorded();
    }

    /** The models (the paper's step A). */
    public Models models() {
        requireRunning();
        return models;
    }

    /** The configurations (step B). */
    public Configurations configurations() {
        requireRunning();
        return configurations;
    }

    /** The cataloged data streams. */
    public Datasources datasources() {
        requireRunning();
        return datasources;
    }

    /** The training results (step E). */
    public Results results() {
        requireRunning();
        return results;
    }

    /**
     * Deploys a configuration for training (step C) under a new numeric deployment id: it waits for the control
     * message of its data stream on the control topic, published after this call (send it with {@link #sink()} and
     * {@link Training#deploymentId()}, or re-send a cataloged one with {@link Datasources#resend}), unless
     * {@link TrainingSpec.Builder#reuseStream(boolean)} accepts one sent earlier. See {@link TrainingDeployments}.
     *
     * @throws io.kafkaml.registry.EntityNotFoundException if the configuration or one of its models does not exist
     * @throws io.kafkaml.model.InvalidModelException if a model cannot be trained, with the reason; nothing recorded
     */
    public Training train(String configuration, TrainingSpec spec) {
        requireLauncher();
        return follow(deployments.deploy(configuration, spec));
    }

    /**
     * {@link #train(String, TrainingSpec)} under a deployment id of your choice.
     *
     * @throws io.kafkaml.registry.DuplicateEntityException if the id is taken
     */
    public Training train(String configuration, TrainingSpec spec, String deploymentId) {
        requireLauncher();
        return follow(deployments.deploy(configuration, spec, deploymentId));
    }

    private Training follow(TrainingHandle handle) {
        String id = handle.deploymentId();
        Training[] self = new Training[1];
        Training training = new Training(handle, registry, progressExecutor, () -> trainings.remove(id, self[0]));
        self[0] = training;
        trainings.put(id, training);
        training.registryChanged(); // it may have ended (a control timeout) before it was in the map
        return training;
    }

    /**
     * Serves a trained model (step F) under the id {@code infer-<result id with dots as dashes>}: replicas in this
     * JVM read the input topic as one consumer group and write a prediction per input. See {@link LocalInference}.
     *
     * @throws io.kafkaml.inference.InferenceException if that id is RUNNING another result or other topics
     * @throws io.kafkaml.registry.RegistryException if the result, its model or its artifacts are missing or damaged
     */
    public LocalInference serve(InferenceSpec spec) {
        return serve("infer-" + spec.resultId().replace('.', '-'), spec);
    }

    /**
     * Serves a trained model under an inference deployment id of your choice; several processes serving the same
     * id and result share the input (see {@link LocalInference}). Closing the returned deployment stops it; this
     * instance's {@link #close()} stops it too.
     * Its replicas' consumers, producers and admin clients come from this instance's
     * {@link Builder#clientSupplier client supplier}.
     */
    public LocalInference serve(String inferenceId, InferenceSpec spec) {
        requireRunning();
        LocalInference inference = LocalInference.start(registry, config.originals(), inferenceId, spec, clients);
        inferences.add(inference);
        inferences.removeIf(i -> i.state() != LocalInference.State.RUNNING && i != inference);
        return inference;
    }

    /**
     * A builder of a sink that sends records in the JSON format (or another {@link RecordDataSink} format: call
     * {@code format}) with these settings, announcing its stream on this instance's control topic. Set its topic and
     * deployment id; close the sink to announce the stream.
     */
    public RecordDataSink.Builder sink() {
        requireRunning();
        return RecordDataSink.builder(config.originals())
                .controlTopic(config.controlTopic())
                .clientSupplier(clients);
    }

    /**
     * A builder of another kind of sink with these settings and this control topic, e.g.
     * {@code ml.sink(RawDataSink::builder)} or {@code ml.sink(AvroDataSink::builder)}.
     *
     * @param builder the sink's {@code builder(Map)} method
     */
    public <B extends DataSink.Builder<B>> B sink(Function<Map<String, ?>, B> builder) {
        requireRunning();
        return builder.apply(config.originals())
                .controlTopic(config.controlTopic())
                .clientSupplier(clients);
    }

    /**
     * Stops everything this instance started, in order (see the class documentation). Idempotent.
     *
     * @throws RuntimeException the first failure of a part to stop, after every part was asked to
     */
    @Override
    public void close() {
        synchronized (this) {
            if (state == State.CLOSED) {
                return;
            }
            state = State.CLOSED; // new calls are refused from here on
        }
        List<RuntimeException> failures = new ArrayList<>();
        for (LocalInference inference : inferences) {
            closeQuietly(inference::close, "inference deployment " + inference.id(), failures);
        }
        inferences.clear();
        if (launcher != null) {
            closeQuietly(launcher::close, "training launcher", failures);
        }
        trainings.values().forEach(Training::end);
        trainings.clear();
        if (controlLogger != null) {
            closeQuietly(controlLogger::close, "control logger", failures);
        }
        if (progressExecutor != null) {
            progressExecutor.shutdown();
        }
        if (registry != null) {
            closeQuietly(registry::close, "registry", failures);
        }
        if (!failures.isEmpty()) {
            RuntimeException first = failures.get(0);
            failures.subList(1, failures.size()).forEach(first::addSuppressed);
            throw first;
        }
    }

    private static void closeQuietly(Runnable close, String what, List<RuntimeException> failures) {
        try {
            close.run();
        } catch (RuntimeException e) {
            log.warn("Could not stop the {}: {}", what, e.toString(), e);
            failures.add(e);
        }
    }

    private void requireLauncher() {
        requireRunning();
        if (deployments == null) {
            throw new IllegalStateException(
                    "this KafkaMl was built withoutLauncher(): it cannot train; build one with a launcher to train");
        }
    }

    private void requireRunning() {
        State now = state;
        if (now != State.RUNNING) {
            throw new IllegalStateException("KafkaMl is " + now + (now == State.CREATED ? ": call start() first" : ""));
        }
    }

    /**
     * On the registry's reader thread: a deployment's derived status may have changed, or a result's (its runner's
     * summary, with the epochs it appended meanwhile): its {@link Training} reads it on a progress thread.
     */
    private void onRegistryChange(String kind, String key) {
        if ("deployments".equals(kind)) {
            Training training = trainings.get(key);
            if (training != null) {
                training.registryChanged();
            }
        } else if (kind.startsWith("result")) { // a result ({deploymentId}.{model}) in any of the result topics
            for (Training training : trainings.values()) {
                if (key.startsWith(training.deploymentId() + ".")) {
                    training.registryChanged();
                }
            }
        }
    }

    /** Calls the global listener; one that throws is logged and changes nothing. */
    private void global(String deploymentId, java.util.function.Consumer<TrainingListener> call) {
        if (globalListener != null) {
            try {
                call.accept(globalListener);
            } catch (RuntimeException e) {
                log.warn("[{}] The training listener failed: {}", deploymentId, e.toString());
            }
        }
    }

    /** Hands the launcher's events to the {@link Training} of their deployment, and to the global listener. */
    private final class Dispatcher implements TrainingListener {
        @Override
        public void onDeploymentStatus(String deploymentId, DeploymentStatus status, String error) {
            global(deploymentId, l -> l.onDeploymentStatus(deploymentId, status, error));
            Training training = trainings.get(deploymentId);
            if (training != null) {
                training.onDeploymentStatus(status, error);
                if (status.isTerminal()) {
                    trainings.remove(deploymentId); // the runner's last event
                }
            }
        }

        @Override
        public void onEpoch(String deploymentId, String model, EpochMetrics metrics, int totalEpochs) {
            global(deploymentId, l -> l.onEpoch(deploymentId, model, metrics, totalEpochs));
            Training training = trainings.get(deploymentId);
            if (training != null) {
                training.onEpoch(model, metrics, totalEpochs);
            }
        }

        @Override
        public void onResult(TrainingResult result) {
            global(result.deploymentId(), l -> l.onResult(result));
            Training training = trainings.get(result.deploymentId());
            if (training != null) {
                training.onResult(result);
            }
        }
    }

    /**
     * Builds a {@link KafkaMl} (CREATED: {@link KafkaMl#start()} connects it). Not thread-safe.
     */
    public static final class Builder {
        private final KafkaMlConfig config;
        private LauncherFactory launcherFactory;
        private boolean withoutLauncher;
        private int trainingThreads = 1;
        private boolean controlLogger = true;
        private Duration registryTimeout = Duration.ofSeconds(60);
        private TrainingListener listener;
        private KafkaClientSupplier clients = KafkaClientSupplier.DEFAULT;

        private Builder(KafkaMlConfig config) {
            this.config = Objects.requireNonNull(config, "config");
        }

        /**
         * How many deployments the default local launcher trains at the same time (default 1: one DL4J fit already
         * uses every core); any number may wait for their data meanwhile.
         */
        public Builder trainingThreads(int threads) {
            if (threads < 1) {
                throw new IllegalArgumentException("trainingThreads must be >= 1, was " + threads);
            }
            this.trainingThreads = threads;
            return this;
        }

        /** Another launcher than the default local one (e.g. Kubernetes Jobs). */
        public Builder launcher(LauncherFactory factory) {
            this.launcherFactory = Objects.requireNonNull(factory, "factory");
            this.withoutLauncher = false;
            return this;
        }

        /**
         * No training launcher: the instance reads and edits the registry, runs the control logger (unless
         * {@link #controlLogger(boolean) turned off}), serves models and builds sinks, and starts nothing else (no
         * control-topic listener, no trainer thread); {@link KafkaMl#train} throws {@link IllegalStateException}.
         * For tools that only look or catalog, such as the command line's {@code list} commands.
         */
        public Builder withoutLauncher() {
            this.launcherFactory = null;
            this.withoutLauncher = true;
            return this;
        }

        /** Whether to run a control logger (default true); turn it off where another process catalogs the topic. */
        public Builder controlLogger(boolean run) {
            this.controlLogger = run;
            return this;
        }

        /** How long a registry read-to-end or write may take (default 60 s). */
        public Builder registryTimeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("registryTimeout must be positive, was " + timeout);
            }
            this.registryTimeout = timeout;
            return this;
        }

        /**
         * A listener for every training deployment of this instance, from its start (the per-deployment
         * {@link Training#addListener} sees events from when it is added). Called on trainer threads.
         */
        public Builder trainingListener(TrainingListener listener) {
            this.listener = listener;
            return this;
        }

        /**
         * Where the Kafka clients of this instance come from (default {@link KafkaClientSupplier#DEFAULT}: real
         * clients): the registry's, the control logger's, the default local launcher's (control-topic listeners
         * and the consumers of the data streams) and the sinks' of {@link KafkaMl#sink()}. A test passes a supplier
         * of {@code MockProducer}s and {@code MockConsumer}s sharing an in-memory log and runs a pipeline with no
         * broker. The replicas of {@link KafkaMl#serve} take theirs from it too. Not covered: a launcher of your own
         * ({@link #launcher}), which creates its clients itself.
         */
        public Builder clientSupplier(KafkaClientSupplier clients) {
            this.clients = Objects.requireNonNull(clients, "clients");
            return this;
        }

        /** A {@link KafkaMl} in state CREATED. */
        public KafkaMl build() {
            if (launcherFactory == null && !withoutLauncher) {
                int threads = trainingThreads;
                KafkaClientSupplier supplier = clients;
                launcherFactory = (registry, settings, listener) ->
                        new LocalTrainingLauncher(registry, settings.originals(), threads, listener, supplier);
            }
            return new KafkaMl(this);
        }
    }
}
