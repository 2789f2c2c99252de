package io.kafkaml.registry;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.kafkaml.config.KafkaClientSupplier;
import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.control.ControlChannel;
import io.kafkaml.control.ControlMessage;
import io.kafkaml.internals.ClientConfigs;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.internals.KafkaStore;
import io.kafkaml.registry.internals.RegistryRecords;
import io.kafkaml.stream.StreamSlice;
import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.util.ModelSerializer;

/**
 * kafkaml's registry of models, configurations, deployments, results, datasources and trained model
 * artifacts, kept in compacted Kafka topics and nothing else: no database, no file system.
 *
 * <pre>{@code
 * try (Registry registry = Registry.connect(Map.of("bootstrap.servers", "localhost:9092"))) {
 *     registry.registerModel(ModelDefinition.of("hcopd", "the paper's model", conf));
 *     registry.createConfiguration(new Configuration("hcopd-all", "", List.of("hcopd")));
 *     registry.results("7").forEach(System.out::println);
 * }
 * }</pre>
 *
 * <p><b>Topics</b> ({@code kafkaml} prefix by default): {@code .models}, {@code .configurations},
 * {@code .deployments}, {@code .results}, {@code .result-ends}, {@code .datasources}, {@code .inferences},
 * {@code .inference-claims}, {@code .artifacts} (manifests), {@code .artifact-chunks} and {@code .versions} (model
 * versions, key {@code resultId#n}, and promotions, keys {@code resultId#promotion#n} and the pointer
 * {@code resultId#promoted}: see {@link #publishVersion} and {@link #promote}); each is created if absent
 * with one partition and {@code cleanup.policy=compact}, except {@code .result-ends} and {@code .inference-claims}
 * (the first claim of each inference generation, see {@link Inference}), which are append-only ({@code cleanup.policy=delete},
 * {@code retention.ms=-1}, {@code retention.bytes=-1}: every record is kept; an existing one configured otherwise is
 * altered to that, which needs the {@code AlterConfigs} ACL, or a warning says what to set; a claims topic that
 * keeps deleting records by retention makes {@link #putInference} refuse to claim).
 * Values are JSON; deleting writes a tombstone. Besides them, {@code .metrics} is an append-only log
 * ({@code cleanup.policy=delete}, {@code retention.ms} from {@value KafkaMlConfig#METRICS_RETENTION_MS_CONFIG}, -1 (kept)
 * unless set, when the registry creates it) with one record per trained epoch, keyed by result id
 * ({@link #appendEpoch}, {@link #epochs}); it is read on demand, never held in memory.
 *
 * <p><b>Statuses</b>: a result's status moves only along {@link DeploymentStatus#isValidTransition} (terminal states
 * are final: {@link #putResult} refuses to leave one, and a reader skips a record that does, so every client agrees);
 * a deployment's status is derived from its results ({@link Deployment#derivedFrom}) each time it is read. Compaction
 * cannot revive an ended result: a result's terminal record is written first to {@code .result-ends}, a topic that
 * holds nothing but terminal records (one per result, two when two writers ended it at once) and where the first
 * record of a key wins, and every reader takes a result from there when it is there, whatever {@code .results}
 * (compacted, so possibly down to a record written by a worker that did not know the result had ended) holds. Since
 * {@code .result-ends} is never compacted nor expired, every reader replays the same records in the same order and
 * the first record of a key wins for good, with no client alive. (Where it is still compacted because it could not
 * be altered, a live client writes the winner again behind a record that lost a race, so that compaction keeps it.)
 *
 * <p><b>Consistency</b>: every client reads all topics to their end before {@link #connect} returns, so a new
 * client sees everything; a write returns once the writer's own view shows it. Two clients creating the same
 * name at the same moment both succeed and the later write wins, as with any log-compacted store without a
 * leader; the name checks protect against the common mistake, not against that race.
 *
 * <p><b>Bad records</b>: anyone who may write to a registry topic can put a record there that is not the entity the
 * topic holds. A listing ({@link #models()}, {@link #configurations()}, {@link #deployments()}, {@link #results()},
 * {@link #datasources()}, {@link #inferences()}) leaves such a record out and logs a WARN naming its
 * topic, partition, offset and key (once per record and client), so one bad record never hides the others; reading
 * that exact key ({@link #model(String)}, {@link #result(String)}, a result's {@link #epochs}, ...) throws
 * {@link InvalidRegistryRecordException}
 * with the same words. Deleting the key (a tombstone) removes the bad record.
 *
 * <p><b>Artifacts</b> are stored as chunks of {@value #CHUNK_BYTES} bytes (under the broker's default message
 * size) and a manifest with the SHA-256 digest of the whole; loading checks every chunk is present and the
 * digest matches, and never returns part of an artifact.
 *
 * <p>Thread-safe. {@link #close()} is idempotent.
 */
public final class Registry implements AutoCloseable {

    /** The default topic prefix. */
    public static final String DEFAULT_PREFIX = "kafkaml";
    /** The size of an artifact chunk. */
    public static final int CHUNK_BYTES = 512 * 1024;

    private static final ObjectMapper JSON = RegistryRecords.mapper();
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Registry.class);

    private final Map<String, ?> clientConfig;
    private final KafkaClientSupplier clients;
    private final String models;
    private final String configurations;
    private final String deployments;
    private final String results;
    private final String resultEnds;
    private final String datasources;
    private final String inferences;
    private final String inferenceClaims;
    /** The listeners added by users, and what the store calls for each. */
    private final Map<BiConsumer<String, String>, BiConsumer<String, String>> listeners =
            new java.util.concurrent.ConcurrentHashMap<>();

    private final String artifacts;
    private final String chunks;
    private final String metrics;
    private final String versions;
    private final KafkaStore store;
    /** Bad records already warned about by a listing ({@link #warnSkipped}), at most {@link #MAX_WARNED_RECORDS}. */
    private final Set<String> warnedRecords = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private static final int MAX_WARNED_RECORDS = 10_000;
    private final Duration timeout;
    private final long maxArtifactBytes;
    private Admin admin;

    private Registry(Map<String, ?> clientConfig, String prefix, Duration timeout, KafkaClientSupplier clients) {
        ClientConfigs.requireBootstrapServers(clientConfig);
        this.clientConfig = Map.copyOf(clientConfig);
        this.clients = Objects.requireNonNull(clients, "clients");
        this.maxArtifactBytes = KafkaMlConfig.maxArtifactBytes(clientConfig);
        this.timeout = timeout;
        this.models = prefix + ".models";
        this.configurations = prefix + ".configurations";
        this.deployments = prefix + ".deployments";
        this.results = prefix + ".results";
        this.resultEnds = prefix + ".result-ends";
        this.datasources = prefix + ".datasources";
        this.inferences = prefix + ".inferences";
        this.inferenceClaims = prefix + ".inference-claims";
        this.artifacts = prefix + ".artifacts";
        this.chunks = prefix + ".artifact-chunks";
        this.metrics = prefix + ".metrics";
        this.versions = prefix + ".versions";
        this.store = new KafkaStore(
                clientConfig,
                List.of(
                        models,
                        configurations,
                        deployments,
                        results,
                        resultEnds,
                        datasources,
                        inferences,
                        inferenceClaims,
                        artifacts,
                        chunks,
                        versions),
                Set.of(chunks),
                Map.of(
                        results,
                        Registry::allowedResultUpdate,
                        versions,
                        Registry::allowedVersionUpdate,
                        resultEnds,
                        (current, next) -> false,
                        inferenceClaims,
                        (current, next) -> false),
                Map.of(resultEnds, APPEND_ONLY, inferenceClaims, APPEND_ONLY),
                timeout,
                clients);
        store.addListener((topic, key) -> {
            if (topic.equals(results) || topic.equals(resultEnds) || topic.equals(deployments)) {
                changeLock.lock();
                try {
                    changes++;
                    changed.signalAll();
                } finally {
                    changeLock.unlock();
                }
            }
        });
        try {
            ensureMetricsTopic();
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
    }

    private final java.util.concurrent.locks.ReentrantLock changeLock = new java.util.concurrent.locks.ReentrantLock();
    private final java.util.concurrent.locks.Condition changed = changeLock.newCondition();
    private long changes;

    /** The rule every reader applies to the results topic: a result moves only along allowed transitions. */
    private static boolean allowedResultUpdate(byte[] current, byte[] next) {
        try {
            DeploymentStatus from = DeploymentStatus.valueOf(
                    JSON.readTree(current).path("status").asText());
            DeploymentStatus to =
                    DeploymentStatus.valueOf(JSON.readTree(next).path("status").asText());
            return from.isValidTransition(to);
        } catch (IOException | IllegalArgumentException e) {
            return true; // not a result this version can judge: keep the log's order
        }
    }

    /**
     * The rule every reader applies to the versions topic: a model version and a numbered promotion are immutable
     * (the first record of a key wins); the promotion pointer moves only to a later promotion.
     */
    private static boolean allowedVersionUpdate(byte[] current, byte[] next) {
        try {
            com.fasterxml.jackson.databind.JsonNode from = JSON.readTree(current);
            com.fasterxml.jackson.databind.JsonNode to = JSON.readTree(next);
            return from != null
                    && to != null
                    && from.path("sequence").isIntegralNumber()
                    && to.path("sequence").isIntegralNumber()
                    && to.path("sequence").asLong() > from.path("sequence").asLong();
        } catch (IOException e) {
            return true; // not a record this version can judge: keep the log's order
        }
    }

    /** The configuration of the append-only registry topics: every record kept, none compacted or expired. */
    private static final Map<String, String> APPEND_ONLY = Map.of(
            org.apache.kafka.common.config.TopicConfig.CLEANUP_POLICY_CONFIG,
            org.apache.kafka.common.config.TopicConfig.CLEANUP_POLICY_DELETE,
            org.apache.kafka.common.config.TopicConfig.RETENTION_MS_CONFIG,
            "-1",
            org.apache.kafka.common.config.TopicConfig.RETENTION_BYTES_CONFIG,
            "-1");

    private void ensureMetricsTopic() {
        try {
            Admin client = admin();
            if (!client.listTopics()
                    .names()
                    .get(timeout.toMillis(), TimeUnit.MILLISECONDS)
                    .contains(metrics)) {
                try {
                    client.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(metrics, 1, (short) -1)
                                    .configs(Map.of(
                                            org.apache.kafka.common.config.TopicConfig.CLEANUP_POLICY_CONFIG,
                                            org.apache.kafka.common.config.TopicConfig.CLEANUP_POLICY_DELETE,
                                            org.apache.kafka.common.config.TopicConfig.RETENTION_MS_CONFIG,
                                            String.valueOf(KafkaMlConfig.metricsRetentionMs(clientConfig))))))
                            .all()
                            .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
                    // the first metrics written to the new partition can be lost to Kafka bug KAFKA-15591
                    io.kafkaml.internals.Topics.awaitWritable(client, List.of(metrics), timeout);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof org.apache.kafka.common.errors.TopicExistsException)) {
                        throw e;
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RegistryException("Interrupted while creating the metrics topic '" + metrics + "'", e);
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            throw new RegistryException("Cannot create the metrics topic '" + metrics + "': " + cause, cause);
        }
    }

    /** Connects with the default prefix and a 60 s timeout; returns once everything has been read. */
    public static Registry connect(Map<String, ?> clientConfig) {
        return new Registry(clientConfig, DEFAULT_PREFIX, Duration.ofSeconds(60), KafkaClientSupplier.DEFAULT);
    }

    /**
     * Connects with a topic prefix of your own (several registries can share a cluster).
     *
     * @param timeout how long a read-to-end or a write may take
     */
    public static Registry connect(Map<String, ?> clientConfig, String topicPrefix, Duration timeout) {
        return connect(clientConfig, topicPrefix, timeout, KafkaClientSupplier.DEFAULT);
    }

    /**
     * Connects as {@link #connect(Map, String, Duration)}, creating every Kafka client of the registry with
     * {@code clients}: the producer and consumers that keep its topics, the admin client that creates them and
     * checks datasources, the consumers that read the metrics topic, and those of the {@link ControlChannel}s it
     * opens ({@link #controlChannel}, {@link #resend}). A test passes a supplier of {@code MockProducer}s and
     * {@code MockConsumer}s that share one in-memory log, and runs the registry with no broker.
     *
     * @param clients creates the registry's clients; each client it returns is owned and closed by the registry
     * @throws RegistryException if the topics cannot be created or read to their end within {@code timeout}
     */
    public static Registry connect(
            Map<String, ?> clientConfig, String topicPrefix, Duration timeout, KafkaClientSupplier clients) {
        return new Registry(clientConfig, Objects.requireNonNull(topicPrefix, "topicPrefix"), timeout, clients);
    }

    // ---- models ----

    /**
     * Registers a model.
     *
     * @throws DuplicateEntityException if a model of that name exists
     * @throws io.kafkaml.model.InvalidModelException if it has more parameters than
     *     {@value KafkaMlConfig#MAX_MODEL_PARAMETERS_CONFIG} of this registry's settings allows
     */
    public ModelDefinition registerModel(ModelDefinition model) {
        long maxParameters = KafkaMlConfig.maxModelParameters(clientConfig);
        if (model.summary().parameterCount() > maxParameters) {
            throw new io.kafkaml.model.InvalidModelException("Model '" + model.name() + "' has "
                    + model.summary().parameterCount() + " parameters, over the limit of " + maxParameters + " ("
                    + KafkaMlConfig.MAX_MODEL_PARAMETERS_CONFIG + "); raise it to register the model");
        }
        if (store.get(models, model.name()) != null) {
            throw new DuplicateEntityException("model", model.name());
        }
        store.put(models, model.name(), write(model));
        return model;
    }

    /**
     * Registers a model with initial weights (an imported Keras model, a pre-trained network): the network is
     * stored as an artifact and the definition refers to it.
     *
     * @throws DuplicateEntityException if a model of that name exists
     */
    public ModelDefinition registerModel(ModelDefinition model, Model initialNetwork) {
        if (store.get(models, model.name()) != null) {
            throw new DuplicateEntityException("model", model.name());
        }
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        try {
            ModelSerializer.writeModel(initialNetwork, out, false);
        } catch (IOException e) {
            throw new RegistryException("Cannot serialize the weights of model '" + model.name() + "'", e);
        }
        ArtifactRef weights = storeArtifact("model." + model.name() + ".weights", out.toByteArray());
        return registerModel(model.withWeightsArtifact(weights.id()));
    }

    /**
     * A new network for a model: its initial weights when it has them, otherwise randomly initialized.
     *
     * @throws ArtifactCorruptedException if its weights artifact is damaged
     * @throws io.kafkaml.model.InvalidModelException if its configuration declares more parameters than
     *     {@value KafkaMlConfig#MAX_MODEL_PARAMETERS_CONFIG} of this registry's settings allows (nothing is built)
     */
    public Model newNetwork(ModelDefinition model) {
        long maxParameters = KafkaMlConfig.maxModelParameters(clientConfig);
        if (model.weightsArtifact().isEmpty()) {
            return model.newNetwork(maxParameters);
        }
        ModelDefinition.checkParameterCount(model.name(), model.configuration(), maxParameters);
        // the stored network is built from its own configuration, counted again by loadNetwork before it is read
        return loadNetwork(
                model.weightsArtifact().get(), model, false, "the initial weights of model '" + model.name() + "'");
    }

    /**
     * Restores a network stored as an artifact in DL4J's {@code ModelSerializer} format (a trained model, a version, a
     * checkpoint, initial weights) within this registry's limits, checked before anything large is allocated: the
     * configuration inside the artifact is counted against {@value KafkaMlConfig#MAX_MODEL_PARAMETERS_CONFIG}, the
     * array headers must declare what the configuration has and what the artifact really holds, and the artifact's
     * entries expand to at most four times {@value KafkaMlConfig#MAX_ARTIFACT_BYTES_CONFIG}. No Java object is
     * deserialized from it.
     *
     * @param artifactId the artifact
     * @param model the model it is a network of (its network type is expected)
     * @param withUpdater whether to restore the updater state too (to go on training)
     * @param context what the artifact is, for errors (e.g. {@code "version 3 of result 'd.m'"}), or {@code null}
     * @return a new network, owned by the caller
     * @throws EntityNotFoundException if there is no such artifact
     * @throws ArtifactCorruptedException if it is damaged, not a DL4J model of the model's type, or expands beyond the
     *     limit
     * @throws io.kafkaml.model.InvalidModelException if its configuration declares more parameters than
     *     {@value KafkaMlConfig#MAX_MODEL_PARAMETERS_CONFIG} of this registry's settings allows
     * @throws RegistryException if it holds more than {@value KafkaMlConfig#MAX_ARTIFACT_BYTES_CONFIG} bytes
     */
    public Model loadNetwork(String artifactId, ModelDefinition model, boolean withUpdater, String context) {
        byte[] bytes = loadArtifact(artifactId);
        return io.kafkaml.registry.internals.ModelArtifacts.restore(
                bytes,
                "artifact '" + artifactId + "' (" + (context == null ? "model '" + model.name() + "'" : context) + ")",
                model.isGraph(),
                withUpdater,
                KafkaMlConfig.maxModelParameters(clientConfig),
                maxArtifactBytes);
    }

    /** The model called {@code name}. */
    public Optional<ModelDefinition> model(String name) {
        return read(models, name, ModelDefinition.class);
    }

    /** All models, by name. */
    public List<ModelDefinition> models() {
        return readAll(models, ModelDefinition.class);
    }

    /**
     * Deletes a model.
     *
     * @throws EntityNotFoundException if there is none of that name
     * @throws EntityInUseException if a configuration still uses it
     * @throws RegistryException if a write fails
     */
    public void deleteModel(String name) {
        require(models, name, "model");
        for (Configuration configuration : configurations()) {
            if (configuration.models().contains(name)) {
                throw new EntityInUseException("Model '" + name + "' is used by configuration '" + configuration.name()
                        + "'; delete or change the configuration first");
            }
        }
        store.put(models, name, null);
    }

    // ---- configurations ----

    /**
     * Creates a configuration of registered models.
     *
     * @throws DuplicateEntityException if one of that name exists
     * @throws EntityNotFoundException if a model it names is not registered
     */
    public Configuration createConfiguration(Configuration configuration) {
        if (store.get(configurations, configuration.name()) != null) {
            throw new DuplicateEntityException("configuration", configuration.name());
        }
        for (String model : configuration.models()) {
            require(models, model, "model");
        }
        store.put(configurations, configuration.name(), write(configuration));
        return configuration;
    }

    /** The configuration called {@code name}. */
    public Optional<Configuration> configuration(String name) {
        return read(configurations, name, Configuration.class);
    }

    /** All configurations, by name. */
    public List<Configuration> configurations() {
        return readAll(configurations, Configuration.class);
    }

    /** Deletes a configuration. */
    public void deleteConfiguration(String name) {
        require(configurations, name, "configuration");
        store.put(configurations, name, null);
    }

    // ---- deployments ----

    /**
     * Records a new deployment.
     *
     * @throws DuplicateEntityException if a deployment of that id exists
     * @throws EntityNotFoundException if its configuration does not exist
     */
    public Deployment createDeployment(Deployment deployment) {
        if (store.get(deployments, deployment.id()) != null) {
            throw new DuplicateEntityException("deployment", deployment.id());
        }
        require(configurations, deployment.configuration(), "configuration");
        store.put(deployments, deployment.id(), write(deployment));
        return deployment;
    }

    /**
     * Records a deployment's new data (its control message). Its status is not written: it is derived from the
     * deployment's results.
     */
    public void updateDeployment(Deployment deployment) {
        Deployment recorded = read(deployments, deployment.id(), Deployment.class)
                .orElseThrow(() -> new EntityNotFoundException("deployment", deployment.id()));
        store.put(
                deployments,
                deployment.id(),
                write(new Deployment(
                        deployment.id(),
                        deployment.configuration(),
                        recorded.status(),
                        recorded.error(),
                        deployment.settings(),
                        deployment.createdAt(),
                        deployment.updatedAt(),
                        deployment.controlMessage())));
    }

    /** The deployment of that id, its status derived from its results ({@link Deployment#derivedFrom}). */
    public Optional<Deployment> deployment(String id) {
        return read(deployments, id, Deployment.class).map(d -> derive(d, results(id)));
    }

    /** All deployments, by id, their statuses derived from their results. */
    public List<Deployment> deployments() {
        Map<String, List<TrainingResult>> byDeployment = new java.util.HashMap<>();
        results()
                .forEach(r -> byDeployment
                        .computeIfAbsent(r.deploymentId(), k -> new ArrayList<>())
                        .add(r));
        return readAll(deployments, Deployment.class).stream()
                .map(d -> derive(d, byDeployment.getOrDefault(d.id(), List.of())))
                .toList();
    }

    /**
     * Waits until the deployment's derived status is terminal (FINISHED, FAILED or CANCELLED).
     *
     * @return the deployment once terminal, or empty if it is not within {@code timeout}
     * @throws EntityNotFoundException if there is no such deployment
     */
    public Optional<Deployment> awaitTerminal(String deploymentId, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        changeLock.lock();
        try {
            while (true) {
                Deployment deployment = deployment(deploymentId)
                        .orElseThrow(() -> new EntityNotFoundException("deployment", deploymentId));
                if (deployment.status().isTerminal()) {
                    return Optional.of(deployment);
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return Optional.empty();
                }
                long seen = changes;
                while (changes == seen && left > 0) {
                    left = changed.awaitNanos(left);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        } finally {
            changeLock.unlock();
        }
    }

    private Deployment derive(Deployment deployment, List<TrainingResult> of) {
        List<String> expected;
        try {
            expected = read(configurations, deployment.configuration(), Configuration.class)
                    .map(Configuration::models)
                    .orElse(List.of());
        } catch (InvalidRegistryRecordException e) { // derived from the models that have results instead
            warnSkipped(e);
            expected = List.of();
        }
        return deployment.derivedFrom(expected, of);
    }

    // ---- results ----

    /**
     * Records a training result, or its new state: the write of its owner (the runner training the model) or of one
     * that ends it for the owner (a launcher cancelling, a watcher that saw the worker's pod fail).
     *
     * @throws IllegalStatusTransitionException if the result is in a state that may not become the new one (a
     *     terminal one above all), as this client sees it or as the log decided when another writer came first
     * @throws RegistryException if the write fails (the broker refuses it, or it times out)
     */
    public void putResult(TrainingResult result) {
        Optional<TrainingResult> current = result(result.id());
        if (current.isPresent() && !current.get().status().isValidTransition(result.status())) {
            throw new IllegalStatusTransitionException(
                    result.id(), current.get().status(), result.status());
        }
        byte[] value = write(result);
        if (result.status().isTerminal()) {
            // The end first, where the first record of a key wins and which compaction cannot undo.
            store.put(resultEnds, result.id(), value);
            byte[] end = store.get(resultEnds, result.id());
            if (end != null && !java.util.Arrays.equals(end, value)) {
                TrainingResult winner = decode(resultEnds, result.id(), end, TrainingResult.class);
                if (winner.status() != result.status()) {
                    throw new IllegalStatusTransitionException(result.id(), winner.status(), result.status());
                }
                return; // ended as asked, by another writer first: its record stays
            }
        }
        store.put(results, result.id(), value);
        byte[] end = store.get(resultEnds, result.id());
        if (!result.status().isTerminal() && end != null) { // ended by another writer meanwhile
            throw new IllegalStatusTransitionException(
                    result.id(),
                    decode(resultEnds, result.id(), end, TrainingResult.class).status(),
                    result.status());
        }
        byte[] applied = store.get(results, result.id());
        if (applied != null && !java.util.Arrays.equals(applied, value)) {
            TrainingResult winner = decode(results, result.id(), applied, TrainingResult.class);
            if (!winner.status().isValidTransition(result.status()) && winner.status() != result.status()) {
                throw new IllegalStatusTransitionException(result.id(), winner.status(), result.status());
            }
        }
    }

    /** The result of that id ({@code deploymentId.model}). */
    public Optional<TrainingResult> result(String id) {
        byte[] end = store.get(resultEnds, id);
        return end != null
                ? Optional.of(decode(resultEnds, id, end, TrainingResult.class))
                : read(results, id, TrainingResult.class);
    }

    /** All results. */
    public List<TrainingResult> results() {
        Map<String, byte[]> ends = store.snapshot(resultEnds);
        Map<String, TrainingResult> merged = new java.util.TreeMap<>();
        store.snapshot(results).forEach((key, value) -> {
            if (!ends.containsKey(key)) {
                decodeListed(results, key, value, TrainingResult.class, r -> merged.put(key, r));
            }
        });
        ends.forEach(
                (key, value) -> decodeListed(resultEnds, key, value, TrainingResult.class, r -> merged.put(key, r)));
        return new ArrayList<>(merged.values());
    }

    /** The results of one deployment. */
    public List<TrainingResult> results(String deploymentId) {
        return results().stream()
                .filter(r -> r.deploymentId().equals(deploymentId))
                .toList();
    }

    // ---- model versions ----

    /**
     * Publishes a new immutable version of a result's model: stores the model (and normalizer) as artifacts with their
     * SHA-256, then the version record under the next free number (1, 2, ...; two publishers at once get different
     * numbers), then, if {@code promote}, promotes it ({@link #promote}).
     *
     * @param resultId the training result ({@code deploymentId.model}); it must exist
     * @param model the network as DL4J's {@code ModelSerializer} bytes
     * @param normalizer the fitted normalizer as {@code NormalizerSerializer} bytes, or {@code null}
     * @param metrics the metrics it was judged by (finite values, at most {@value ModelVersion#MAX_METRICS})
     * @param offsets the next offset not yet seen of each partition the data came from (may be empty)
     * @param reason a short reason recorded with it and with its promotion (e.g. a {@code PromotionPolicy}'s)
     * @return the version written
     * @throws EntityNotFoundException if there is no such result
     * @throws IllegalArgumentException if the metrics or offsets are out of {@link ModelVersion}'s bounds
     * @throws RegistryException if a write fails, or the model is over
     *     {@value io.kafkaml.config.KafkaMlConfig#MAX_ARTIFACT_BYTES_CONFIG}
     */
    public ModelVersion publishVersion(
            String resultId,
            byte[] model,
            byte[] normalizer,
            Map<String, Double> metrics,
            Map<TopicPartition, Long> offsets,
            String reason,
            boolean promote) {
        Objects.requireNonNull(model, "model");
        if (result(resultId).isEmpty()) {
            throw new EntityNotFoundException("result", resultId);
        }
        Map<String, Long> seen = new java.util.TreeMap<>();
        (offsets == null ? Map.<TopicPartition, Long>of() : offsets)
                .forEach((partition, offset) -> seen.put(partition.toString(), offset));
        // validate before anything is written
        new ModelVersion(
                resultId,
                1,
                new ArtifactRef("check", 0, 0, "", Instant.EPOCH),
                null,
                metrics,
                seen,
                Instant.EPOCH,
                reason);
        String base = resultId + ".version-" + UUID.randomUUID();
        if (base.length() > 118) {
            base = UUID.randomUUID().toString();
        }
        ArtifactRef modelRef = storeArtifact(base + ".model", model);
        ArtifactRef normalizerRef = normalizer == null ? null : storeArtifact(base + ".normalizer", normalizer);
        store.sync(List.of(versions));
        for (int number = versions(resultId).size() + 1; ; number++) {
            if (store.get(versions, ModelVersion.key(resultId, number)) != null) {
                continue; // a record that does not read still takes its number
            }
            ModelVersion version =
                    new ModelVersion(resultId, number, modelRef, normalizerRef, metrics, seen, Instant.now(), reason);
            byte[] value = write(version);
            store.put(versions, ModelVersion.key(resultId, number), value);
            if (java.util.Arrays.equals(store.get(versions, ModelVersion.key(resultId, number)), value)) {
                log.info(
                        "Published version {} of result '{}'{}", number, resultId, reason == null ? "" : ": " + reason);
                if (promote) {
                    promote(resultId, number, reason, false);
                }
                return version;
            }
        }
    }

    /**
     * Publishes a network as a new version of a result's model; as {@link #publishVersion(String, byte[], byte[], Map,
     * Map, String, boolean)}. The network is serialized here (read it only from the calling thread meanwhile).
     *
     * @param normalizer the fitted normalizer, or {@code null}
     * @throws RegistryException if the network or normalizer cannot be serialized, or a write fails
     */
    public ModelVersion publishVersion(
            String resultId,
            Model network,
            org.nd4j.linalg.dataset.api.preprocessor.DataNormalization normalizer,
            Map<String, Double> metrics,
            Map<TopicPartition, Long> offsets,
            String reason,
            boolean promote) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        byte[] normalizerBytes = null;
        try {
            ModelSerializer.writeModel(network, out, false);
            if (normalizer != null) {
                java.io.ByteArrayOutputStream normalizerOut = new java.io.ByteArrayOutputStream();
                org.nd4j.linalg.dataset.api.preprocessor.serializer.NormalizerSerializer.getDefault()
                        .write(normalizer, normalizerOut);
                normalizerBytes = normalizerOut.toByteArray();
            }
        } catch (Exception e) { // NormalizerSerializer.write declares Exception
            throw new RegistryException(
                    "Cannot serialize a new version of result '" + resultId + "': " + e.getMessage(), e);
        }
        return publishVersion(resultId, out.toByteArray(), normalizerBytes, metrics, offsets, reason, promote);
    }

    /**
     * The versions of a result's model, in version order (a record that does not read as a version is left out, with
     * a warning).
     */
    public List<ModelVersion> versions(String resultId) {
        List<ModelVersion> found = new ArrayList<>();
        for (int number = 1; ; number++) {
            String key = ModelVersion.key(resultId, number);
            byte[] value = store.get(versions, key);
            if (value == null) {
                return found;
            }
            decodeListed(versions, key, value, ModelVersion.class, found::add);
        }
    }

    /** The error for a version {@code resultId} does not have, naming those it has. */
    EntityNotFoundException noSuchVersion(String resultId, int version) {
        return EntityNotFoundException.modelVersion(
                resultId,
                version,
                versions(resultId).stream().map(ModelVersion::version).toList());
    }

    /**
     * Version {@code version} of a result's model.
     *
     * @throws InvalidRegistryRecordException if its record does not read as a version
     */
    public Optional<ModelVersion> version(String resultId, int version) {
        return read(versions, ModelVersion.key(resultId, version), ModelVersion.class);
    }

    /**
     * Promotes version {@code version} of a result into serving by hand, which <b>pins</b> the result
     * ({@link Promotion}): inference deployments that follow the result switch to it between batches, and an
     * incremental run's policy publishes the versions it would promote without promoting them until
     * {@link #unpin}. Promoting an older version than the promoted one is a rollback (recorded as one); promoting the
     * promoted one again changes nothing (or pins it). As {@link #promote(String, int, String, boolean)} with
     * {@code pin} true.
     *
     * @param reason why (recorded; e.g. {@code manual})
     * @return the promotion recorded (or the current one if {@code version} is already promoted and pinned)
     * @throws EntityNotFoundException if there is no such version
     * @throws RegistryException if a write fails
     */
    public Promotion promote(String resultId, int version, String reason) {
        return promote(resultId, version, reason, true);
    }

    /**
     * Promotes version {@code version} of a result into serving: inference deployments that follow the result switch to
     * it between batches. Promoting an older version than the promoted one is a rollback (recorded as one); promoting
     * the promoted one again with the same {@code pin} changes nothing. Each promotion is recorded under the next
     * promotion number (two promoters at once get different numbers: the later one is the promoted version).
     *
     * @param reason why (recorded; e.g. the promotion policy's reason, or {@code manual})
     * @param pin whether the promotion pins the result (by hand), so that automatic promotions do not replace it; an
     *     incremental run's policy promotes with {@code false}
     * @return the promotion recorded (or the current one if it already is {@code version} with that {@code pin})
     * @throws EntityNotFoundException if there is no such version
     * @throws RegistryException if a write fails
     */
    public Promotion promote(String resultId, int version, String reason, boolean pin) {
        store.sync(List.of(versions, artifacts));
        ModelVersion found = version(resultId, version).orElseThrow(() -> noSuchVersion(resultId, version));
        requireVersionModel(found); // a version the retention deleted cannot be served: never promote it
        for (int attempt = 0; attempt < 10; attempt++) {
            Optional<Promotion> last = latestPromotion(resultId);
            if (last.isPresent()
                    && last.get().version() == version
                    && last.get().pinned() == pin) {
                return last.get();
            }
            long sequence = last.map(p -> p.sequence() + 1).orElse(1L);
            int previous = last.map(Promotion::version).orElse(0);
            Promotion promotion = new Promotion(
                    resultId, sequence, version, previous, version < previous, reason, Instant.now(), pin);
            byte[] value = write(promotion);
            store.put(versions, Promotion.key(resultId, sequence), value);
            if (java.util.Arrays.equals(store.get(versions, Promotion.key(resultId, sequence)), value)) {
                store.put(versions, Promotion.pointerKey(resultId), value);
                // a retention that chose its victims before this promotion was written may have deleted the model
                // since (it re-reads the promotions just before each delete, which leaves this one interleaving)
                store.sync(List.of(artifacts));
                if (artifact(found.artifact().id()).isEmpty()) {
                    log.error(
                            "The model of version {} of result '{}' was deleted by the version retention while it "
                                    + "was being promoted; restoring the promotion of version {}",
                            version,
                            resultId,
                            previous);
                    if (previous > 0) {
                        try {
                            promote(resultId, previous, "restored: version " + version + "'s model was deleted", pin);
                        } catch (EntityNotFoundException e) {
                            log.error(
                                    "Cannot restore version {} of result '{}' either: {}",
                                    previous,
                                    resultId,
                                    e.getMessage());
                        }
                    }
                    throw EntityNotFoundException.prunedVersion(resultId, version);
                }
                log.info(
                        "{} version {} of result '{}' (was {}){}{}",
                        promotion.rollback() ? "Rolled back to" : "Promoted",
                        version,
                        resultId,
                        previous,
                        pin ? ", pinned" : "",
                        reason == null || reason.isEmpty() ? "" : ": " + reason);
                return promotion;
            }
        }
        throw new RegistryException("Result '" + resultId + "' was promoted by others ten times while version "
                + version + " was being promoted; try again");
    }

    /**
     * Releases a result pinned by a promotion by hand: records a promotion of the promoted version that does not pin,
     * so that an incremental run's policy promotes again (its next window that beats the promoted version). Nothing
     * happens if the result is not pinned.
     *
     * @return the latest promotion, after the change
     * @throws EntityNotFoundException if the result has no promoted version
     * @throws RegistryException if a write fails
     */
    public Promotion unpin(String resultId, String reason) {
        store.sync(List.of(versions));
        Promotion last = latestPromotion(resultId)
                .orElseThrow(() -> new EntityNotFoundException("promoted version of result", resultId));
        return last.pinned() ? promote(resultId, last.version(), reason, false) : last;
    }

    /**
     * Claims the training of a result for {@code owner} (a trainer's run: an id unique to it): the newest claim wins, so
     * a trainer that starts on a result fences the one that trained it before (a pod that lives on after its
     * replacement started, a second {@code kafkaml train} of the same deployment), which sees with
     * {@link #trainingClaimant} that it lost the result and stops without recording anything more. Kept under the key
     * {@code resultId#trainer} of the versions topic, numbered like promotions (two claimers at once: the later number
     * wins).
     *
     * @return the claim's number, from 1
     * @throws RegistryException if the write fails
     */
    public long claimTraining(String resultId, String owner) {
        Objects.requireNonNull(resultId, "resultId");
        Objects.requireNonNull(owner, "owner");
        String key = resultId + "#trainer";
        store.sync(List.of(versions));
        for (int attempt = 0; attempt < 10; attempt++) {
            byte[] current = store.get(versions, key);
            long sequence = 1;
            try {
                if (current != null) {
                    sequence = JSON.readTree(current).path("sequence").asLong() + 1;
                }
                com.fasterxml.jackson.databind.node.ObjectNode claim = JSON.createObjectNode();
                claim.put("resultId", resultId);
                claim.put("sequence", sequence);
                claim.put("owner", owner);
                claim.put("claimedAt", Instant.now().toString());
                byte[] value = JSON.writeValueAsBytes(claim);
                store.put(versions, key, value);
                if (java.util.Arrays.equals(store.get(versions, key), value)) {
                    return sequence;
                }
            } catch (IOException e) {
                throw new RegistryException("Cannot claim the training of result '" + resultId + "': " + e, e);
            }
        }
        throw new RegistryException("The training of result '" + resultId + "' was claimed by others ten times while "
                + owner + " claimed it; try again");
    }

    /**
     * The owner of the newest training claim of a result ({@link #claimTraining}), after reading the versions topic
     * up to its end; empty if none was made.
     *
     * @throws RegistryException if the topic cannot be read within the registry's timeout
     */
    public Optional<String> trainingClaimant(String resultId) {
        store.sync(List.of(versions));
        byte[] claim = store.get(versions, resultId + "#trainer");
        if (claim == null) {
            return Optional.empty();
        }
        try {
            return Optional.ofNullable(JSON.readTree(claim).path("owner").asText(null));
        } catch (IOException e) {
            throw new InvalidRegistryRecordException(
                    versions, 0, -1, resultId + "#trainer", "training claim", String.valueOf(e.getMessage()), e);
        }
    }

    /**
     * Reads the versions topic up to its end now: what this client answers next about versions and promotions includes
     * everything written before the call, by any process. Blocking, at most the registry's timeout.
     *
     * @throws RegistryException if it cannot be read within the timeout
     */
    public void syncVersions() {
        store.sync(List.of(versions));
    }

    /**
     * The latest promotion of a result, as this client has read the registry: the promoted version is its
     * {@link Promotion#version()}.
     *
     * @throws InvalidRegistryRecordException if its record does not read as a promotion
     */
    public Optional<Promotion> latestPromotion(String resultId) {
        Optional<Promotion> latest = read(versions, Promotion.pointerKey(resultId), Promotion.class);
        long sequence = latest.map(Promotion::sequence).orElse(0L);
        // the numbered records are written before the pointer: one may be ahead of it (a promoter that stopped between)
        while (store.get(versions, Promotion.key(resultId, sequence + 1)) != null) {
            sequence++;
            latest = read(versions, Promotion.key(resultId, sequence), Promotion.class);
        }
        return latest;
    }

    /**
     * The promoted version of a result's model (what a deployment that follows the result serves), or empty if none
     * was promoted.
     *
     * @throws InvalidRegistryRecordException if its record does not read
     */
    public Optional<ModelVersion> promotedVersion(String resultId) {
        return latestPromotion(resultId).flatMap(p -> version(resultId, p.version()));
    }

    /** Every promotion of a result, oldest first (records that do not read are left out, with a warning). */
    public List<Promotion> promotions(String resultId) {
        List<Promotion> found = new ArrayList<>();
        for (long sequence = 1; ; sequence++) {
            String key = Promotion.key(resultId, sequence);
            byte[] value = store.get(versions, key);
            if (value == null) {
                return found;
            }
            decodeListed(versions, key, value, Promotion.class, found::add);
        }
    }

    /**
     * The model of a version as DL4J {@code ModelSerializer} bytes, checked against its SHA-256.
     *
     * @throws EntityNotFoundException if there is no such version
     * @throws ArtifactCorruptedException if its artifact is incomplete or damaged
     */
    public byte[] loadVersionModel(String resultId, int version) {
        ModelVersion found = version(resultId, version).orElseThrow(() -> noSuchVersion(resultId, version));
        requireVersionModel(found);
        return loadArtifact(found.artifact().id());
    }

    /**
     * Checks that a version still has its model: one the version retention ({@link #pruneVersions}) deleted is named
     * as such.
     *
     * @throws EntityNotFoundException if its model artifact was deleted
     */
    public void requireVersionModel(ModelVersion version) {
        if (artifact(version.artifact().id()).isPresent()) {
            return;
        }
        // this client's view of the artifacts topic can lag behind the versions topic (one consumer gives no order
        // across topics): read it to its end before declaring the model gone
        store.sync(List.of(artifacts));
        if (artifact(version.artifact().id()).isPresent()) {
            return;
        }
        if (versions(version.resultId()).stream().anyMatch(v -> v.version() > version.version())) {
            throw EntityNotFoundException.prunedVersion(version.resultId(), version.version());
        }
        // the retention never deletes the newest version: this one's model is missing for another reason
        throw new EntityNotFoundException(
                "model artifact of version " + version.version() + " of result '" + version.resultId() + "'",
                version.artifact().id());
    }

    /**
     * The version retention of a result: deletes the model and normalizer artifacts of its versions older than the
     * newest {@code keepNewest}, except the promoted version, every version ever promoted by hand (pinned: a rollback
     * target), the version whose model the result names ({@link TrainingResult#artifact()}) and every version an
     * inference deployment the registry lists serves by number ({@code InferenceSpec.version}, {@code kafkaml infer
     * --version}; stopped ones included until forgotten, so that they can be started again). The promotions, the
     * result and the inference deployments are read again from the broker just before each delete, so a promotion or
     * a deployment recorded meanwhile keeps its version; a promotion that interleaves with a delete is undone by
     * {@link #promote} itself, which checks the model again after recording it. Their version records
     * stay (metrics, offsets, reason: {@link #versions} still lists them), so numbering and history are unchanged;
     * serving one fails naming the retention ({@link #requireVersionModel}). An incremental run calls it after each
     * version it publishes, with {@value KafkaMlConfig#VERSIONS_RETAIN_CONFIG}. Idempotent; cost linear in the
     * result's versions and promotions.
     *
     * @param keepNewest how many of the newest versions keep their models, at least 1
     * @return the versions whose models were deleted by this call, oldest first
     * @throws IllegalArgumentException if {@code keepNewest} is below 1
     * @throws RegistryException if a write fails
     */
    public List<Integer> pruneVersions(String resultId, int keepNewest) {
        if (keepNewest < 1) {
            throw new IllegalArgumentException("keepNewest must be >= 1, was " + keepNewest);
        }
        store.sync(List.of(versions));
        List<ModelVersion> all = versions(resultId);
        if (all.size() <= keepNewest) {
            return List.of();
        }
        List<Integer> deleted = new ArrayList<>();
        for (ModelVersion version : all.subList(0, all.size() - keepNewest)) {
            List<ArtifactRef> present = java.util.stream.Stream.of(version.artifact(), version.normalizer())
                    .filter(ref -> ref != null && artifact(ref.id()).isPresent())
                    .toList();
            // read what keeps a version just before deleting (a promotion or a deployment recorded meanwhile counts)
            if (present.isEmpty() || retained(resultId, version)) {
                continue;
            }
            boolean any = false;
            for (ArtifactRef ref : present) {
                if (artifact(ref.id()).isPresent()) {
                    deleteArtifact(ref.id());
                    any = true;
                }
            }
            if (any) {
                deleted.add(version.version());
            }
        }
        if (!deleted.isEmpty()) {
            log.info(
                    "Deleted the models of versions {} of result '{}' ({}={}: the newest, the promoted and the pinned "
                            + "versions keep theirs)",
                    deleted,
                    resultId,
                    KafkaMlConfig.VERSIONS_RETAIN_CONFIG,
                    keepNewest);
        }
        return deleted;
    }

    /** Whether the retention must keep this version's model, as the broker has it now (the topics are read first). */
    private boolean retained(String resultId, ModelVersion version) {
        store.sync(List.of(versions, results, inferenceClaims, inferences));
        if (latestPromotion(resultId).map(p -> p.version() == version.version()).orElse(false)
                || promotions(resultId).stream().anyMatch(p -> p.pinned() && p.version() == version.version())
                || result(resultId)
                        .map(r -> version.artifact().id().equals(r.artifact()))
                        .orElse(false)) {
            return true;
        }
        for (Inference inference : inferences()) {
            Object served = inference.settings().get("version");
            if (inference.resultId().equals(resultId)
                    && served != null
                    && (served instanceof Number number
                            ? number.intValue() == version.version()
                            : String.valueOf(version.version())
                                    .equals(String.valueOf(served).trim()))) {
                return true;
            }
        }
        return false;
    }

    /** The topic that holds model versions and promotions (for tools and tests). */
    public String versionsTopic() {
        return versions;
    }

    // ---- per-epoch metrics ----

    /** The append-only topic of per-epoch metrics. */
    public String metricsTopic() {
        return metrics;
    }

    /**
     * Appends one epoch's metrics of a result to the metrics topic, without waiting: one small record keyed by the
     * result id. The future completes when the broker has it, or exceptionally with the producer's error (the caller
     * decides; nothing is retried here).
     *
     * @param run an id of this training attempt: a restarted worker trains again from epoch 1 under a new run, and
     *     {@link #epochs} returns the latest run's history
     * @return completes with where the record was written (keep the first epoch's in
     *     {@link TrainingResult#metricsStart()} so that {@link #epochs} reads only from there)
     */
    public java.util.concurrent.CompletableFuture<MetricsPosition> appendEpoch(
            String resultId, String run, EpochMetrics epoch) {
        com.fasterxml.jackson.databind.node.ObjectNode node = JSON.valueToTree(epoch);
        node.put("result", resultId);
        node.put("run", run);
        node.put("timestamp", Instant.now().toString());
        java.util.concurrent.CompletableFuture<MetricsPosition> done = new java.util.concurrent.CompletableFuture<>();
        try {
            store.append(metrics, resultId, JSON.writeValueAsBytes(node), (metadata, error) -> {
                if (error == null) {
                    done.complete(new MetricsPosition(metadata.partition(), metadata.offset()));
                } else {
                    done.completeExceptionally(error);
                }
            });
        } catch (com.fasterxml.jackson.core.JsonProcessingException | RuntimeException e) {
            done.completeExceptionally(e);
        }
        return done;
    }

    /** Waits until every epoch appended so far is acknowledged or has failed. */
    public void flushEpochs() {
        store.flush();
    }

    /**
     * The full per-epoch history of a result, read from the metrics topic as it is now: the epochs of the result's
     * latest training run, in epoch order (earlier versions kept the history in the result: then that).
     *
     * <p><b>Cost</b>: a result records where its run's first epoch is ({@link TrainingResult#metricsStart()}); only
     * that partition is read, from there: up to the run's last epoch record when the runner recorded it on ending
     * ({@link TrainingResult#metricsEnd()}), otherwise (a live result, or one ended by another party: a cancel, a
     * watcher that saw the worker's pod die) up to the partition's end now, so that epochs written after the last
     * summary are never cut. The records read are those of this run
     * plus those other results appended to the partition meanwhile, never the topic's older history. A result without
     * a start (written before 0.2, or read before its first epoch was acknowledged) costs a read of the whole topic,
     * O(every epoch ever recorded).
     *
     * @throws RegistryException if the metrics topic cannot be read within the registry's timeout
     */
    @SuppressWarnings("deprecation")
    public List<EpochMetrics> epochs(String resultId) {
        java.util.TreeMap<Integer, EpochMetrics> latestRun = new java.util.TreeMap<>();
        String[] run = {null};
        Optional<TrainingResult> result = result(resultId);
        MetricsPosition start = result.map(TrainingResult::metricsStart).orElse(null);
        MetricsPosition end = result.map(TrainingResult::metricsEnd)
                .filter(e -> start != null && e.partition() == start.partition() && e.offset() >= start.offset())
                .orElse(null);
        readMetrics(resultId, start, end, (recordRun, epoch) -> {
            if (!java.util.Objects.equals(recordRun, run[0])) {
                run[0] = recordRun;
                latestRun.clear();
            }
            latestRun.put(epoch.epoch(), epoch);
        });
        if (latestRun.isEmpty()) {
            return result.map(TrainingResult::epochs).orElse(List.of());
        }
        return List.copyOf(latestRun.values());
    }

    /**
     * Reads on in the metrics topic, for following a training whose runner writes elsewhere (a Kubernetes Job, another
     * process) as its history grows: calls {@code each(run, epoch)} for every epoch record of {@code resultId} in the
     * partition of {@code from}, from its offset up to that partition's end when the read starts, in log order, and
     * returns where the next read goes on from. Start from the result's {@link TrainingResult#metricsStart()} (the
     * first epoch of its run; none before the runner's first summary after epoch 1), then from what the last call
     * returned. The records of a restarted run (another {@code run} id, epochs from 1 again) come as they are in the
     * log: the caller decides what a new run means to it. {@link #epochs(String)} reads a result's whole history.
     *
     * <p><b>Cost</b>: one consumer for the call, reading the records every result appended to that partition between
     * {@code from} and its end (the caller's epochs and those of trainings running meanwhile), never older history.
     * Blocking, at most the registry's timeout. Thread-safe.
     *
     * @param from a partition of the metrics topic and the offset to read from, {@code >= 0}
     * @param each called on the calling thread for each epoch record of {@code resultId}, with the record's run id
     *     ({@code null} in records that name none)
     * @return the partition of {@code from} and the offset it was read up to (its end when the read started):
     *     {@code from} itself when nothing new was there
     * @throws RegistryException if the partition cannot be read within the registry's timeout, or holds a record of
     *     {@code resultId} that is not valid epoch metrics JSON (naming its partition and offset)
     */
    public MetricsPosition readEpochs(String resultId, MetricsPosition from, BiConsumer<String, EpochMetrics> each) {
        Objects.requireNonNull(resultId, "resultId");
        Objects.requireNonNull(from, "from");
        Objects.requireNonNull(each, "each");
        return new MetricsPosition(from.partition(), readMetrics(resultId, from, null, each));
    }

    /**
     * Reads the metrics records of {@code resultId}: from {@code start} in its partition when known (up to
     * {@code end} included, when known), else the whole topic; never past the partitions' end offsets at the start of
     * the read.
     *
     * @return with a {@code start}: the offset its partition was read up to (its end when the read started, or
     *     {@code end}'s next); else -1
     */
    private long readMetrics(
            String resultId, MetricsPosition start, MetricsPosition end, BiConsumer<String, EpochMetrics> each) {
        Map<String, Object> defaults = new java.util.HashMap<>();
        defaults.put(org.apache.kafka.clients.consumer.ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        defaults.put(org.apache.kafka.clients.consumer.ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
        Map<String, Object> config = ClientConfigs.consumer(
                clientConfig,
                defaults,
                Map.of(
                        org.apache.kafka.clients.consumer.ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
                        false,
                        // a run's first record expired under the topic's retention: read from the oldest one left
                        org.apache.kafka.clients.consumer.ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
                        "earliest"));
        config.remove(org.apache.kafka.clients.consumer.ConsumerConfig.GROUP_ID_CONFIG);
        byte[] key = resultId.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        long deadline = System.nanoTime() + timeout.toNanos();
        try (org.apache.kafka.clients.consumer.Consumer<byte[], byte[]> consumer = clients.consumer(config)) {
            List<TopicPartition> partitions = start != null
                    ? List.of(new TopicPartition(metrics, start.partition()))
                    : consumer.partitionsFor(metrics, timeout).stream()
                            .map(p -> new TopicPartition(p.topic(), p.partition()))
                            .toList();
            consumer.assign(partitions);
            if (start != null) {
                consumer.seek(partitions.get(0), start.offset());
            } else {
                consumer.seekToBeginning(partitions);
            }
            Map<TopicPartition, Long> ends = new java.util.HashMap<>(consumer.endOffsets(partitions, timeout));
            if (end != null) {
                ends.merge(partitions.get(0), end.offset() + 1, Math::min);
            }
            while (partitions.stream().anyMatch(p -> consumer.position(p, timeout) < ends.get(p))) {
                if (System.nanoTime() > deadline) {
                    throw new RegistryException("Timed out after " + timeout.toMillis() + " ms reading the metrics of '"
                            + resultId + "' from topic '" + metrics + "'");
                }
                for (var record : consumer.poll(Duration.ofMillis(200))) {
                    if (record.value() == null || !java.util.Arrays.equals(record.key(), key)) {
                        continue;
                    }
                    if (record.offset() >= ends.get(new TopicPartition(record.topic(), record.partition()))) {
                        continue;
                    }
                    try {
                        com.fasterxml.jackson.databind.JsonNode node = JSON.readTree(record.value());
                        String recordRun = node.path("run").asText(null);
                        each.accept(recordRun, JSON.treeToValue(node, EpochMetrics.class));
                    } catch (IOException | RuntimeException e) { // one key's history: its bad record is an error
                        throw new InvalidRegistryRecordException(
                                metrics,
                                record.partition(),
                                record.offset(),
                                resultId,
                                "EpochMetrics",
                                String.valueOf(e.getMessage()).replaceAll("\\s+", " "),
                                e);
                    }
                }
            }
            // every record below the ends was seen; one polled past them was not handed on: read on from the end
            return start != null ? ends.get(partitions.get(0)) : -1;
        } catch (org.apache.kafka.common.KafkaException e) {
            throw new RegistryException(
                    "Cannot read the metrics of '" + resultId + "' from topic '" + metrics + "': " + e, e);
        }
    }

    // ---- datasources ----

    /** Records a datasource (the control logger does this for every control message). */
    public void recordDatasource(Datasource datasource) {
        store.put(datasources, datasource.id(), write(datasource));
    }

    /** The datasource of that id. */
    public Optional<Datasource> datasource(String id) {
        return read(datasources, id, Datasource.class);
    }

    /** The number of datasources in the catalog (bad records included), without reading them. */
    int datasourceCount() {
        return store.size(datasources);
    }

    /** All datasources, by id. */
    public List<Datasource> datasources() {
        return readAll(datasources, Datasource.class);
    }

    /**
     * Whether a datasource's slices can all still be read: a slice whose start is below its partition's log start
     * offset has expired under retention; a slice whose topic (or partition) no longer exists names a deleted topic.
     * Neither is an error: both are reported in the result.
     *
     * @throws RegistryException if the broker could not be asked within the registry's timeout
     */
    public DatasourceAvailability availability(Datasource datasource) {
        List<StreamSlice> slices = datasource.message().slices();
        java.util.Set<String> topics = new java.util.TreeSet<>();
        slices.forEach(slice -> topics.add(slice.topic()));
        java.util.Set<String> deleted = new java.util.TreeSet<>();
        java.util.Set<String> unreadable = new java.util.TreeSet<>();
        String refusal = "";
        Map<String, Integer> partitionCounts = new java.util.HashMap<>();
        // describeTopics answers at once for a deleted topic (listOffsets would retry until its timeout).
        Map<String, org.apache.kafka.common.KafkaFuture<org.apache.kafka.clients.admin.TopicDescription>> described =
                admin().describeTopics(topics).topicNameValues();
        for (String topic : topics) {
            try {
                partitionCounts.put(
                        topic,
                        described
                                .get(topic)
                                .get(timeout.toMillis(), TimeUnit.MILLISECONDS)
                                .partitions()
                                .size());
            } catch (ExecutionException e) {
                if (e.getCause() instanceof org.apache.kafka.common.errors.TopicAuthorizationException) {
                    // this stream is not for this client: say so for it and go on with the others
                    unreadable.add(topic);
                    // the admin client's exception does not name the topic; the one asked about is it
                    refusal = io.kafkaml.common.KafkaAccessException.find(
                                    new org.apache.kafka.common.errors.TopicAuthorizationException(
                                            java.util.Set.copyOf(unreadable)),
                                    clientConfig,
                                    "DESCRIBE")
                            .map(Exception::getMessage)
                            .orElse(String.valueOf(e.getCause()));
                    continue;
                }
                if (!(e.getCause() instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException)) {
                    throw new RegistryException(
                            "Cannot check the topic '" + topic + "' of datasource '" + datasource.id() + "': "
                                    + e.getCause(),
                            e.getCause());
                }
                deleted.add(topic);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RegistryException("Interrupted while checking datasource '" + datasource.id() + "'", e);
            } catch (java.util.concurrent.TimeoutException e) {
                throw new RegistryException(
                        "Cannot check the topic '" + topic + "' of datasource '" + datasource.id() + "' within "
                                + timeout.toMillis() + " ms",
                        e);
            }
        }
        Map<TopicPartition, OffsetSpec> request = new java.util.HashMap<>();
        for (StreamSlice slice : slices) {
            Integer count = partitionCounts.get(slice.topic());
            if (count != null && slice.partition() >= count) {
                deleted.add(slice.topic()); // recreated with fewer partitions: the slice's data is gone
            } else if (count != null) {
                request.put(slice.topicPartition(), OffsetSpec.earliest());
            }
        }
        Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> found;
        try {
            found = request.isEmpty()
                    ? Map.of()
                    : admin().listOffsets(request).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RegistryException("Interrupted while checking datasource '" + datasource.id() + "'", e);
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            throw new RegistryException(
                    "Cannot check the slices of datasource '" + datasource.id() + "': " + cause, cause);
        }
        Map<TopicPartition, Long> starts = new java.util.HashMap<>();
        found.forEach((partition, info) -> starts.put(partition, info.offset()));
        List<StreamSlice> expired = new ArrayList<>();
        for (StreamSlice slice : slices) {
            Long logStart = starts.get(slice.topicPartition());
            if (logStart != null && slice.startOffset() < logStart && (slice.isOpenEnded() || slice.size() > 0)) {
                expired.add(slice);
            }
        }
        return new DatasourceAvailability(
                expired.isEmpty() && deleted.isEmpty() && unreadable.isEmpty(),
                expired,
                List.copyOf(deleted),
                List.copyOf(unreadable),
                refusal);
    }

    /**
     * Re-sends a recorded data stream to another deployment (the paper's reuse of streams): a new control
     * message with the same slices, format and rates on the datasource's control topic. No data is copied.
     *
     * @return the message sent
     * @throws EntityNotFoundException if there is no such datasource
     */
    public ControlMessage resend(String datasourceId, String newDeploymentId) {
        Datasource datasource =
                datasource(datasourceId).orElseThrow(() -> new EntityNotFoundException("datasource", datasourceId));
        ControlMessage message = datasource.message().withDeploymentId(newDeploymentId);
        try (ControlChannel control = ControlChannel.create(clientConfig, datasource.controlTopic(), clients)) {
            control.publish(message, timeout);
        }
        return message;
    }

    /**
     * A channel on {@code controlTopic} with the registry's client settings; the caller closes it.
     */
    public ControlChannel controlChannel(String controlTopic) {
        return ControlChannel.create(clientConfig, controlTopic, clients);
    }

    // ---- inference deployments ----

    /**
     * Records an inference deployment as its owner: claims a generation, or writes the state of one it claimed (see
     * {@link Inference}, <em>One owner</em>).
     *
     * <ul>
     *   <li>A record of a generation nobody claimed yet is a claim: it must be later than every generation of the id
     *       this client knows after reading the claims to their end; the first claim of a generation in the
     *       append-only claims topic wins, for good. The winner's record is the deployment's record from then on;
     *       older generations' records are deleted.
     *   <li>A record of a claimed generation is a state write: taken only from the generation's claimant
     *       ({@link Inference#owner()} equal to the claim's) while no later generation is claimed.
     * </ul>
     * Before it answers, this client has read the claims written before the call, so a {@code true} means that, when
     * the call began, no other process owned the deployment.
     *
     * @return true if the registry took it; false if the generation is another process's, is not the latest, or
     *     (a claim) another process claimed it first
     * @throws RegistryException if the write fails (the broker refuses it, or it times out), or, for a claim, if the
     *     claims topic deletes records by retention and could not be altered to keep them
     */
    public boolean putInference(Inference inference) {
        String id = inference.id();
        String key = InferenceHistory.key(id, inference.generation());
        store.sync(List.of(inferenceClaims));
        NavigableMap<Long, Inference> claims = claims(id);
        Inference legacy = read(inferences, id, Inference.class).orElse(null);
        Inference claim = claims.get(inference.generation());
        byte[] value = write(inference);
        if (claim == null) {
            if (inference.generation() <= InferenceHistory.latestGeneration(legacy, claims)) {
                return false;
            }
            requireClaimsKept(id);
            store.put(inferenceClaims, key, value);
            if (!java.util.Arrays.equals(store.get(inferenceClaims, key), value)) {
                return false; // another process claimed it first
            }
            List<Map.Entry<String, byte[]>> older = new ArrayList<>();
            if (legacy != null) {
                older.add(new java.util.AbstractMap.SimpleEntry<>(id, null));
            }
            states(id).keySet().stream()
                    .filter(generation -> generation < inference.generation())
                    .forEach(generation -> older.add(
                            new java.util.AbstractMap.SimpleEntry<>(InferenceHistory.key(id, generation), null)));
            if (!older.isEmpty()) {
                store.putAll(inferences, older);
            }
            return true;
        }
        if (!Objects.equals(claim.owner(), inference.owner()) || claims.lastKey() != inference.generation()) {
            return false;
        }
        store.put(inferences, key, value);
        return true;
    }

    /**
     * Refuses to claim when the claims topic deletes records by retention: an expired claim would let a later claim
     * of the same generation win again, and two processes own the deployment.
     */
    private void requireClaimsKept(String id) {
        store.expiringRetention(inferenceClaims).ifPresent(retention -> {
            throw new RegistryException("Cannot claim inference deployment '" + id + "': registry topic '"
                    + inferenceClaims + "' deletes records by retention (" + retention + ") and could not be "
                    + "altered to keep them, so ownership claims would expire; set retention.ms=-1 and "
                    + "retention.bytes=-1 on it (kafka-configs --alter --entity-type topics --entity-name "
                    + inferenceClaims + " --add-config retention.ms=-1,retention.bytes=-1) or grant this principal "
                    + "AlterConfigs on it");
        });
    }

    /**
     * Stops an inference deployment for every process that serves it, whoever owns it and whether or not any process
     * still runs: claims the next generation as {@code STOPPED} ({@code owner} {@code requestedBy}). The owner and the
     * joiners see it at their next heartbeat ({@value io.kafkaml.config.KafkaMlConfig#INFERENCE_HEARTBEAT_INTERVAL_MS_CONFIG})
     * and stop, each finishing its batch. A deployment supervised by a launcher ({@link Inference#supervisedBy()}) is
     * stopped through its launcher instead.
     *
     * @return the STOPPED record, or empty if no deployment has that id
     * @throws RegistryException if the deployment is supervised by a launcher, or the write fails
     */
    public Optional<Inference> stopInference(String id, String requestedBy) {
        return endInference(id, "STOPPED", requestedBy);
    }

    /**
     * Removes an inference deployment from the registry, whatever its status and whether or not a process still serves
     * it (processes of this version serving it stop as after {@link #stopInference}; a process of a version before
     * ownership goes on, unrecorded). Meant for records no process can judge or end, e.g. written before ownership.
     * A deployment supervised by a launcher is forgotten too (unlike {@link #stopInference}): this is the way out
     * for a record whose Kubernetes Deployment was deleted by hand; pods that still serve it stop at their next
     * heartbeat, so delete their Deployment as well. The id's generation history stays in the claims topic;
     * starting the id again records a new generation.
     *
     * @return the removed record, or empty if no deployment has that id
     * @throws RegistryException if the write fails
     */
    public Optional<Inference> forgetInference(String id, String requestedBy) {
        Optional<Inference> existing = inference(id);
        endInference(id, Inference.FORGOTTEN, requestedBy);
        if (existing.isPresent()) {
            List<Map.Entry<String, byte[]>> keys = new ArrayList<>();
            states(id)
                    .keySet()
                    .forEach(generation -> keys.add(
                            new java.util.AbstractMap.SimpleEntry<>(InferenceHistory.key(id, generation), null)));
            if (!keys.isEmpty()) {
                store.putAll(inferences, keys);
            }
        }
        return existing;
    }

    private Optional<Inference> endInference(String id, String status, String requestedBy) {
        for (int attempt = 0; attempt < 5; attempt++) {
            Optional<Inference> current = refreshInference(id);
            if (current.isEmpty()) {
                return Optional.empty();
            }
            Inference record = current.get();
            if (record.isTerminal() && "STOPPED".equals(status)) {
                return current; // already ended: nothing to stop
            }
            if (record.supervisedBy() != null
                    && "RUNNING".equals(record.status())
                    && !Inference.FORGOTTEN.equals(status)) {
                throw new RegistryException("Inference deployment '" + id + "' is supervised by its "
                        + record.supervisedBy() + " launcher; stop it there (e.g. delete its Kubernetes Deployment)");
            }
            Inference ended =
                    record.with(status, 0, null).ownedBy(requestedBy, record.generation() + 1, record.supervisedBy());
            if (putInference(ended)) {
                return Optional.of(ended);
            }
        }
        throw new RegistryException(
                "Inference deployment '" + id + "' changed owner five times while it was being ended; try again");
    }

    private NavigableMap<Long, Inference> claims(String id) {
        return byGeneration(inferenceClaims, id);
    }

    private NavigableMap<Long, Inference> states(String id) {
        return byGeneration(inferences, id);
    }

    private NavigableMap<Long, Inference> byGeneration(String topic, String id) {
        return byGeneration(topic, new java.util.TreeMap<>(store.snapshot(topic)), id);
    }

    /** The records of {@code id}'s generations among {@code records} (a topic's snapshot, sorted by key). */
    private NavigableMap<Long, Inference> byGeneration(String topic, NavigableMap<String, byte[]> records, String id) {
        NavigableMap<Long, Inference> found = new java.util.TreeMap<>();
        String prefix = id + InferenceHistory.SEPARATOR;
        records.subMap(prefix, true, prefix + Character.MAX_VALUE, true).forEach((key, value) -> {
            if (key.startsWith(prefix) && InferenceHistory.generationOf(key) >= 0) {
                found.put(InferenceHistory.generationOf(key), decode(topic, key, value, Inference.class));
            }
        });
        return found;
    }

    /**
     * Whether the consumer group {@code groupId} has members now, as its group coordinator says
     * ({@code Admin.describeConsumerGroups}, which needs the Describe ACL on the group). Transient errors (no
     * coordinator yet, a timeout, a broker restarting) are retried within {@code timeout}.
     *
     * @return the answer, or empty if the principal may not describe the group ({@code GroupAuthorizationException}):
     *     the caller must judge otherwise (e.g. by heartbeats)
     * @throws RegistryException if the group could not be described within {@code timeout} for another reason
     */
    public Optional<Boolean> consumerGroupHasMembers(String groupId, Duration timeout) {
        return consumerGroupMemberClientIds(groupId, timeout).map(members -> !members.isEmpty());
    }

    /**
     * The {@code client.id} of each member of the consumer group {@code groupId} now, as its group coordinator says
     * ({@code Admin.describeConsumerGroups}, Describe ACL on the group); as {@link #consumerGroupHasMembers}, whose
     * errors and retries it shares. A group nobody joined yet has none.
     *
     * @return the members' client ids (one per member, possibly repeated), or empty if the principal may not describe
     *     the group
     * @throws RegistryException if the group could not be described within {@code timeout} for another reason
     */
    public Optional<List<String>> consumerGroupMemberClientIds(String groupId, Duration timeout) {
        io.kafkaml.internals.Deadline deadline = io.kafkaml.internals.Deadline.after(timeout);
        Throwable last = null;
        do {
            try {
                org.apache.kafka.clients.admin.ConsumerGroupDescription group = admin().describeConsumerGroups(
                                List.of(groupId))
                        .describedGroups()
                        .get(groupId)
                        .get(Math.max(1, deadline.remaining().toMillis()), TimeUnit.MILLISECONDS);
                return Optional.of(group.members().stream()
                        .map(org.apache.kafka.clients.admin.MemberDescription::clientId)
                        .toList());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RegistryException("Interrupted while describing consumer group '" + groupId + "'", e);
            } catch (java.util.concurrent.ExecutionException e) {
                last = e.getCause();
                if (last instanceof org.apache.kafka.common.errors.GroupAuthorizationException) {
                    return Optional.empty();
                }
                if (last instanceof org.apache.kafka.common.errors.GroupIdNotFoundException) {
                    return Optional.of(List.of()); // a group no consumer has joined yet (or all left long ago)
                }
                if (!(last instanceof org.apache.kafka.common.errors.RetriableException)) {
                    break;
                }
            } catch (java.util.concurrent.TimeoutException e) {
                last = e;
            }
            try {
                Thread.sleep(Math.min(100, Math.max(0, deadline.remaining().toMillis())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RegistryException("Interrupted while describing consumer group '" + groupId + "'", e);
            }
        } while (!deadline.expired());
        throw new RegistryException("Cannot describe consumer group '" + groupId + "': " + last, last);
    }

    /**
     * The latest generation claimed for {@code id} (0: none), including a stopped or forgotten one: a claim must be
     * later (see {@link #putInference}).
     */
    public long inferenceGeneration(String id) {
        return InferenceHistory.latestGeneration(
                read(inferences, id, Inference.class).orElse(null), claims(id));
    }

    /** The inference deployment of that id, as this client has read the registry so far. */
    public Optional<Inference> inference(String id) {
        return InferenceHistory.current(read(inferences, id, Inference.class).orElse(null), claims(id), states(id));
    }

    /**
     * The inference deployment of that id as the broker has it now: reads the inference topics to their current end
     * first (a round trip to the broker, at most the registry's timeout). What a process that must not act on an old
     * view (an owner checking it still owns, a paused process that resumed) reads.
     *
     * @throws RegistryException if the topics cannot be read within the registry's timeout
     */
    public Optional<Inference> refreshInference(String id) {
        store.sync(List.of(inferenceClaims, inferences));
        return inference(id);
    }

    /** All inference deployments, by id (forgotten ones left out; a record that does not read is left out, with a warning). */
    public List<Inference> inferences() {
        // one snapshot of each topic for the whole listing (not one per id: a listing stays linear in the records)
        NavigableMap<String, byte[]> states = new java.util.TreeMap<>(store.snapshot(inferences));
        NavigableMap<String, byte[]> claimed = new java.util.TreeMap<>(store.snapshot(inferenceClaims));
        java.util.SortedSet<String> ids = new java.util.TreeSet<>();
        states.keySet().forEach(key -> ids.add(InferenceHistory.idOf(key)));
        claimed.keySet().forEach(key -> ids.add(InferenceHistory.idOf(key)));
        List<Inference> all = new ArrayList<>();
        for (String id : ids) {
            try {
                byte[] legacy = states.get(id);
                InferenceHistory.current(
                                legacy == null ? null : decode(inferences, id, legacy, Inference.class),
                                byGeneration(inferenceClaims, claimed, id),
                                byGeneration(inferences, states, id))
                        .ifPresent(all::add);
            } catch (InvalidRegistryRecordException e) {
                warnSkipped(e);
            }
        }
        return all;
    }

    // ---- artifacts ----

    /**
     * Stores bytes as an artifact: chunks first, then the manifest with their SHA-256 digest.
     *
     * @param id the artifact id, or {@code null} for a random one
     * @throws RegistryException if {@code bytes} are more than
     *     {@value io.kafkaml.config.KafkaMlConfig#MAX_ARTIFACT_BYTES_CONFIG} (nothing is written)
     */
    public ArtifactRef storeArtifact(String id, byte[] bytes) {
        String artifactId = id != null
                ? ModelDefinition.checkName(id, "artifact")
                : UUID.randomUUID().toString();
        if (bytes.length > maxArtifactBytes) {
            throw new RegistryException("Artifact '" + artifactId + "' holds " + bytes.length
                    + " bytes, over the limit "
                    + "of " + maxArtifactBytes + " bytes (" + KafkaMlConfig.MAX_ARTIFACT_BYTES_CONFIG + "): raise "
                    + KafkaMlConfig.MAX_ARTIFACT_BYTES_CONFIG + " to store it");
        }
        int count = Math.max(1, (bytes.length + CHUNK_BYTES - 1) / CHUNK_BYTES);
        List<Map.Entry<String, byte[]>> parts = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int from = i * CHUNK_BYTES;
            parts.add(Map.entry(
                    chunkKey(artifactId, i),
                    java.util.Arrays.copyOfRange(bytes, from, Math.min(bytes.length, from + CHUNK_BYTES))));
        }
        store.putAll(chunks, parts);
        ArtifactRef ref = new ArtifactRef(artifactId, bytes.length, count, sha256(bytes), Instant.now());
        store.put(artifacts, artifactId, write(ref));
        return ref;
    }

    /** The manifest of an artifact. */
    public Optional<ArtifactRef> artifact(String id) {
        return read(artifacts, id, ArtifactRef.class);
    }

    /**
     * Loads an artifact's bytes.
     *
     * @throws EntityNotFoundException if there is no such artifact
     * @throws ArtifactCorruptedException if a chunk is missing or the bytes do not match the digest
     * @throws RegistryException if the artifact holds more than
     *     {@value io.kafkaml.config.KafkaMlConfig#MAX_ARTIFACT_BYTES_CONFIG} bytes (checked before allocating)
     */
    public byte[] loadArtifact(String id) {
        ArtifactRef ref = artifact(id).orElseThrow(() -> new EntityNotFoundException("artifact", id));
        if (ref.size() > Integer.MAX_VALUE - 8) {
            throw new ArtifactCorruptedException(
                    "Artifact '" + id + "' declares " + ref.size() + " bytes, more than " + "one array holds");
        }
        if (ref.size() > maxArtifactBytes) {
            throw new RegistryException("Artifact '" + id + "' holds " + ref.size() + " bytes, over the limit of "
                    + maxArtifactBytes + " bytes (" + KafkaMlConfig.MAX_ARTIFACT_BYTES_CONFIG + "): raise "
                    + KafkaMlConfig.MAX_ARTIFACT_BYTES_CONFIG + " to load it");
        }
        byte[] bytes = new byte[(int) ref.size()];
        int position = 0;
        for (int i = 0; i < ref.chunks(); i++) {
            Long offset = store.offsetOf(chunks, chunkKey(id, i));
            byte[] chunk = offset == null ? null : store.readAt(chunks, offset);
            if (chunk == null) {
                throw new ArtifactCorruptedException("Artifact '" + id + "' is incomplete: chunk " + (i + 1) + " of "
                        + ref.chunks() + " is missing from topic '" + chunks + "'");
            }
            if (position + chunk.length > bytes.length) {
                throw new ArtifactCorruptedException(
                        "Artifact '" + id + "' is corrupted: its chunks hold more than the " + ref.size()
                                + " bytes its manifest declares");
            }
            System.arraycopy(chunk, 0, bytes, position, chunk.length);
            position += chunk.length;
        }
        if (position != bytes.length) {
            throw new ArtifactCorruptedException("Artifact '" + id + "' is corrupted: its chunks hold " + position
                    + " bytes, its manifest declares " + ref.size());
        }
        String digest = sha256(bytes);
        if (!digest.equals(ref.sha256())) {
            throw new ArtifactCorruptedException("Artifact '" + id + "' is corrupted: the SHA-256 of its " + ref.size()
                    + " bytes is " + digest + " but its manifest records " + ref.sha256());
        }
        return bytes;
    }

    /** Deletes an artifact: its manifest, then its chunks. */
    public void deleteArtifact(String id) {
        ArtifactRef ref = artifact(id).orElseThrow(() -> new EntityNotFoundException("artifact", id));
        store.put(artifacts, id, null);
        List<Map.Entry<String, byte[]>> tombstones = new ArrayList<>();
        for (int i = 0; i < ref.chunks(); i++) {
            tombstones.add(new java.util.AbstractMap.SimpleEntry<>(chunkKey(id, i), null));
        }
        store.putAll(chunks, tombstones);
    }

    /** The topic that holds artifact chunks (for tools and tests). */
    public String artifactChunksTopic() {
        return chunks;
    }

    /** The key of chunk {@code index} of an artifact. */
    public static String chunkKey(String artifactId, int index) {
        return artifactId + "/" + String.format("%06d", index);
    }

    /**
     * Calls {@code listener(kind, key)} after every change this client sees, on the registry's reader thread;
     * {@code kind} is {@code models}, {@code configurations}, {@code deployments}, {@code results},
     * {@code datasources}, {@code artifacts}, {@code inferences}, {@code inference-claims} or {@code versions} (key
     * {@code resultId#n} for a new version, {@code resultId#promotion#n} and {@code resultId#promoted} for a
     * promotion); a change of a result is also a change of its deployment (whose
     * status is derived from it). Per-epoch metrics are not announced here: read them with {@link #epochs}. Keep it
     * short. Adding the same object again changes nothing; {@link #removeListener} removes it.
     */
    public void addListener(BiConsumer<String, String> listener) {
        BiConsumer<String, String> wrapped = (topic, key) -> {
            if (topic.equals(resultEnds)) {
                listener.accept("results", key);
            } else if (!topic.equals(chunks)) {
                listener.accept(topic.substring(topic.lastIndexOf('.') + 1), key);
            }
            if (topic.equals(results) || topic.equals(resultEnds)) { // a deployment's status is derived from them
                byte[] value = store.get(resultEnds, key);
                value = value != null ? value : store.get(results, key);
                if (value != null) {
                    try {
                        listener.accept(
                                "deployments",
                                JSON.readTree(value).path("deploymentId").asText());
                    } catch (IOException e) {
                        // an unreadable result names no deployment
                    }
                }
            }
        };
        if (listeners.putIfAbsent(listener, wrapped) == null) {
            store.addListener(wrapped);
        }
    }

    /**
     * Stops calling a listener added with {@link #addListener} (the same object): a component that stops (an inference
     * deployment that followed a result's versions) removes its own, so that a registry serving many in turn does not
     * keep them all. Nothing happens if it is not there.
     */
    public void removeListener(BiConsumer<String, String> listener) {
        BiConsumer<String, String> wrapped = listeners.remove(listener);
        if (wrapped != null) {
            store.removeListener(wrapped);
        }
    }

    /** The number of listeners added with {@link #addListener} and not removed (for tools and tests). */
    public int listenerCount() {
        return listeners.size();
    }

    /** Closes the registry's clients. Idempotent. */
    @Override
    public synchronized void close() {
        store.close();
        if (admin != null) {
            admin.close(Duration.ofSeconds(5));
            admin = null;
        }
    }

    private synchronized Admin admin() {
        if (admin == null) {
            admin = clients.admin(ClientConfigs.admin(clientConfig, Map.of(), Map.of()));
        }
        return admin;
    }

    private void require(String topic, String key, String kind) {
        if (store.get(topic, key) == null) {
            throw new EntityNotFoundException(kind, key);
        }
    }

    private static byte[] write(Object entity) {
        return RegistryRecords.encode(entity);
    }

    private <T> Optional<T> read(String topic, String key, Class<T> type) {
        byte[] value = store.get(topic, key);
        return value == null ? Optional.empty() : Optional.of(decode(topic, key, value, type));
    }

    /** Every record of a topic that reads as a {@code type}; the others are left out with a warning. */
    private <T> List<T> readAll(String topic, Class<T> type) {
        List<T> all = new ArrayList<>();
        store.snapshot(topic).forEach((key, value) -> decodeListed(topic, key, value, type, all::add));
        return all;
    }

    /** Decodes a record for a listing: a record that does not read is left out, with a warning. */
    private <T> void decodeListed(
            String topic, String key, byte[] value, Class<T> type, java.util.function.Consumer<T> listed) {
        T entity;
        try {
            entity = decode(topic, key, value, type);
        } catch (InvalidRegistryRecordException e) {
            warnSkipped(e);
            return;
        }
        listed.accept(entity);
    }

    /** Warns once per bad record (topic, partition, offset) and client; later listings say it at DEBUG. */
    private void warnSkipped(InvalidRegistryRecordException e) {
        if (warnedRecords.size() < MAX_WARNED_RECORDS
                && warnedRecords.add(e.topic() + "-" + e.partition() + "@" + e.offset() + "/" + e.key())) {
            log.warn("Leaving a registry record out of the listing: {}", e.getMessage());
        } else {
            log.debug("Leaving a registry record out of the listing: {}", e.getMessage());
        }
    }

    private <T> T decode(String topic, String key, byte[] value, Class<T> type) {
        Long offset = store.offsetOf(topic, key);
        T entity = RegistryRecords.decode(topic, 0, offset == null ? -1 : offset, key, value, type);
        String expected = null;
        if (entity instanceof ModelVersion version) {
            expected = ModelVersion.key(version.resultId(), version.version());
        } else if (entity instanceof Promotion promotion) {
            expected = key.endsWith("#promoted")
                    ? Promotion.pointerKey(promotion.resultId())
                    : Promotion.key(promotion.resultId(), promotion.sequence());
        }
        if (expected != null && !expected.equals(key)) {
            throw new InvalidRegistryRecordException(
                    topic,
                    0,
                    offset == null ? -1 : offset,
                    key,
                    type.getSimpleName(),
                    "it names itself '" + expected + "', not its key",
                    null);
        }
        return entity;
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("Every Java runtime has SHA-256", e);
        }
    }
}
