package io.kafkaml.testkit;

import io.kafkaml.testkit.internals.BrokerLogLevels;
import io.kafkaml.testkit.internals.FreePorts;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real, single-node Apache Kafka broker (KRaft mode, combined broker and controller) running inside this
 * JVM, on free loopback ports, with its data in a temporary directory that is removed on {@link #close()}.
 *
 * <pre>{@code
 * try (EmbeddedKafkaBroker kafka = EmbeddedKafkaBroker.builder().build().start()) {
 *     kafka.createTopic("hcopd", 3, Map.of("retention.ms", "-1"));
 *     try (Producer<byte[], byte[]> producer = new KafkaProducer<>(kafka.clientConfig(), ...)) { ... }
 *     kafka.deleteRecordsBefore(new TopicPartition("hcopd", 0), 100);   // simulate retention
 * }
 * }</pre>
 *
 * <p>The broker is set up for a single node: replication factor 1 for the offsets, transaction and share
 * state topics, no initial rebalance delay, a small log-cleaner buffer. Any broker property can be
 * overridden with {@link Builder#brokerProperty(String, String)} (for example to add SASL or TLS
 * listeners). When Log4j 2 is the logging back end, the broker's own loggers are set to WARN on start
 * (see {@link Builder#brokerLogLevel(String)}); client loggers are left alone.
 *
 * <p><b>Lifecycle</b>: {@link #start()} once, then {@link #close()}; {@code close()} is idempotent and safe
 * after a failed start. <b>Thread safety</b>: the helper methods are thread-safe; {@code start} and
 * {@code close} must not race each other.
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedKafkaBroker.class);
    private static final int NODE_ID = 1;

    private final String host;
    private final int requestedPort;
    private final Path requestedDataDirectory;
    private final Map<String, String> overrides;
    private final Duration startupTimeout;
    private final String brokerLogLevel;
    private final BrokerSecurity security;

    private volatile State state = State.CREATED;
    private Path dataDirectory;
    private boolean deleteDataOnClose;
    private KafkaRaftServer server;
    private Admin admin;
    private String bootstrapServers;

    /** Lifecycle states of the broker. */
    public enum State {
        CREATED,
        RUNNING,
        CLOSED
    }

    private EmbeddedKafkaBroker(Builder builder) {
        this.host = builder.host;
        this.requestedPort = builder.port;
        this.requestedDataDirectory = builder.dataDirectory;
        this.overrides = Map.copyOf(builder.overrides);
        this.startupTimeout = builder.startupTimeout;
        this.brokerLogLevel = builder.brokerLogLevel;
        this.security = builder.security;
    }

    /** Returns a builder with the defaults: host {@code localhost}, free ports, a temporary directory. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Formats the data directory (unless it already holds a broker's data), starts the broker and waits
     * until it answers an admin request.
     *
     * @return this broker
     * @throws IllegalStateException if it was already started or closed
     * @throws EmbeddedKafkaException if it did not start within the startup timeout
     */
    public synchronized EmbeddedKafkaBroker start() {
        if (state != State.CREATED) {
            throw new IllegalStateException("The broker cannot be started in state " + state);
        }
        long begin = System.nanoTime();
        try {
            if (brokerLogLevel != null) {
                BrokerLogLevels.apply(brokerLogLevel);
            }
            if (requestedDataDirectory == null) {
                dataDirectory = Files.createTempDirectory("kafkaml-broker-");
                deleteDataOnClose = true;
            } else {
                dataDirectory = Files.createDirectories(requestedDataDirectory);
            }
            int port = requestedPort == 0 ? FreePorts.find() : requestedPort;
            int controllerPort = FreePorts.find();
            Properties props = brokerProperties(port, controllerPort);
            format(props);
            server = new KafkaRaftServer(KafkaConfig.fromProps(props), Time.SYSTEM);
            server.startup();
            bootstrapServers = host + ":" + port;
            Map<String, Object> adminConfig = new HashMap<>();
            if (security != null) {
                adminConfig.putAll(security.clientConfig(security.superUser()));
            }
            adminConfig.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
            adminConfig.put(AdminClientConfig.CLIENT_ID_CONFIG, "kafkaml-testkit-admin");
            admin = Admin.create(adminConfig);
            admin.describeCluster().nodes().get(startupTimeout.toMillis(), TimeUnit.MILLISECONDS);
            state = State.RUNNING;
            log.info(
                    "Embedded Kafka broker started at {} in {} ms (data in {})",
                    bootstrapServers,
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - begin),
                    dataDirectory);
            return this;
        } catch (Exception e) {
            closeQuietly();
            state = State.CLOSED;
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new EmbeddedKafkaException("Could not start the embedded Kafka broker: " + e, e);
        }
    }

    private Properties brokerProperties(int port, int controllerPort) {
        Properties props = new Properties();
        props.put("process.roles", "broker,controller");
        props.put("node.id", String.valueOf(NODE_ID));
        props.put("listeners", "PLAINTEXT://" + host + ":" + port + ",CONTROLLER://" + host + ":" + controllerPort);
        props.put("advertised.listeners", "PLAINTEXT://" + host + ":" + port);
        props.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        props.put("controller.listener.names", "CONTROLLER");
        props.put("inter.broker.listener.name", "PLAINTEXT");
        // A static voter set: the data directory can be reused by a later start on other ports.
        props.put("controller.quorum.voters", NODE_ID + "@" + host + ":" + controllerPort);
        props.put("log.dirs", dataDirectory.toAbsolutePath().toString());
        props.put("num.partitions", "1");
        props.put("default.replication.factor", "1");
        props.put("min.insync.replicas", "1");
        props.put("offsets.topic.replication.factor", "1");
        props.put("offsets.topic.num.partitions", "1");
        props.put("transaction.state.log.replication.factor", "1");
        props.put("transaction.state.log.min.isr", "1");
        props.put("transaction.state.log.num.partitions", "1");
        props.put("share.coordinator.state.topic.replication.factor", "1");
        props.put("share.coordinator.state.topic.min.isr", "1");
        props.put("group.initial.rebalance.delay.ms", "0");
        props.put("log.cleaner.dedupe.buffer.size", String.valueOf(2 * 1024 * 1024));
        props.put("log.cleaner.backoff.ms", "1000");
        props.put("auto.create.topics.enable", "true");
        props.put("delete.topic.enable", "true");
        if (security != null) {
            props.putAll(security.brokerProperties(host, port, controllerPort));
        }
        props.putAll(overrides);
        return props;
    }

    private void format(Properties props) throws IOException {
        if (Files.exists(dataDirectory.resolve("meta.properties"))) {
            return; // already formatted by an earlier start: keep its cluster id and data
        }
        Path configFile = dataDirectory.resolve("kafkaml-broker.properties");
        try (OutputStream out = Files.newOutputStream(configFile)) {
            props.store(out, "written by kafkaml-testkit for 'kafka-storage format'");
        }
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        int status;
        try (PrintStream printStream = new PrintStream(output, true, StandardCharsets.UTF_8)) {
            status = StorageTool.execute(
                    new String[] {
                        "format", "-t", Uuid.randomUuid().toString(), "-c", configFile.toString(), "--ignore-formatted"
                    },
                    printStream);
        } finally {
            Files.deleteIfExists(configFile);
        }
        if (status != 0) {
            throw new EmbeddedKafkaException("Formatting " + dataDirectory + " failed with status " + status + ": "
                    + output.toString(StandardCharsets.UTF_8).trim());
        }
    }

    /** Returns {@code host:port} of the client listener (PLAINTEXT, or SASL_SSL with {@link Builder#security}). */
    public String bootstrapServers() {
        requireRunning();
        return bootstrapServers;
    }

    /**
     * Returns the settings a client needs to reach this broker ({@code bootstrap.servers}, and on a secured
     * broker the super user's SASL_SSL settings), as a new mutable map that the caller may extend.
     */
    public Map<String, Object> clientConfig() {
        requireRunning();
        Map<String, Object> config = new HashMap<>();
        if (security != null) {
            config.putAll(security.clientConfig(security.superUser()));
        }
        config.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        return config;
    }

    /**
     * Returns the settings with which {@code user} reaches this secured broker: {@code bootstrap.servers} and
     * the SASL_SSL settings of {@link BrokerSecurity#clientConfig(String)}; a new mutable map.
     *
     * @throws IllegalStateException if the broker has no security
     * @throws IllegalArgumentException if the user is unknown
     */
    public Map<String, Object> clientConfig(String user) {
        requireRunning();
        Map<String, Object> config = new HashMap<>(requireSecurity().clientConfig(user));
        config.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        return config;
    }

    /** Returns the broker's security, or {@code null} for a PLAINTEXT broker. */
    public BrokerSecurity security() {
        return security;
    }

    /**
     * Creates (or changes the password of) a {@code SCRAM-SHA-512} user through the Admin API
     * ({@code alterUserScramCredentials}, 8192 iterations) and waits until the broker knows it.
     *
     * @throws IllegalStateException if the broker has no security
     */
    public void createScramUser(String user, String password) {
        requireRunning();
        BrokerSecurity secured = requireSecurity();
        UserScramCredentialUpsertion upsert = new UserScramCredentialUpsertion(
                user, new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), password);
        call(
                "create SCRAM user '" + user + "'",
                () -> admin.alterUserScramCredentials(List.of(upsert)).all().get());
        awaitCondition("SCRAM user '" + user + "' known to the broker", () -> {
            try {
                return admin.describeUserScramCredentials(List.of(user))
                        .all()
                        .get()
                        .containsKey(user);
            } catch (ExecutionException e) {
                return false; // not yet in the broker's metadata
            }
        });
        secured.remember(user, password, BrokerSecurity.SCRAM_SHA_512);
    }

    /**
     * Allows {@code user} the operations on one resource ({@link PatternType#LITERAL} name, or
     * {@link PatternType#PREFIXED} with {@link #allowPrefixed}), from any host, and waits until the broker's
     * authorizer applies them.
     */
    public void allow(String user, ResourceType type, String name, AclOperation... operations) {
        changeAcls(true, user, new ResourcePattern(type, name, PatternType.LITERAL), operations);
    }

    /** As {@link #allow}, for every resource whose name starts with {@code prefix}. */
    public void allowPrefixed(String user, ResourceType type, String prefix, AclOperation... operations) {
        changeAcls(true, user, new ResourcePattern(type, prefix, PatternType.PREFIXED), operations);
    }

    /** Removes ACLs granted by {@link #allow} (same user, resource and operations) and waits until they are gone. */
    public void revoke(String user, ResourceType type, String name, AclOperation... operations) {
        changeAcls(false, user, new ResourcePattern(type, name, PatternType.LITERAL), operations);
    }

    /** Removes ACLs granted by {@link #allowPrefixed} and waits until they are gone. */
    public void revokePrefixed(String user, ResourceType type, String prefix, AclOperation... operations) {
        changeAcls(false, user, new ResourcePattern(type, prefix, PatternType.PREFIXED), operations);
    }

    private void changeAcls(boolean add, String user, ResourcePattern resource, AclOperation... operations) {
        requireRunning();
        requireSecurity();
        if (operations.length == 0) {
            throw new IllegalArgumentException("No operation given");
        }
        List<AclBinding> bindings = new ArrayList<>();
        for (AclOperation operation : operations) {
            bindings.add(new AclBinding(
                    resource, new AccessControlEntry("User:" + user, "*", operation, AclPermissionType.ALLOW)));
        }
        String what = (add ? "allow " : "revoke ") + "User:" + user + " " + List.of(operations) + " on " + resource;
        if (add) {
            call(what, () -> admin.createAcls(bindings).all().get());
        } else {
            List<AclBindingFilter> filters =
                    bindings.stream().map(AclBinding::toFilter).toList();
            call(what, () -> admin.deleteAcls(filters).all().get());
        }
        AclBindingFilter resourceFilter = new AclBindingFilter(resource.toFilter(), AccessControlEntryFilter.ANY);
        awaitCondition(what, () -> {
            Collection<AclBinding> present =
                    admin.describeAcls(resourceFilter).values().get();
            return add ? present.containsAll(bindings) : bindings.stream().noneMatch(present::contains);
        });
    }

    private BrokerSecurity requireSecurity() {
        if (security == null) {
            throw new IllegalStateException("The embedded broker has no security (see Builder#security)");
        }
        return security;
    }

    private void awaitCondition(String what, KafkaCall<Boolean> condition) {
        long deadline = System.nanoTime() + startupTimeout.toNanos();
        while (!call(what, condition)) {
            if (System.nanoTime() > deadline) {
                throw new EmbeddedKafkaException("Timed out after " + startupTimeout.toMillis() + " ms: " + what);
            }
            sleep(20);
        }
    }

    /** Returns the broker's admin client; it belongs to the broker and is closed with it. */
    public Admin admin() {
        requireRunning();
        return admin;
    }

    /** Returns the directory that holds the broker's logs and metadata. */
    public Path dataDirectory() {
        requireRunning();
        return dataDirectory;
    }

    /** Returns the broker's state. */
    public State state() {
        return state;
    }

    /** Creates a topic with the given number of partitions and waits until every partition has a leader. */
    public void createTopic(String topic, int partitions) {
        createTopic(topic, partitions, Map.of());
    }

    /**
     * Creates a topic with the given partitions and topic configs (for example {@code retention.ms},
     * {@code cleanup.policy}) and waits until every partition has a leader that serves it (answers
     * {@code ListOffsets}): a producer may then write at once. A leader in the metadata is not enough: the broker
     * publishes it before it applies the partition, and an idempotent producer's first batch refused in between can be
     * lost (Kafka bug KAFKA-15591, fixed in Kafka 4.5).
     *
     * @throws EmbeddedKafkaException if the topic exists or cannot be created
     */
    public void createTopic(String topic, int partitions, Map<String, String> configs) {
        requireRunning();
        NewTopic newTopic = new NewTopic(topic, partitions, (short) 1).configs(configs);
        call(
                "create topic '" + topic + "'",
                () -> admin.createTopics(List.of(newTopic)).all().get());
        long deadline = System.nanoTime() + startupTimeout.toNanos();
        while (true) {
            TopicDescription description;
            try {
                description = admin.describeTopics(List.of(topic))
                        .allTopicNames()
                        .get()
                        .get(topic);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException) || System.nanoTime() > deadline) {
                    throw new EmbeddedKafkaException(
                            "Could not describe topic '" + topic + "' on " + bootstrapServers + ": "
                                    + e.getCause().getMessage(),
                            e.getCause());
                }
                sleep(20); // the new topic's metadata has not reached the broker's cache yet
                continue;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new EmbeddedKafkaException("Interrupted while describing topic '" + topic + "'", e);
            }
            boolean ready = description.partitions().size() == partitions
                    && description.partitions().stream()
                            .allMatch(p -> p.leader() != null && !p.leader().isEmpty())
                    && leaderServes(topic, partitions);
            if (ready) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new EmbeddedKafkaException("Topic '" + topic + "' has no leader for every partition after "
                        + startupTimeout.toMillis() + " ms");
            }
            sleep(20);
        }
    }

    /** Whether the leader answers offset requests for every partition (its log exists, it takes writes). */
    private boolean leaderServes(String topic, int partitions) {
        Map<TopicPartition, OffsetSpec> request = new LinkedHashMap<>();
        for (int p = 0; p < partitions; p++) {
            request.put(new TopicPartition(topic, p), OffsetSpec.latest());
        }
        try {
            admin.listOffsets(request).all().get(startupTimeout.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (ExecutionException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EmbeddedKafkaException("Interrupted while waiting for topic '" + topic + "'", e);
        } catch (TimeoutException e) {
            return false;
        }
    }

    /**
     * Deletes the records of a partition below {@code offset}, as retention would: afterwards the
     * partition's log start offset is {@code offset}.
     */
    public void deleteRecordsBefore(TopicPartition partition, long offset) {
        requireRunning();
        call(
                "delete records of " + partition + " below offset " + offset,
                () -> admin.deleteRecords(Map.of(partition, RecordsToDelete.beforeOffset(offset)))
                        .all()
                        .get());
    }

    /** Returns the log start offset (the earliest offset still readable) of a partition. */
    public long logStartOffset(TopicPartition partition) {
        return offsets(List.of(partition), OffsetSpec.earliest()).get(partition);
    }

    /** Returns the log end offset (the offset the next record will get) of a partition. */
    public long logEndOffset(TopicPartition partition) {
        return offsets(List.of(partition), OffsetSpec.latest()).get(partition);
    }

    /** Returns offsets of several partitions for the given spec (earliest, latest, ...). */
    public Map<TopicPartition, Long> offsets(Collection<TopicPartition> partitions, OffsetSpec spec) {
        requireRunning();
        Map<TopicPartition, OffsetSpec> request =
                partitions.stream().collect(Collectors.toMap(p -> p, p -> spec, (a, b) -> a, LinkedHashMap::new));
        Map<TopicPartition, ListOffsetsResultInfo> result = call(
                "list offsets of " + partitions,
                () -> admin.listOffsets(request).all().get());
        Map<TopicPartition, Long> offsets = new LinkedHashMap<>();
        for (TopicPartition partition : partitions) {
            offsets.put(partition, result.get(partition).offset());
        }
        return offsets;
    }

    /**
     * Stops the broker, waits for it to shut down and removes the temporary data directory (a directory given
     * with {@link Builder#dataDirectory(Path)} is kept). Idempotent.
     */
    @Override
    public synchronized void close() {
        if (state == State.CLOSED) {
            return;
        }
        state = State.CLOSED;
        closeQuietly();
    }

    private void closeQuietly() {
        if (admin != null) {
            try {
                admin.close(Duration.ofSeconds(5));
            } catch (RuntimeException e) {
                log.warn("Closing the testkit admin client failed", e);
            }
            admin = null;
        }
        if (server != null) {
            try {
                server.shutdown();
                server.awaitShutdown();
            } catch (RuntimeException e) {
                log.warn("Shutting down the embedded broker failed", e);
            }
            server = null;
        }
        if (deleteDataOnClose && dataDirectory != null) {
            deleteRecursively(dataDirectory);
        }
    }

    private static void deleteRecursively(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> {
                try {
                    Files.deleteIfExists(path);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            log.warn("Could not remove the broker's data directory {}", root, e);
        }
    }

    private void requireRunning() {
        if (state != State.RUNNING) {
            throw new IllegalStateException("The embedded broker is " + state + ", not RUNNING");
        }
    }

    @FunctionalInterface
    private interface KafkaCall<T> {
        T call() throws InterruptedException, ExecutionException, TimeoutException;
    }

    private <T> T call(String what, KafkaCall<T> call) {
        try {
            return call.call();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EmbeddedKafkaException("Interrupted while trying to " + what, e);
        } catch (ExecutionException e) {
            throw new EmbeddedKafkaException(
                    "Could not " + what + " on " + bootstrapServers + ": "
                            + e.getCause().getMessage(),
                    e.getCause());
        } catch (TimeoutException e) {
            throw new EmbeddedKafkaException("Timed out trying to " + what + " on " + bootstrapServers, e);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EmbeddedKafkaException("Interrupted", e);
        }
    }

    @Override
    public String toString() {
        return "EmbeddedKafkaBroker{" + (bootstrapServers != null ? bootstrapServers : "unstarted") + ", " + state
                + "}";
    }

    /**
     * Builds an {@link EmbeddedKafkaBroker}. Every setting is optional.
     */
    public static final class Builder {
        private String host = "localhost";
        private int port;
        private Path dataDirectory;
        private final Map<String, String> overrides = new LinkedHashMap<>();
        private Duration startupTimeout = Duration.ofSeconds(60);
        private String brokerLogLevel = "WARN";
        private BrokerSecurity security;

        private Builder() {}

        /** The host name the listeners bind to and advertise; default {@code localhost}. */
        public Builder host(String host) {
            this.host = Objects.requireNonNull(host, "host");
            return this;
        }

        /** The client port; default 0, a free port. */
        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be in [0, 65535], was " + port);
            }
            this.port = port;
            return this;
        }

        /**
         * A directory for the broker's data that outlives the broker: it is not removed on close, and a
         * later broker started on it finds the topics and records again. Default: a temporary directory
         * removed on close.
         */
        public Builder dataDirectory(Path dataDirectory) {
            this.dataDirectory = Objects.requireNonNull(dataDirectory, "dataDirectory");
            return this;
        }

        /** Sets one broker property, overriding the testkit's default for it. */
        public Builder brokerProperty(String key, String value) {
            overrides.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
            return this;
        }

        /** Sets several broker properties, overriding the testkit's defaults for them. */
        public Builder brokerProperties(Map<String, String> properties) {
            properties.forEach(this::brokerProperty);
            return this;
        }

        /** How long {@link #start()} waits for the broker to answer; default 60 s. */
        public Builder startupTimeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("startupTimeout must be positive, was " + timeout);
            }
            this.startupTimeout = timeout;
            return this;
        }

        /**
         * The level for the broker's own loggers when Log4j 2 is the logging back end ({@code WARN} by
         * default); {@code null} leaves logging configuration alone.
         */
        public Builder brokerLogLevel(String level) {
            this.brokerLogLevel = level;
            return this;
        }

        /**
         * Secures the broker: its only client listener is SASL_SSL (SCRAM-SHA-512 and PLAIN over TLS) and the
         * standard authorizer decides with ACLs; see {@link BrokerSecurity}. Default: one PLAINTEXT listener,
         * no authorizer.
         */
        public Builder security(BrokerSecurity security) {
            this.security = Objects.requireNonNull(security, "security");
            return this;
        }

        /** Returns a broker that is not started yet; call {@link EmbeddedKafkaBroker#start()}. */
        public EmbeddedKafkaBroker build() {
            return new EmbeddedKafkaBroker(this);
        }
    }
}
