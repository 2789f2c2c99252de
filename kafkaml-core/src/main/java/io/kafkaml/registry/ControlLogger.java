package io.kafkaml.registry;

import io.kafkaml.common.KafkaAccessException;
import io.kafkaml.config.KafkaClientSupplier;
import io.kafkaml.control.ControlChannel;
import io.kafkaml.control.ControlMessage;
import io.kafkaml.control.InvalidControlMessageException;
import io.kafkaml.internals.Backoff;
import io.kafkaml.internals.ClientConfigs;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records every control message of a control topic in the registry's datasource catalog, with its time and
 * deployment, so that a data stream can be found and re-sent to another deployment later
 * ({@link Registry#resend(String, String)}).
 *
 * <pre>{@code
 * try (ControlLogger logger = ControlLogger.start(clientConfig, registry)) {
 *     ...   // every control message sent meanwhile (and before) is in registry.datasources()
 * }
 * }</pre>
 *
 * <p>It reads the control topic from the beginning, on a thread of its own ({@code kafkaml-control-logger}),
 * and skips messages already recorded, so restarting it is harmless. A malformed control message is logged
 * with its topic, partition and offset and counted, never recorded, and never stops the logger.
 *
 * <p><b>Bounded</b> by {@value io.kafkaml.config.KafkaMlConfig#MAX_CONTROL_MESSAGES_CONFIG} (default 1,000,000), so that
 * a huge or flooded control topic cannot grow the catalog, which every registry client holds in memory, without end:
 * a partition holding more messages than its share of the limit is read from its newest share only, and while the
 * catalog holds that many datasources no further message is recorded ({@link #notRecorded()} counts them); each is
 * said once in a WARN naming the setting and where reading or recording stopped. Deleting datasources or raising
 * the setting lets recording go on.
 *
 * <p><b>Failures.</b> A read that fails for a passing reason (a broker restart, a timeout) is logged and retried with
 * a backoff (1 s doubling to 30 s). A refusal by the broker (no {@code READ} on the control topic or {@code WRITE} on
 * the registry's datasources topic, a failed SASL authentication or TLS handshake) is retried, each attempt a WARN,
 * only for {@value io.kafkaml.config.KafkaMlConfig#CONTROL_LOGGER_REFUSAL_RETRY_MS_CONFIG} (default 30 s): SCRAM
 * credentials and ACLs reach every broker asynchronously, so a refusal right after they were created passes. A refusal
 * that lasts that long is final: the logger logs one ERROR line naming the principal, the resource and the operation
 * it needed (logger {@code io.kafkaml.registry.ControlLogger.failure}), stops, and {@link #failure()} says why
 * ({@link KafkaAccessException}); {@link #awaitTermination(Duration)} returns. If its thread ends for any other reason
 * (an {@link Error} such as an {@code OutOfMemoryError}, an interrupt), it logs that at ERROR on the same logger and
 * {@link #stoppedBy()} says why. Either way nothing more is cataloged, and whoever runs the logger says so
 * ({@code kafkaml control-logger} exits with status 1, {@code kafkaml broker} prints it).
 *
 * <p>Thread safety: thread-safe; every method may be called from any thread. Lifecycle: {@link #start} starts its
 * thread; it runs until {@link #close()} (idempotent) or a final failure; it cannot be restarted.
 */
public final class ControlLogger implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ControlLogger.class);
    /**
     * Logs the one ERROR line of a refusal ({@link #failure()}); an application that reports the failure itself may
     * turn this logger off.
     */
    private static final Logger failureLog = LoggerFactory.getLogger(ControlLogger.class.getName() + ".failure");
    /** After a failed read: 1 s, doubling to 30 s while the failures go on. */
    private static final Backoff READ_RETRY =
            new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(30), Backoff.KAFKA_JITTER);

    private final Registry registry;
    private final String topic;
    private final Consumer<byte[], byte[]> consumer;
    private final Thread thread;
    private final AtomicLong recorded = new AtomicLong();
    private final AtomicLong malformed = new AtomicLong();
    private final AtomicLong notRecorded = new AtomicLong();
    private final long maxControlMessages;
    /** Reader thread only: whether the full catalog was warned about since recording last stopped. */
    private boolean warnedFull;

    private volatile boolean closing;
    /** Why the logger stopped on its own: a refusal by the broker; {@code null} while it runs or after close. */
    private volatile KafkaAccessException failure;
    /** Why the logger's thread ended on its own: {@link #failure} or what else it died of; {@code null} if it did not. */
    private volatile Throwable stoppedBy;
    /** How long a refusal by the broker is retried before it is final. */
    private final long refusalRetryNanos;
    /** The user's settings, to name the principal in a refusal. */
    private final Map<String, ?> clientConfig;

    private ControlLogger(Map<String, ?> clientConfig, Registry registry, String topic, KafkaClientSupplier clients) {
        this.registry = Objects.requireNonNull(registry, "registry");
        // a HashMap copy, not Map.copyOf: a setting may hold null (an unset environment variable), as for every client
        this.clientConfig = java.util.Collections.unmodifiableMap(
                new java.util.HashMap<>(Objects.requireNonNull(clientConfig, "clientConfig")));
        this.refusalRetryNanos = TimeUnit.MILLISECONDS.toNanos(
                io.kafkaml.config.KafkaMlConfig.controlLoggerRefusalRetryMs(clientConfig));
        this.topic = Objects.requireNonNull(topic, "topic");
        this.maxControlMessages = io.kafkaml.config.KafkaMlConfig.maxControlMessages(clientConfig);
        this.consumer = ClientConfigs.controlTopicReader(
                clientConfig, "kafkaml-control-logger-" + topic, Objects.requireNonNull(clients, "clients"));
        this.thread = new Thread(this::run, "kafkaml-control-logger | " + topic);
        this.thread.setDaemon(true);
    }

    /** Starts logging the default control topic, {@value ControlChannel#DEFAULT_TOPIC}. */
    public static ControlLogger start(Map<String, ?> clientConfig, Registry registry) {
        return start(clientConfig, registry, ControlChannel.DEFAULT_TOPIC);
    }

    /** Starts logging a control topic. */
    public static ControlLogger start(Map<String, ?> clientConfig, Registry registry, String controlTopic) {
        return start(clientConfig, registry, controlTopic, KafkaClientSupplier.DEFAULT);
    }

    /**
     * Starts logging a control topic with a consumer created by {@code clients} (tests: a {@code MockConsumer}); the
     * logger closes it when it stops.
     *
     * @param clients creates the one consumer that reads the control topic, on the calling thread; the logger's
     *     thread is the only one that uses it afterwards (and {@link #close()}, which calls its {@code wakeup()})
     */
    public static ControlLogger start(
            Map<String, ?> clientConfig, Registry registry, String controlTopic, KafkaClientSupplier clients) {
        ControlLogger logger = new ControlLogger(clientConfig, registry, controlTopic, clients);
        logger.thread.start();
        return logger;
    }

    /** The number of control messages recorded since the start. */
    public long recorded() {
        return recorded.get();
    }

    /** The number of malformed control messages skipped since the start. */
    public long malformed() {
        return malformed.get();
    }

    /**
     * The number of control messages not recorded since the start because the catalog held
     * {@value io.kafkaml.config.KafkaMlConfig#MAX_CONTROL_MESSAGES_CONFIG} datasources.
     */
    public long notRecorded() {
        return notRecorded.get();
    }

    /** The id a control message at this place gets in the catalog. */
    public static String datasourceId(String topic, int partition, long offset) {
        return topic + "-" + partition + "-" + offset;
    }

    private void run() {
        List<TopicPartition> assigned = new ArrayList<>();
        long nextMetadataCheck = 0;
        int failures = 0;
        int refusals = 0;
        long refusedSince = 0;
        try {
            while (!closing) {
                KafkaAccessException refusal = null;
                try {
                    if (System.nanoTime() >= nextMetadataCheck) {
                        assignNewPartitions(assigned);
                        nextMetadataCheck = System.nanoTime() + TimeUnit.SECONDS.toNanos(assigned.isEmpty() ? 1 : 10);
                    }
                    if (assigned.isEmpty()) {
                        Thread.sleep(200);
                        continue;
                    }
                    ConsumerRecords<byte[], byte[]> batch = consumer.poll(Duration.ofMillis(500));
                    // where each partition's unrecorded messages begin: a refused write reads them again later
                    Map<TopicPartition, Long> unrecorded = new java.util.HashMap<>();
                    for (TopicPartition partition : batch.partitions()) {
                        unrecorded.put(
                                partition, batch.records(partition).get(0).offset());
                    }
                    for (ConsumerRecord<byte[], byte[]> record : batch) {
                        TopicPartition partition = new TopicPartition(record.topic(), record.partition());
                        try {
                            record(record);
                            unrecorded.put(partition, record.offset() + 1);
                        } catch (RegistryException e) {
                            Optional<KafkaAccessException> refused =
                                    KafkaAccessException.find(e, clientConfig, "WRITE");
                            if (refused.isPresent()) {
                                unrecorded.forEach(consumer::seek);
                                refusal = refused.get();
                                break;
                            }
                            unrecorded.put(partition, record.offset() + 1);
                            log.error(
                                    "[{}] Could not record the control message at {}-{}@{}: {}",
                                    topic,
                                    record.topic(),
                                    record.partition(),
                                    record.offset(),
                                    e.getMessage());
                        }
                    }
                } catch (WakeupException e) {
                    throw e;
                } catch (RuntimeException e) {
                    Optional<KafkaAccessException> refused = KafkaAccessException.find(e, clientConfig, "READ");
                    if (refused.isEmpty()) {
                        // An always-on logger outlives a broker restart or a bad moment: log, back off, go on.
                        Duration wait = READ_RETRY.delay(++failures);
                        log.error(
                                "[{}] The control logger failed to read ({} in a row); retrying in {} ms: {}",
                                topic,
                                failures,
                                wait.toMillis(),
                                e.toString(),
                                e);
                        Thread.sleep(wait.toMillis());
                        continue;
                    }
                    refusal = refused.get();
                }
                if (refusal == null) {
                    failures = 0;
                    refusals = 0;
                    continue;
                }
                // A missing ACL or bad credentials is final once it lasts; but a SCRAM user or an ACL created a moment
                // ago may not have reached the broker that answered yet, so it is retried for a while first.
                long now = System.nanoTime();
                if (refusals++ == 0) {
                    refusedSince = now;
                }
                long left = refusalRetryNanos - (now - refusedSince);
                if (left <= 0) {
                    stopRefused(refusal);
                    return;
                }
                long waitMs = Math.max(
                        1, Math.min(READ_RETRY.delay(refusals).toMillis(), TimeUnit.NANOSECONDS.toMillis(left)));
                log.warn(
                        "[{}] The broker refused the control logger ({} in a row; final after {} ms, {}); retrying in "
                                + "{} ms: {}",
                        topic,
                        refusals,
                        TimeUnit.NANOSECONDS.toMillis(refusalRetryNanos),
                        io.kafkaml.config.KafkaMlConfig.CONTROL_LOGGER_REFUSAL_RETRY_MS_CONFIG,
                        waitMs,
                        refusal.getMessage());
                Thread.sleep(waitMs);
            }
        } catch (WakeupException e) {
            // closing
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            if (!closing) {
                stopUnexpectedly(e);
            }
        } catch (RuntimeException | Error e) { // an OutOfMemoryError, a NoClassDefFoundError, a bug: never silently
            stopUnexpectedly(e);
            if (e instanceof VirtualMachineError fatal) {
                throw fatal;
            }
        } finally {
            try {
                consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
            } catch (RuntimeException e) {
                log.warn("[{}] Closing the control logger's consumer failed: {}", topic, e.toString());
            }
        }
    }

    private void stopUnexpectedly(Throwable e) {
        stoppedBy = e;
        failureLog.error("[{}] The control logger stopped unexpectedly: {}", topic, e.toString(), e);
    }

    private void stopRefused(KafkaAccessException refused) {
        failure = refused;
        stoppedBy = refused;
        failureLog.error("[{}] The control logger stopped: {}", topic, refused.getMessage());
    }

    /**
     * Why the logger stopped on its own: the broker refused it (a missing ACL, failed authentication or TLS), in one
     * line naming the principal, the resource and the operation; empty while it runs and after {@link #close()}.
     */
    public Optional<KafkaAccessException> failure() {
        return Optional.ofNullable(failure);
    }

    /**
     * Why the logger's thread ended on its own, so that nothing more is cataloged: the refusal of {@link #failure()},
     * or what else it died of (an {@link Error}, an interrupt); empty while it runs and after {@link #close()}. A
     * process that runs a logger reports it (a health check, an exit status).
     */
    public Optional<Throwable> stoppedBy() {
        return Optional.ofNullable(stoppedBy);
    }

    /**
     * Waits until the logger's thread has ended (after {@link #close()}, or on its own after a refusal, see
     * {@link #failure()}).
     *
     * @return whether it has ended within {@code timeout}
     */
    public boolean awaitTermination(Duration timeout) {
        try {
            thread.join(Math.max(1, timeout.toMillis()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return !thread.isAlive();
    }

    private void assignNewPartitions(List<TopicPartition> assigned) {
        List<PartitionInfo> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(5));
        if (partitions == null || partitions.size() == assigned.size()) {
            return;
        }
        List<TopicPartition> fresh = new ArrayList<>();
        for (PartitionInfo info : partitions) {
            TopicPartition partition = new TopicPartition(info.topic(), info.partition());
            if (!assigned.contains(partition)) {
                assigned.add(partition);
                fresh.add(partition);
            }
        }
        consumer.assign(assigned);
        Map<TopicPartition, Long> begins = consumer.beginningOffsets(fresh, Duration.ofSeconds(5));
        Map<TopicPartition, Long> ends = consumer.endOffsets(fresh, Duration.ofSeconds(5));
        long share = Math.max(1, maxControlMessages / partitions.size());
        for (TopicPartition partition : fresh) {
            long begin = begins.getOrDefault(partition, 0L);
            long end = ends.getOrDefault(partition, 0L);
            if (end - begin > share) {
                consumer.seek(partition, end - share);
                log.warn(
                        "[{}] {} holds {} control messages, more than its share ({}) of {} ({}): recording the newest "
                                + "from offset {} on; offsets {} to {} are not cataloged (raise {} to catalog them)",
                        topic,
                        partition,
                        end - begin,
                        share,
                        io.kafkaml.config.KafkaMlConfig.MAX_CONTROL_MESSAGES_CONFIG,
                        maxControlMessages,
                        end - share,
                        begin,
                        end - share - 1,
                        io.kafkaml.config.KafkaMlConfig.MAX_CONTROL_MESSAGES_CONFIG);
            } else {
                consumer.seek(partition, begin);
            }
        }
    }

    private void record(ConsumerRecord<byte[], byte[]> record) {
        String id = datasourceId(record.topic(), record.partition(), record.offset());
        if (registry.datasource(id).isPresent()) {
            return;
        }
        ControlMessage message;
        try {
            message = ControlMessage.fromRecord(record);
        } catch (InvalidControlMessageException e) {
            malformed.incrementAndGet();
            log.warn("[{}] Not recording a malformed control message: {}", topic, e.getMessage());
            return;
        }
        int cataloged = registry.datasourceCount();
        if (cataloged >= maxControlMessages) {
            notRecorded.incrementAndGet();
            if (!warnedFull) {
                warnedFull = true;
                log.warn(
                        "[{}] Not recording the control message at {}-{}@{} nor the ones after it: the datasource "
                                + "catalog holds {} datasources, the limit of {}; delete datasources or raise {}",
                        topic,
                        record.topic(),
                        record.partition(),
                        record.offset(),
                        cataloged,
                        io.kafkaml.config.KafkaMlConfig.MAX_CONTROL_MESSAGES_CONFIG,
                        io.kafkaml.config.KafkaMlConfig.MAX_CONTROL_MESSAGES_CONFIG);
            }
            return;
        }
        warnedFull = false;
        registry.recordDatasource(new Datasource(
                id,
                message.deploymentId(),
                record.topic(),
                Instant.ofEpochMilli(record.timestamp()),
                message.toJson()));
        recorded.incrementAndGet();
    }

    /** Stops the logger. Idempotent. */
    @Override
    public void close() {
        if (closing) {
            return;
        }
        closing = true;
        consumer.wakeup();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
