package io.kafkaml.registry.internals;

import io.kafkaml.config.KafkaClientSupplier;
import io.kafkaml.internals.ClientConfigs;
import io.kafkaml.internals.Deadline;
import io.kafkaml.registry.RegistryException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BiConsumer;
import java.util.function.BiPredicate;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Key-value state kept in compacted Kafka topics, in the manner of a schema registry: a reader thread tails
 * every topic from the beginning into an in-memory view; a write is produced, then waited for until the reader
 * has applied it, so a writer sees its own write when the call returns; a new store reads every topic to its
 * end before it is ready. A {@code null} value is a tombstone (a delete). Topics marked index-only keep the
 * offset of each key instead of its value (for large records read on demand). Not part of the public API.
 */
public final class KafkaStore implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(KafkaStore.class);
    private static final AtomicInteger IDS = new AtomicInteger();
    /** The most a repair of a refused record waits, so that the live stores rarely all repair the same record. */
    static final int REPAIR_JITTER_MS = 500;

    private final String name;
    private final Duration timeout;
    private final Map<String, ?> clientConfig;
    private final Set<String> indexOnly;
    private final Map<String, BiPredicate<byte[], byte[]>> acceptRules;
    private final Map<String, Map<String, String>> topicConfigs;
    /** Topics with a configuration of their own that ended up not compacted: refused records are never repaired. */
    private final Set<String> notCompacted = ConcurrentHashMap.newKeySet();
    /**
     * Topics with a configuration of their own that could not be given it and delete records by retention (their
     * {@code cleanup.policy} deletes and {@code retention.ms} or {@code retention.bytes} is not -1), with the
     * settings they have: records written there may expire.
     */
    private final Map<String, String> expiring = new ConcurrentHashMap<>();

    private final Map<String, Map<String, byte[]>> views = new ConcurrentHashMap<>();
    private final Map<String, Map<String, Long>> offsets = new ConcurrentHashMap<>();
    private final Map<TopicPartition, Long> positions = new HashMap<>();
    /** Reader thread only: per ruled topic, keys whose last record was refused, with when to repair them. */
    private final Map<String, Map<String, Long>> refusedLast = new HashMap<>();

    private final java.util.Random jitter = new java.util.Random();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition advanced = lock.newCondition();
    private final List<BiConsumer<String, String>> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final KafkaClientSupplier clients;
    private final Producer<byte[], byte[]> producer;
    private final Consumer<byte[], byte[]> reader;
    private final Consumer<byte[], byte[]> fetcher;
    private final Thread thread;
    private volatile boolean closing;
    private volatile RuntimeException readerFailure;

    /**
     * Creates the topics that are missing (compacted, one partition), reads every topic to its end and starts
     * following them.
     *
     * @param topics the topics of the store
     * @param indexOnly those of them whose values are not kept in memory
     */
    public KafkaStore(Map<String, ?> clientConfig, List<String> topics, Set<String> indexOnly, Duration timeout) {
        this(clientConfig, topics, indexOnly, Map.of(), timeout);
    }

    /**
     * Creates the topics that are missing (compacted, one partition), reads every topic to its end and starts
     * following them.
     *
     * @param topics the topics of the store
     * @param indexOnly those of them whose values are not kept in memory
     * @param acceptRules per topic, {@code rule(current, next)} decides whether a record replaces the current value
     *     of its key (both non-null, not equal: a record equal to the current value is always accepted); a refused
     *     record is skipped by every reader alike, since all read the same log in the same order (a state machine
     *     whose final states are never left). So that compaction, which keeps only a key's last record, never turns
     *     a refused record into the key's value, a store whose reader is at the end of such a topic and finds a
     *     refused record as the last one of its key writes the key's accepted value again (a repair, after a random
     *     delay of up to {@value #REPAIR_JITTER_MS} ms so that the live stores rarely all repair the same record).
     *     Compaction never touches the active segment, so the refused record stays behind its repair unless the
     *     segment rolls and is cleaned before any store reads it.
     */
    public KafkaStore(
            Map<String, ?> clientConfig,
            List<String> topics,
            Set<String> indexOnly,
            Map<String, BiPredicate<byte[], byte[]>> acceptRules,
            Duration timeout) {
        this(clientConfig, topics, indexOnly, acceptRules, Map.of(), timeout);
    }

    /**
     * As {@link #KafkaStore(Map, List, Set, Map, Duration)}, with topics of their own configuration.
     *
     * @param topicConfigs per topic, the topic configuration it is created with instead of {@code cleanup.policy=compact}
     *     (e.g. an append-only topic: {@code cleanup.policy=delete}, {@code retention.ms=-1}); an existing topic whose
     *     configuration differs is altered to it ({@code incrementalAlterConfigs}, needs the {@code AlterConfigs}
     *     ACL), or a warning says what to set when it cannot be. A refused record is written again (repaired) only in
     *     a topic that is compacted.
     */
    public KafkaStore(
            Map<String, ?> clientConfig,
            List<String> topics,
            Set<String> indexOnly,
            Map<String, BiPredicate<byte[], byte[]>> acceptRules,
            Map<String, Map<String, String>> topicConfigs,
            Duration timeout) {
        this(clientConfig, topics, indexOnly, acceptRules, topicConfigs, timeout, KafkaClientSupplier.DEFAULT);
    }

    /**
     * As {@link #KafkaStore(Map, List, Set, Map, Map, Duration)}, with the store's producer, consumers and admin
     * client created by {@code clients} (tests: {@code MockProducer}, {@code MockConsumer}, an in-memory admin).
     */
    public KafkaStore(
            Map<String, ?> clientConfig,
            List<String> topics,
            Set<String> indexOnly,
            Map<String, BiPredicate<byte[], byte[]>> acceptRules,
            Map<String, Map<String, String>> topicConfigs,
            Duration timeout,
            KafkaClientSupplier clients) {
        ClientConfigs.requireBootstrapServers(clientConfig);
        this.clients = java.util.Objects.requireNonNull(clients, "clients");
        this.topicConfigs = Map.copyOf(topicConfigs);
        this.clientConfig = Map.copyOf(clientConfig);
        this.indexOnly = Set.copyOf(indexOnly);
        this.acceptRules = Map.copyOf(acceptRules);
        this.timeout = timeout;
        this.name = "kafkaml-registry-" + IDS.incrementAndGet();
        topics.forEach(topic -> {
            views.put(topic, new ConcurrentHashMap<>());
            offsets.put(topic, new ConcurrentHashMap<>());
        });
        List<TopicPartition> partitions = ensureTopics(topics);
        Map<String, Object> producerDefaults = new HashMap<>();
        producerDefaults.put(ProducerConfig.CLIENT_ID_CONFIG, name + "-writer");
        producerDefaults.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        producerDefaults.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 1024 * 1024);
        this.producer = clients.producer(ClientConfigs.producer(
                clientConfig,
                producerDefaults,
                Map.of(ProducerConfig.ACKS_CONFIG, "all", ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true)));
        this.reader = newConsumer("reader", Map.of());
        // The fetcher reads records at offsets the reader has indexed (artifact chunks), so their data is there; a
        // poll also leaves a fetch parked at the log end, which the broker holds for fetch.max.wait.ms (500 ms by
        // default), and the broker answers a connection's requests in order: the next endOffsets (sync) waited
        // behind it (0.41 s of a 3 s 'kafkaml infer' start-up). A short wait keeps reads and syncs back to back.
        this.fetcher = newConsumer("fetcher", Map.of(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, FETCHER_MAX_WAIT_MS));
        reader.assign(partitions);
        reader.seekToBeginning(partitions);
        Map<TopicPartition, Long> ends = reader.endOffsets(partitions, timeout);
        partitions.forEach(p -> positions.put(p, -1L));
        this.thread = new Thread(this::follow, name + "-reader");
        thread.setDaemon(true);
        thread.start();
        awaitPositions(ends, "reading the registry topics " + topics);
        log.info("[{}] Registry ready: {}", name, describeSizes());
    }

    /** The fetcher's {@code fetch.max.wait.ms}: how long a read at the log end may hold the fetcher's connection. */
    static final int FETCHER_MAX_WAIT_MS = 10;

    private Consumer<byte[], byte[]> newConsumer(String role, Map<String, Object> roleEnforced) {
        Map<String, Object> defaults = new HashMap<>();
        defaults.put(ConsumerConfig.CLIENT_ID_CONFIG, name + "-" + role);
        defaults.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        Map<String, Object> enforced = new HashMap<>();
        enforced.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        enforced.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        enforced.putAll(roleEnforced);
        Map<String, Object> config = ClientConfigs.consumer(clientConfig, defaults, enforced);
        config.remove(ConsumerConfig.GROUP_ID_CONFIG);
        return clients.consumer(config);
    }

    private List<TopicPartition> ensureTopics(List<String> topics) {
        // the admin client's own calls end with the registry's timeout, so that closing it does not wait out
        // Kafka's 60 s default.api.timeout.ms after an unreachable broker has already failed the connect
        // (Kafka refuses an explicit default.api.timeout.ms below request.timeout.ms: never below the user's)
        Map<String, Object> adminConfig = ClientConfigs.admin(clientConfig, adminTimeouts(), Map.of());
        Admin created;
        try {
            created = clients.admin(adminConfig);
        } catch (org.apache.kafka.common.KafkaException e) {
            throw new RegistryException("Cannot connect to Kafka for the registry: " + clientCreationReason(e), e);
        }
        try (Admin admin = created) {
            List<NewTopic> missing = new ArrayList<>();
            Set<String> existing;
            try {
                existing = admin.listTopics().names().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.TimeoutException | ExecutionException e) {
                if (e instanceof ExecutionException
                        && !(e.getCause() instanceof org.apache.kafka.common.errors.TimeoutException)) {
                    throw e;
                }
                // the first call: when it times out (ours or the admin client's), no broker answered at all
                throw new RegistryException(
                        "Cannot reach Kafka for the registry: no broker at bootstrap.servers=" + bootstrapServers()
                                + " answered within " + timeout.toMillis() + " ms (is Kafka running and reachable "
                                + "at that address, on a listener with the security.protocol these settings use?)",
                        e);
            }
            for (String topic : topics) {
                if (!existing.contains(topic)) {
                    missing.add(new NewTopic(topic, 1, (short) -1)
                            .configs(topicConfigs.getOrDefault(
                                    topic,
                                    Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT))));
                }
            }
            if (!missing.isEmpty()) {
                try {
                    admin.createTopics(missing).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw e;
                    }
                }
            }
            Map<String, TopicDescription> descriptions = describeWhenReady(admin, topics);
            // the first writes to a new partition can be lost to Kafka bug KAFKA-15591: wait until it takes writes
            io.kafkaml.internals.Topics.awaitWritable(
                    admin, missing.stream().map(NewTopic::name).toList(), timeout);
            warnIfNotCompacted(admin, topics);
            List<TopicPartition> partitions = new ArrayList<>();
            descriptions.forEach((topic, description) -> {
                if (description.partitions().size() != 1) {
                    throw new RegistryException("Registry topic '" + topic + "' has "
                            + description.partitions().size()
                            + " partitions; the registry needs exactly one per topic (keys are read in write order)");
                }
                partitions.add(new TopicPartition(topic, 0));
            });
            return partitions;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RegistryException("Interrupted while creating the registry topics", e);
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            throw new RegistryException(
                    "Cannot create or describe the registry topics " + topics + ": "
                            + reason(cause, "DESCRIBE (and CREATE, when missing)"),
                    cause);
        }
    }

    /** Describes the topics, waiting out the moment when new topics are not yet in the broker's metadata. */
    private Map<String, TopicDescription> describeWhenReady(Admin admin, List<String> topics)
            throws InterruptedException, ExecutionException, java.util.concurrent.TimeoutException {
        Deadline deadline = Deadline.after(timeout);
        while (true) {
            try {
                return admin.describeTopics(topics).allTopicNames().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException)
                        || deadline.expired()) {
                    throw e;
                }
                Thread.sleep(50);
            }
        }
    }

    private void warnIfNotCompacted(Admin admin, List<String> topics)
            throws InterruptedException, ExecutionException, java.util.concurrent.TimeoutException {
        List<ConfigResource> resources = topics.stream()
                .map(t -> new ConfigResource(ConfigResource.Type.TOPIC, t))
                .toList();
        Map<ConfigResource, Config> configs;
        try {
            configs = admin.describeConfigs(resources).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            log.debug(
                    "[{}] Could not check the cleanup policy of {}: {}",
                    name,
                    topics,
                    e.getCause().toString());
            return;
        }
        configs.forEach((resource, config) -> {
            var policy = config.get(TopicConfig.CLEANUP_POLICY_CONFIG);
            Map<String, String> wanted = topicConfigs.get(resource.name());
            if (wanted != null) {
                enforceConfig(admin, resource, config, wanted);
                return;
            }
            if (policy == null || !policy.value().contains(TopicConfig.CLEANUP_POLICY_COMPACT)) {
                log.warn(
                        "[{}] Registry topic '{}' is not compacted (cleanup.policy={}): its state will be lost to "
                                + "retention",
                        name,
                        resource.name(),
                        policy == null ? "?" : policy.value());
            }
        });
    }

    /** Alters an existing topic of a configuration of its own to that configuration, or says what to set. */
    private void enforceConfig(Admin admin, ConfigResource resource, Config config, Map<String, String> wanted) {
        List<org.apache.kafka.clients.admin.AlterConfigOp> ops = new ArrayList<>();
        wanted.forEach((key, value) -> {
            var entry = config.get(key);
            if (entry == null || !value.equals(entry.value())) {
                ops.add(new org.apache.kafka.clients.admin.AlterConfigOp(
                        new org.apache.kafka.clients.admin.ConfigEntry(key, value),
                        org.apache.kafka.clients.admin.AlterConfigOp.OpType.SET));
            }
        });
        var policy = config.get(TopicConfig.CLEANUP_POLICY_CONFIG);
        boolean compacted = policy == null || policy.value().contains(TopicConfig.CLEANUP_POLICY_COMPACT);
        if (ops.isEmpty()) {
            if (!compacted) {
                notCompacted.add(resource.name());
            }
            return;
        }
        try {
            admin.incrementalAlterConfigs(Map.of(resource, ops)).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            log.info("[{}] Registry topic '{}' altered to {}", name, resource.name(), wanted);
            if (!wanted.getOrDefault(TopicConfig.CLEANUP_POLICY_CONFIG, "")
                    .contains(TopicConfig.CLEANUP_POLICY_COMPACT)) {
                notCompacted.add(resource.name());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RegistryException(
                    "Interrupted while altering the configuration of topic '" + resource.name() + "'", e);
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            log.warn(
                    "[{}] Registry topic '{}' should have {} but could not be altered ({}); ask an administrator to "
                            + "set it (kafka-configs --alter --entity-type topics --entity-name {} --add-config ...)",
                    name,
                    resource.name(),
                    wanted,
                    cause.toString(),
                    resource.name());
            if (!compacted) {
                notCompacted.add(resource.name());
            }
            String retention = retention(config);
            if (policy != null && policy.value().contains(TopicConfig.CLEANUP_POLICY_DELETE) && retention != null) {
                expiring.put(resource.name(), retention);
            }
        }
    }

    /** The retention settings of a topic whose records expire, e.g. {@code retention.ms=604800000}, or null. */
    private static String retention(Config config) {
        List<String> finite = new ArrayList<>();
        for (String key : List.of(TopicConfig.RETENTION_MS_CONFIG, TopicConfig.RETENTION_BYTES_CONFIG)) {
            var entry = config.get(key);
            if (entry != null
                    && entry.value() != null
                    && !"-1".equals(entry.value().trim())) {
                finite.add(key + "=" + entry.value());
            }
        }
        return finite.isEmpty() ? null : String.join(", ", finite);
    }

    /**
     * If a topic of a configuration of its own (see {@link #KafkaStore(Map, List, Set, Map, Map, Duration)}) could
     * not be given it and deletes records by retention: its retention settings (e.g. {@code retention.ms=604800000});
     * empty when its records are kept, or when its configuration could not be read (no {@code DescribeConfigs}).
     */
    public java.util.Optional<String> expiringRetention(String topic) {
        return java.util.Optional.ofNullable(expiring.get(topic));
    }

    private void follow() {
        try {
            while (!closing) {
                for (ConsumerRecord<byte[], byte[]> record : reader.poll(Duration.ofMillis(200))) {
                    apply(record);
                }
                repairRefused();
                lock.lock();
                try {
                    for (TopicPartition partition : positions.keySet()) {
                        positions.put(partition, reader.position(partition));
                    }
                    advanced.signalAll();
                } finally {
                    lock.unlock();
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (RuntimeException e) {
            readerFailure = e;
            log.error("[{}] The registry reader stopped: {}", name, e.toString(), e);
            lock.lock();
            try {
                advanced.signalAll();
            } finally {
                lock.unlock();
            }
        } finally {
            reader.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(5)));
        }
    }

    private void apply(ConsumerRecord<byte[], byte[]> record) {
        if (record.key() == null) {
            log.warn(
                    "[{}] Ignoring a registry record without a key at {}-{}@{}",
                    name,
                    record.topic(),
                    record.partition(),
                    record.offset());
            return;
        }
        String key = new String(record.key(), StandardCharsets.UTF_8);
        Map<String, byte[]> view = views.get(record.topic());
        Map<String, Long> index = offsets.get(record.topic());
        BiPredicate<byte[], byte[]> rule = acceptRules.get(record.topic());
        byte[] current = view.get(key);
        if (rule != null
                && record.value() != null
                && current != null
                && !java.util.Arrays.equals(current, record.value())
                && !rule.test(current, record.value())) {
            // in an append-only topic (claims, result ends) a key's first record wins and a later one lost a race it
            // was written to take part in (two replicas claiming at once): nothing went wrong, so not a warning
            boolean firstWins = notCompacted.contains(record.topic());
            log.atLevel(firstWins ? org.slf4j.event.Level.DEBUG : org.slf4j.event.Level.WARN)
                    .log(
                            "[{}] Ignoring the record at {}-{}@{} for key '{}': {}",
                            name,
                            record.topic(),
                            record.partition(),
                            record.offset(),
                            key,
                            firstWins
                                    ? "the key's first record holds (first writer wins)"
                                    : "the transition it asks for is not allowed");
            if (!indexOnly.contains(record.topic())) {
                refusedLast
                        .computeIfAbsent(record.topic(), t -> new HashMap<>())
                        .put(
                                key,
                                System.nanoTime()
                                        + TimeUnit.MILLISECONDS.toNanos(jitter.nextInt(REPAIR_JITTER_MS + 1)));
            }
            return;
        }
        if (rule != null) {
            Map<String, Long> refused = refusedLast.get(record.topic());
            if (refused != null) {
                refused.remove(key);
            }
        }
        if (record.value() == null) {
            view.remove(key);
            index.remove(key);
        } else {
            view.put(key, indexOnly.contains(record.topic()) ? new byte[0] : record.value());
            index.put(key, record.offset());
        }
        for (BiConsumer<String, String> listener : listeners) {
            try {
                listener.accept(record.topic(), key);
            } catch (RuntimeException e) {
                log.warn("[{}] A registry listener failed on {}/{}", name, record.topic(), key, e);
            }
        }
    }

    /**
     * Writes the accepted value again for every key whose last record was refused, once this reader is at the end of
     * the partition (so a repair already in the log has been seen) and the key's repair time has come. Reader thread.
     */
    private void repairRefused() {
        long now = System.nanoTime();
        for (Map.Entry<String, Map<String, Long>> entry : refusedLast.entrySet()) {
            String topic = entry.getKey();
            if (entry.getValue().isEmpty() || closing) {
                continue;
            }
            if (notCompacted.contains(topic)) { // every record stays: the refused one can never become the last
                entry.getValue().clear();
                continue;
            }
            java.util.OptionalLong lag = reader.currentLag(new TopicPartition(topic, 0));
            if (lag.isEmpty() || lag.getAsLong() > 0) {
                continue;
            }
            for (var it = entry.getValue().entrySet().iterator(); it.hasNext(); ) {
                Map.Entry<String, Long> refused = it.next();
                if (refused.getValue() - now > 0) {
                    continue;
                }
                it.remove();
                String key = refused.getKey();
                byte[] value = views.get(topic).get(key);
                if (value == null) {
                    continue;
                }
                log.info(
                        "[{}] Writing the value of key '{}' of '{}' again after a refused record, so that compaction "
                                + "keeps the accepted one",
                        name,
                        key,
                        topic);
                try {
                    producer.send(
                            new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value),
                            (metadata, error) -> {
                                if (error != null) {
                                    log.warn(
                                            "[{}] Could not repair key '{}' of '{}': {}",
                                            name,
                                            key,
                                            topic,
                                            error.toString());
                                }
                            });
                } catch (RuntimeException e) {
                    log.warn("[{}] Could not repair key '{}' of '{}': {}", name, key, topic, e.toString());
                }
            }
        }
    }

    /**
     * Writes (or, with a {@code null} value, deletes) a key and waits until this store's view shows it.
     */
    public void put(String topic, String key, byte[] value) {
        putAll(topic, List.of(new java.util.AbstractMap.SimpleEntry<>(key, value)));
    }

    /**
     * Writes several keys of a topic in order ({@code null} values delete) and waits until the view shows the
     * last of them.
     */
    public void putAll(String topic, List<Map.Entry<String, byte[]>> entries) {
        checkOpen();
        List<java.util.concurrent.Future<RecordMetadata>> sent = new ArrayList<>();
        for (Map.Entry<String, byte[]> entry : entries) {
            sent.add(producer.send(
                    new ProducerRecord<>(topic, entry.getKey().getBytes(StandardCharsets.UTF_8), entry.getValue())));
        }
        Map<TopicPartition, Long> needed = new HashMap<>();
        try {
            for (java.util.concurrent.Future<RecordMetadata> future : sent) {
                RecordMetadata metadata = future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
                needed.merge(
                        new TopicPartition(metadata.topic(), metadata.partition()), metadata.offset() + 1, Math::max);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RegistryException("Interrupted while writing to registry topic '" + topic + "'", e);
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            throw new RegistryException(
                    "Cannot write to registry topic '" + topic + "': " + reason(cause, "WRITE"), cause);
        }
        awaitPositions(needed, "applying a write to '" + topic + "'");
    }

    /**
     * Sends a record to a topic this store does not follow (an append-only log such as the metrics topic) without
     * waiting: the future completes when the broker acknowledges it, or fails with the producer's exception.
     */
    public java.util.concurrent.Future<RecordMetadata> append(
            String topic, String key, byte[] value, org.apache.kafka.clients.producer.Callback callback) {
        checkOpen();
        return producer.send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value), callback);
    }

    /** Waits until every record sent so far has been acknowledged or has failed. */
    public void flush() {
        checkOpen();
        producer.flush();
    }

    /** A missing ACL or a failed authentication in one line naming the principal and resource; else the cause. */
    private String reason(Throwable cause, String topicOperation) {
        return io.kafkaml.common.KafkaAccessException.find(cause, clientConfig, topicOperation)
                .map(Exception::getMessage)
                .orElseGet(() -> cause instanceof java.util.concurrent.TimeoutException
                        ? "timed out after " + timeout.toMillis() + " ms"
                                + (cause.getMessage() == null ? "" : ": " + cause.getMessage())
                        : String.valueOf(cause));
    }

    /**
     * The registry admin client's timeouts, as defaults the user's settings override: its calls end with the
     * registry timeout, never below the request timeout the user set (Kafka refuses that combination).
     */
    private Map<String, Object> adminTimeouts() {
        long registry = Math.max(1, timeout.toMillis());
        Object userRequest = clientConfig.get(ClientConfigs.ADMIN_PREFIX
                + org.apache.kafka.clients.admin.AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG);
        if (userRequest == null) {
            userRequest = clientConfig.get(org.apache.kafka.clients.admin.AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG);
        }
        if (userRequest == null) {
            int api = (int) Math.min(Integer.MAX_VALUE, registry);
            return Map.of(
                    org.apache.kafka.clients.admin.AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
                    api,
                    org.apache.kafka.clients.admin.AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG,
                    Math.min(api, 30_000));
        }
        long request;
        try {
            request = Long.parseLong(String.valueOf(userRequest).trim());
        } catch (NumberFormatException e) {
            return Map.of(); // the admin client reports the bad value itself
        }
        return Map.of(org.apache.kafka.clients.admin.AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int)
                Math.min(Integer.MAX_VALUE, Math.max(registry, request)));
    }

    /** Why a Kafka client could not even be created: most often a bootstrap address that does not resolve. */
    private String clientCreationReason(org.apache.kafka.common.KafkaException e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof org.apache.kafka.common.config.ConfigException config) {
                String message = String.valueOf(config.getMessage());
                return message.contains("resolvable bootstrap")
                        ? "none of bootstrap.servers=" + bootstrapServers() + " resolves to an address (check the "
                                + "host names and DNS)"
                        : message;
            }
        }
        Throwable root = e;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        return e.getMessage() + (root == e ? "" : ": " + root);
    }

    private String bootstrapServers() {
        Object servers = clientConfig.get(org.apache.kafka.clients.CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
        return servers instanceof java.util.Collection<?> list
                ? String.join(",", list.stream().map(String::valueOf).toList())
                : String.valueOf(servers);
    }

    private void awaitPositions(Map<TopicPartition, Long> needed, String what) {
        Deadline deadline = Deadline.after(timeout);
        lock.lock();
        try {
            while (true) {
                if (readerFailure != null) {
                    throw new RegistryException(
                            "The registry reader failed: " + reason(readerFailure, "READ"), readerFailure);
                }
                boolean done = true;
                for (Map.Entry<TopicPartition, Long> entry : needed.entrySet()) {
                    Long position = positions.get(entry.getKey());
                    if (position == null || position < entry.getValue()) {
                        done = false;
                        break;
                    }
                }
                if (done) {
                    return;
                }
                if (deadline.expired()) {
                    throw new RegistryException("Timed out after " + timeout.toMillis() + " ms " + what);
                }
                advanced.await(
                        Math.max(
                                1,
                                deadline.remainingAtMost(Duration.ofMillis(200)).toMillis()),
                        TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RegistryException("Interrupted while " + what, e);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits until this store has read {@code topics} up to their end as the broker has it now (one round trip for
     * the end offsets): a read after it sees every record written before the call.
     *
     * @throws RegistryException if the end offsets cannot be fetched or reached within the store's timeout
     */
    public void sync(List<String> topics) {
        checkOpen();
        List<TopicPartition> partitions =
                topics.stream().map(topic -> new TopicPartition(topic, 0)).toList();
        Map<TopicPartition, Long> ends;
        try {
            synchronized (this) {
                ends = fetcher.endOffsets(partitions, timeout);
            }
        } catch (RuntimeException e) {
            throw new RegistryException(
                    "Cannot read the end of registry topics " + topics + ": " + reason(e, "DESCRIBE"), e);
        }
        awaitPositions(ends, "reading " + topics + " to their end");
    }

    /** The value of a key, or {@code null}. */
    public byte[] get(String topic, String key) {
        return views.get(topic).get(key);
    }

    /** The number of keys a topic's view holds. */
    public int size(String topic) {
        return views.get(topic).size();
    }

    /** A snapshot of a topic's view, in key order. */
    public Map<String, byte[]> snapshot(String topic) {
        return Collections.unmodifiableMap(new java.util.TreeMap<>(views.get(topic)));
    }

    /** The offset of a key's current record, or {@code null}. */
    public Long offsetOf(String topic, String key) {
        return offsets.get(topic).get(key);
    }

    /**
     * Reads the value of the record at {@code offset} of partition 0 of {@code topic} (for index-only topics).
     *
     * @return the value, or {@code null} if no record is at that offset any more
     */
    public synchronized byte[] readAt(String topic, long offset) {
        checkOpen();
        TopicPartition partition = new TopicPartition(topic, 0);
        fetcher.assign(List.of(partition));
        fetcher.seek(partition, offset);
        Deadline deadline = Deadline.after(timeout);
        while (!deadline.expired()) {
            for (ConsumerRecord<byte[], byte[]> record : fetcher.poll(Duration.ofMillis(100))) {
                if (record.offset() == offset) {
                    return record.value();
                }
                if (record.offset() > offset) {
                    return null;
                }
            }
        }
        throw new RegistryException("Timed out reading " + topic + "@" + offset);
    }

    /** Calls {@code listener(topic, key)} on the reader thread after every record applied. */
    public void addListener(BiConsumer<String, String> listener) {
        listeners.add(listener);
    }

    /** Stops calling a listener added with {@link #addListener} (the same object); nothing if it is not there. */
    public void removeListener(BiConsumer<String, String> listener) {
        listeners.remove(listener);
    }

    /** The number of listeners added and not removed. */
    public int listenerCount() {
        return listeners.size();
    }

    private void checkOpen() {
        if (closing) {
            throw new IllegalStateException("The registry is closed");
        }
    }

    private String describeSizes() {
        Map<String, Integer> sizes = new LinkedHashMap<>();
        views.forEach((topic, view) -> sizes.put(topic, view.size()));
        return sizes.toString();
    }

    /** Stops the reader and closes the clients. Idempotent. */
    @Override
    public void close() {
        if (closing) {
            return;
        }
        closing = true;
        reader.wakeup();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        producer.close(Duration.ofSeconds(5));
        synchronized (this) {
            fetcher.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(5)));
        }
    }
}
