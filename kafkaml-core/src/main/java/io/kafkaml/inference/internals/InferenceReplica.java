package io.kafkaml.inference.internals;

import io.kafkaml.common.KafkaMlException;
import io.kafkaml.config.KafkaClientSupplier;
import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.format.RecordDecodeException;
import io.kafkaml.format.RecordDecoder;
import io.kafkaml.format.RecordFormats;
import io.kafkaml.inference.InferenceConfig;
import io.kafkaml.inference.InferenceException;
import io.kafkaml.inference.InferenceExceptionHandler;
import io.kafkaml.inference.InferenceExceptionHandler.FailedInput;
import io.kafkaml.inference.InferenceExceptionHandler.Response;
import io.kafkaml.inference.InferenceExceptionHandler.Stage;
import io.kafkaml.inference.InferenceRecordException;
import io.kafkaml.inference.InferenceSpec;
import io.kafkaml.inference.InferenceStats;
import io.kafkaml.inference.LocalInference;
import io.kafkaml.inference.ProcessingGuarantee;
import io.kafkaml.inference.ServedModel;
import io.kafkaml.internals.ClientConfigs;
import io.kafkaml.internals.Deadline;
import io.kafkaml.runtime.Supervisor;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.FencedInstanceIdException;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One inference replica: a consumer in the deployment's group and a producer of its own. Each poll is decoded
 * into one batch, predicted in one forward pass, and written to the output topic one record per input, with
 * the input's key and headers plus {@code kafkaml.result} and {@code kafkaml.model}.
 *
 * <h2>Guarantees</h2>
 * <ul>
 * <li>At least once: offsets are committed only once every prediction (and dead-letter record) before them is
 * acknowledged; a send that fails for a reason other than the record itself fails the replica without committing,
 * so its supervisor's new replica predicts those inputs again.</li>
 * <li>Exactly once: predictions, dead-letter records and offsets are written in Kafka transactions, one open across
 * the polls of at most {@link InferenceConfig#COMMIT_INTERVAL_MS_CONFIG} (100 ms by default; committed sooner when a
 * poll brings fewer inputs than the batch size, before a rebalance moves partitions ({@code onPartitionsRevoked}),
 * and on stop; aborted when partitions are lost), as Kafka Streams does ({@link TransactionSpan}). An abortable
 * error (a refused record, a commit with a stale group generation, a coordinator change) aborts the transaction,
 * seeks every partition it read, in all its polls, back to its committed offset and goes on; an input whose own
 * prediction was refused is remembered and handled by the {@link InferenceExceptionHandler} when it comes again.
 * A {@code commitTransaction()} that times out is retried; if its outcome stays unknown the replica fails and its
 * restart ({@code initTransactions()}, same transactional id) resolves it. An {@code InvalidProducerEpochException}
 * (the coordinator aborted a transaction older than {@code transaction.timeout.ms}) is abortable like the others.
 * A {@code ProducerFencedException} fails the replica ({@link #fenced()}) without an abort, and its supervisor
 * restarts it with a new producer, as Kafka Streams treats a fenced task (it closes it dirty and rejoins): the
 * coordinator also fences the producer when it aborts a transaction that outlived {@code transaction.timeout.ms}
 * (a broker outage), so fencing alone does not prove a newer replica exists. Before the restart the replica leaves
 * its group and describes it: a member still holding its name ({@code <name>-consumer}) is a second process
 * started with the same instance id, and the replica then fails without a restart, naming that member (the
 * deployment is FAILED, a joined process exits non-zero). A transaction is kept within half of
 * {@code transaction.timeout.ms} (and of {@code max.poll.interval.ms}) from its beginning by processing polls in
 * chunks, so a slow batch does not get its own transaction timed out.</li>
 * <li>Inputs that fail for a reason of their own (undecodable, a model error on that row, a prediction the producer
 * refuses such as {@code RecordTooLargeException}) go to the {@link InferenceExceptionHandler}: CONTINUE writes
 * them to the dead-letter topic with headers {@code kafkaml.dlq.topic}, {@code .partition}, {@code .offset},
 * {@code .stage}, {@code .error.class}, {@code .error.message}; FAIL throws {@link InferenceRecordException}.</li>
 * <li>Rebalances: revoked partitions are committed up to what is acknowledged; lost partitions
 * ({@code onPartitionsLost}: the session expired) are dropped without any commit.</li>
 * <li>{@code max.poll.interval.ms}: a poll is processed in chunks; when half the interval has passed the rest is
 * sought back and polled again; a chunk that took more than a quarter of it halves the chunk size, and a full chunk
 * that took less than a sixteenth doubles it again, up to the batch size ({@link PollChunks}).</li>
 * </ul>
 *
 * <p>Counters ({@link InferenceStats}) count what happened: a prediction is counted when its send is acknowledged
 * (at least once) or its transaction committed (exactly once).
 *
 * <p>Runs on the thread that calls {@link #run()}, normally a {@link Supervisor}'s; {@link #stop()},
 * {@link #stop(Duration)} and {@link #abort()} may be called from any thread. Single use.
 */
public final class InferenceReplica implements Supervisor.Runner, LocalInference.Replica {

    private static final Logger log = LoggerFactory.getLogger(InferenceReplica.class);
    /** Header naming the training result whose model made a prediction. */
    public static final String RESULT_HEADER = KafkaMlConfig.RESULT_HEADER;
    /** Header naming the model that made a prediction. */
    public static final String MODEL_HEADER = KafkaMlConfig.MODEL_HEADER;
    /** Dead-letter header: the input's topic. */
    public static final String DLQ_TOPIC_HEADER = KafkaMlConfig.DLQ_TOPIC_HEADER;
    /** Dead-letter header: the input's partition. */
    public static final String DLQ_PARTITION_HEADER = KafkaMlConfig.DLQ_PARTITION_HEADER;
    /** Dead-letter header: the input's offset. */
    public static final String DLQ_OFFSET_HEADER = KafkaMlConfig.DLQ_OFFSET_HEADER;
    /** Dead-letter header: where it failed ({@link Stage}). */
    public static final String DLQ_STAGE_HEADER = KafkaMlConfig.DLQ_STAGE_HEADER;
    /** Dead-letter header: the class of the error. */
    public static final String DLQ_ERROR_CLASS_HEADER = KafkaMlConfig.DLQ_ERROR_CLASS_HEADER;
    /** Dead-letter header: the error's message. */
    public static final String DLQ_ERROR_MESSAGE_HEADER = KafkaMlConfig.DLQ_ERROR_MESSAGE_HEADER;
    /** Dead-letter header: why the input's key, value and headers were left out of its dead-letter copy. */
    public static final String DLQ_PAYLOAD_OMITTED_HEADER = KafkaMlConfig.DLQ_PAYLOAD_OMITTED_HEADER;
    /**
     * Bytes a record adds to its key, value and headers in a request at most: the record batch header (61) and one
     * record's varint fields (at most 21), as Kafka's {@code AbstractRecords.estimateSizeInBytesUpperBound} counts.
     */
    static final int RECORD_OVERHEAD_BYTES = 61 + 21;

    private static final int MAX_CONSECUTIVE_ABORTS = 5;
    /** Exactly once: how many times a timed-out {@code commitTransaction()} is tried in all, when not stopping. */
    static final int COMMIT_ATTEMPTS = 3;

    private final String name;
    private final InferenceSpec spec;
    /** The model served; replaced only between batches, by the replica thread ({@link #offerModel}). */
    private volatile ServedModel model;
    /** A model handed over by another thread, switched to at the start of the next batch. */
    private final java.util.concurrent.atomic.AtomicReference<ServedModel> offered =
            new java.util.concurrent.atomic.AtomicReference<>();
    /** The {@code kafkaml.result} and {@code kafkaml.model} header values of every prediction. */
    private final byte[] resultHeader;

    private final byte[] modelHeader;
    /** The {@code kafkaml.model.version} header value of the model served, {@code null} for no version. */
    private byte[] versionHeader;

    private final InferenceCounters stats;
    private final InferenceExceptionHandler handler;
    private final Consumer<byte[], byte[]> consumer;
    private final Producer<byte[], byte[]> producer;
    /** Where its consumer, producer and admin clients come from. */
    private final KafkaClientSupplier clients;

    private final boolean transactional;
    private final long maxPollIntervalNanos;
    /** The consumer's {@code client.id}: {@code <name>-consumer} unless the user set one. */
    private final String consumerClientId;

    private final CountDownLatch finished = new CountDownLatch(1);
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile boolean stopping;
    private volatile boolean aborting;
    private volatile boolean fenced;
    private volatile Deadline stopDeadline;
    /** Exactly once: a {@code commitTransaction()} is under way or its outcome is unknown (no abort then). */
    private boolean committing;

    private float[] features = new float[0];
    private final PollChunks chunks;
    /** Exactly once: the longest a transaction stays open across polls ({@link TransactionSpan#maxOpenNanos}). */
    private final long maxOpenNanos;
    /** Exactly once: the transaction open across polls, or null. Replica thread only. */
    private TransactionSpan tx;
    /** Whether this replica may produce and commit now (its process's part in the deployment is confirmed). */
    private volatile java.util.function.BooleanSupplier writeWindow = () -> true;
    /** Loop thread only: partitions are paused because the write window is closed. */
    private boolean heldBack;

    private int consecutiveAborts;

    /** At least once: offsets waiting for their predictions' acknowledgements. Replica thread only. */
    private final Map<TopicPartition, OffsetAndMetadata> pendingOffsets = new HashMap<>();
    /** At least once: the highest offset whose commit was sent, per partition. Replica thread only. */
    private final SentCommits sentCommits = new SentCommits();
    /** The user's client settings and the group, to describe a refusal by the broker. */
    private final Map<String, ?> clientConfig;

    private final long maxRecordBytes;
    private final String groupId;
    /** Sends not yet acknowledged; guarded by itself. */
    private final Object sendsLock = new Object();

    private long outstanding;
    /** Sends that failed, from the producer's thread to the replica's. */
    private final ConcurrentLinkedQueue<FailedSend> failedSends = new ConcurrentLinkedQueue<>();
    /** Exactly once: inputs whose prediction the producer refused in an aborted transaction, with the reason. */
    private final Map<TopicPartition, Map<Long, Throwable>> refused = new HashMap<>();

    private long lastCommitNanos = System.nanoTime();

    private record FailedSend(
            ConsumerRecord<byte[], byte[]> input,
            ProducerRecord<byte[], byte[]> record,
            boolean deadLetter,
            Exception error) {}

    /** The producer's {@code max.request.size}: a dead-letter copy larger than this leaves the input out. */
    private final int maxRequestSize;
    /** Exactly once: inputs whose dead-letter copy was refused as too large; their next copy leaves them out. */
    private final Map<TopicPartition, Set<Long>> omitPayload = new HashMap<>();
    /** The producer's {@code max.block.ms}: the longest wait for a topic to take writes. */
    private final Duration maxBlock;
    /** Output and dead-letter topics checked to take writes before the first send to them. Replica thread only. */
    private final Set<String> checkedTopics = new HashSet<>();

    /**
     * @param name the replica's name, unique in its group; with exactly-once it is also its transactional id
     *     ({@code <inference id>-<instance id>-<n>}, see {@link InferenceConfig}), so a restarted replica fences its
     *     predecessor
     * @param clientConfig the user's client settings ({@code consumer.}/{@code producer.} prefixes apply) and the
     *     {@code kafkaml.inference.*} settings of {@link InferenceConfig}
     * @param stats the deployment's counters, shared by its replicas
     * @param clients where the replica's consumer, producer and admin clients come from (called with the complete
     *     configuration of each; the replica owns and closes what it gets)
     */
    public InferenceReplica(
            String name,
            InferenceSpec spec,
            String groupId,
            ServedModel model,
            Map<String, ?> clientConfig,
            InferenceCounters stats,
            KafkaClientSupplier clients) {
        this.name = name;
        this.clients = java.util.Objects.requireNonNull(clients, "clients");
        this.clientConfig = java.util.Collections.unmodifiableMap(new HashMap<>(clientConfig));
        this.maxRecordBytes = KafkaMlConfig.maxRecordBytes(clientConfig);
        this.groupId = groupId;
        this.spec = spec;
        this.model = model;
        this.resultHeader = model.result().id().getBytes(StandardCharsets.UTF_8);
        this.modelHeader = model.result().model().getBytes(StandardCharsets.UTF_8);
        this.versionHeader = versionHeader(model);
        this.stats = stats;
        this.handler = InferenceConfig.exceptionHandler(clientConfig);
        this.transactional = spec.guarantee() == ProcessingGuarantee.EXACTLY_ONCE;
        Map<String, Object> consumerDefaults = new HashMap<>();
        consumerDefaults.put(ConsumerConfig.CLIENT_ID_CONFIG, name + "-consumer");
        consumerDefaults.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        consumerDefaults.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 10);
        Map<String, Object> consumerEnforced = new HashMap<>();
        consumerEnforced.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        consumerEnforced.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        consumerEnforced.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, spec.maxBatchSize());
        consumerEnforced.put(
                ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName());
        if (transactional) {
            consumerEnforced.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        }
        Map<String, Object> producerDefaults = new HashMap<>();
        producerDefaults.put(ProducerConfig.CLIENT_ID_CONFIG, name + "-producer");
        producerDefaults.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        producerDefaults.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 10_000);
        Map<String, Object> producerEnforced = new HashMap<>();
        producerEnforced.put(ProducerConfig.ACKS_CONFIG, "all");
        producerEnforced.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        if (transactional) {
            producerEnforced.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, name);
        }
        Map<String, Object> consumerConfig = ClientConfigs.consumer(clientConfig, consumerDefaults, consumerEnforced);
        Object interval = consumerConfig.getOrDefault(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, 300_000);
        this.maxPollIntervalNanos = TimeUnit.MILLISECONDS.toNanos(Long.parseLong(interval.toString()));
        this.consumerClientId = String.valueOf(consumerConfig.get(ConsumerConfig.CLIENT_ID_CONFIG));
        Consumer<byte[], byte[]> newConsumer = clients.consumer(consumerConfig);
        Map<String, Object> producerConfig = ClientConfigs.producer(clientConfig, producerDefaults, producerEnforced);
        // exactly once: a poll's transaction stays open while its chunks are processed, and the coordinator aborts
        // (and fences) one older than transaction.timeout.ms, so the chunk budget is the smaller of the two
        long chunkBudgetNanos = transactional
                ? Math.min(
                        maxPollIntervalNanos,
                        TimeUnit.MILLISECONDS.toNanos(Long.parseLong(
                                String.valueOf(producerConfig.get(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG)))))
                : maxPollIntervalNanos;
        this.chunks = new PollChunks(spec.maxBatchSize(), chunkBudgetNanos);
        this.maxOpenNanos =
                TransactionSpan.maxOpenNanos(InferenceConfig.commitInterval(clientConfig), chunkBudgetNanos);
        this.maxRequestSize = Integer.parseInt(
                String.valueOf(producerConfig.getOrDefault(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 1024 * 1024)));
        this.maxBlock = Duration.ofMillis(Long.parseLong(
                String.valueOf(producerConfig.getOrDefault(ProducerConfig.MAX_BLOCK_MS_CONFIG, 60_000))));
        try {
            this.producer = clients.producer(producerConfig);
        } catch (RuntimeException e) {
            newConsumer.close(CloseOptions.timeout(Duration.ZERO));
            throw e;
        }
        this.consumer = newConsumer;
    }

    /** The replica's name (and, with exactly-once, its transactional id). */
    public String name() {
        return name;
    }

    /**
     * Polls, predicts and writes until stopped.
     *
     * @throws InferenceRecordException if the exception handler said FAIL for an input (not curable by a restart)
     * @throws RuntimeException any other failure (a restart may cure it); kept in {@link #failure()} too
     */
    @Override
    public void run() {
        try {
            if (transactional) {
                producer.initTransactions();
            }
            consumer.subscribe(List.of(spec.inputTopic()), new Rebalances());
            while (!stopping && !aborting) {
                if (!transactional) {
                    commitAcknowledged(false, null);
                }
                holdBackUnlessWritable();
                ConsumerRecords<byte[], byte[]> records;
                try {
                    // exactly once, an open transaction is committed when due, whether or not inputs come
                    records = consumer.poll(
                            tx == null
                                    ? spec.maxWait()
                                    : Duration.ofNanos(tx.pollNanos(
                                            System.nanoTime(),
                                            maxOpenNanos,
                                            spec.maxWait().toNanos())));
                } catch (WakeupException e) {
                    continue;
                }
                if (!records.isEmpty()) {
                    if (!writeWindow.getAsBoolean()) {
                        List<ConsumerRecord<byte[], byte[]>> all = new ArrayList<>(records.count());
                        records.forEach(all::add);
                        rewind(all, false); // polled again once the window opens (or by the group's next owner)
                        if (tx != null) {
                            endTransaction(false); // aborted: its predictions may not be written now
                        }
                        continue;
                    }
                    process(records);
                } else if (tx != null && !aborting) {
                    endTransaction(true); // nothing more is waiting (or it is due): commit what is open
                }
            }
            if (!aborting && !transactional) {
                finalCommit(); // a graceful stop: every prediction written, every offset committed
            }
            if (!aborting && tx != null) {
                endTransaction(true); // a graceful stop: the open transaction is committed
            }
        } catch (WakeupException e) {
            // stopping
        } catch (RuntimeException | Error e) {
            if (isFencing(e)) {
                fenced = true;
                log.warn(
                        "[{}] Fenced: the producer epoch of transactional id {} was bumped ({}): the coordinator "
                                + "aborted a transaction older than transaction.timeout.ms, or another process uses "
                                + "this instance id; the batch is discarded uncommitted and the replica restarts",
                        name,
                        name,
                        e.toString());
                // the fenced transaction is dead (the coordinator aborted it): the consumer's close in
                // duplicateMember() must not try to commit it on revocation, or LeaveGroup is skipped and this
                // replica's own member is mistaken for another process's
                tx = null;
                String duplicate = duplicateMember();
                KafkaMlException fencedFailure = duplicate != null
                        ? new DuplicateInstanceException(
                                "another process serves this deployment with the same instance id: its replica "
                                        + name + " (" + duplicate + ") fenced the producer with transactional id "
                                        + name + "; give each process its own " + InferenceConfig.INSTANCE_ID_CONFIG
                                        + " (--instance-id, KAFKAML_INSTANCE_ID)",
                                e)
                        : new KafkaMlException(
                                "the producer with transactional id " + name + " was fenced (" + e.getMessage()
                                        + "); if this repeats, another process runs with the same instance id ("
                                        + InferenceConfig.INSTANCE_ID_CONFIG + ")",
                                e);
                failure.set(fencedFailure);
                throw fencedFailure;
            }
            if (stopping || aborting) {
                log.info(
                        "[{}] stopped with an unfinished batch ({}); its inputs will be predicted again",
                        name,
                        e.toString());
                return;
            }
            RuntimeException access = accessFailure(e);
            if (access != null) {
                failure.set(access);
                throw access; // one line naming the principal, the resource and the operation; never restarted
            }
            failure.set(e);
            throw e;
        } finally {
            close();
            finished.countDown();
        }
    }

    /**
     * Sets what says whether this replica may produce and commit now ({@code LocalInference}: its process's part in the
     * deployment was confirmed within the lease less one heartbeat interval). While it says no, the replica stays in
     * its group with its partitions paused, writes nothing, and a batch under way is abandoned (at least once: its
     * inputs are predicted again; exactly once: its transaction is aborted). Call before {@link #run()}.
     */
    public void writeWindow(java.util.function.BooleanSupplier window) {
        this.writeWindow = java.util.Objects.requireNonNull(window, "window");
    }

    /** Pauses every assigned partition while the write window is closed, resumes them when it opens. Loop thread. */
    private void holdBackUnlessWritable() {
        boolean writable = writeWindow.getAsBoolean();
        if (!writable) {
            if (!heldBack) {
                log.warn(
                        "[{}] This process's part in the deployment has not been confirmed within its lease; the "
                                + "replica writes nothing until it is",
                        name);
            }
            consumer.pause(consumer.assignment()); // again each time: partitions assigned since are held too
            heldBack = true;
        } else if (heldBack) {
            consumer.resume(consumer.paused());
            heldBack = false;
            log.info("[{}] Confirmed again; the replica goes on", name);
        }
    }

    /** Thrown inside a batch when the write window closed before its predictions or offsets were written. */
    private static final class WriteWindowClosed extends RuntimeException {
        private static final long serialVersionUID = 1L;

        WriteWindowClosed() {
            super("the write window closed", null, false, false);
        }
    }

    private void checkWriteWindow() {
        if (!writeWindow.getAsBoolean()) {
            throw new WriteWindowClosed();
        }
    }

    /**
     * Whether a failure is a producer fencing (a newer instance of the same transactional id). Only
     * {@code ProducerFencedException}: an {@code InvalidProducerEpochException} is the coordinator aborting a
     * transaction that outlived {@code transaction.timeout.ms} (say, a broker outage), abortable since KIP-588 — the
     * batch is aborted and processed again, and the replica keeps its slot.
     */
    static boolean isFencing(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ProducerFencedException) {
                return true;
            }
        }
        return false;
    }

    /**
     * After a fencing: the member of the deployment's group that another process runs under this replica's name, or
     * null. This replica's consumer leaves the group first (a closed consumer sends LeaveGroup), so a member still
     * holding its client id ({@code <name>-consumer}) is a process started with the same instance id. Null also when
     * the user set the consumer's {@code client.id} (the names then prove nothing) or the group cannot be described.
     */
    private String duplicateMember() {
        if (!consumerClientId.equals(name + "-consumer")) {
            return null;
        }
        try {
            consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
        } catch (RuntimeException closing) {
            log.debug("[{}] closing the consumer: {}", name, closing.toString());
        }
        Map<String, Object> adminConfig = ClientConfigs.admin(
                clientConfig, Map.of(AdminClientConfig.CLIENT_ID_CONFIG, name + "-admin"), Map.of());
        try (Admin admin = clients.admin(adminConfig)) {
            ConsumerGroupDescription group = admin.describeConsumerGroups(List.of(groupId))
                    .describedGroups()
                    .get(groupId)
                    .get(10, TimeUnit.SECONDS);
            for (MemberDescription member : group.members()) {
                if (consumerClientId.equals(member.clientId())) {
                    return "member " + member.consumerId() + " on " + member.host();
                }
            }
            return null;
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
            return null;
        } catch (Exception describing) {
            log.debug("[{}] could not describe group {}: {}", name, groupId, describing.toString());
            return null;
        }
    }

    /** A replica fenced by a live replica of the same name in another process: a restart would only fight it. */
    static final class DuplicateInstanceException extends KafkaMlException {
        private static final long serialVersionUID = 1L;

        DuplicateInstanceException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** A refusal by the broker (ACL, authentication, TLS) described in one line, or null. */
    private RuntimeException accessFailure(Throwable e) {
        Map<String, Object> context = new HashMap<>(clientConfig);
        context.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        if (transactional) {
            context.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, name);
        }
        return io.kafkaml.common.KafkaAccessException.find(
                        e, context, topic -> topic.equals(spec.inputTopic()) ? "READ" : "WRITE")
                .orElse(null);
    }

    /**
     * Whether a restart can cure a replica's failure: not a handler's FAIL, not a refusal of authorization, not a
     * failed authentication (SASL or TLS: wrong credentials or an untrusted certificate stay wrong).
     */
    public static boolean isRestartable(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof InferenceRecordException
                    || t instanceof DuplicateInstanceException
                    || t instanceof AuthorizationException
                    || t instanceof AuthenticationException
                    || t instanceof FencedInstanceIdException
                    || t instanceof UnsupportedVersionException) {
                return false;
            }
        }
        return true;
    }

    /** Whether the producer refused a record for a reason of the record itself. */
    static boolean isRecordLevel(Throwable e) {
        return e instanceof RecordTooLargeException
                || e instanceof InvalidRecordException
                || e instanceof SerializationException;
    }

    private final class Rebalances implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            if (transactional && tx != null && !aborting && !fenced && failure.get() == null) {
                // hand the partitions over with the open transaction committed (Kafka Streams commits its tasks on
                // revocation too); if it cannot be, it is aborted and every partition it read is sought back
                endTransaction(true);
            }
            if (!transactional && !aborting && !fenced && failure.get() == null) {
                // hand the partitions over with everything acknowledged committed (never after a failed send:
                // then the offsets waiting may lie beyond a prediction that was not written)
                try {
                    commitAcknowledged(
                            true, stopDeadline != null ? stopDeadline : Deadline.after(Duration.ofSeconds(30)));
                } catch (WakeupException e) {
                    commitAcknowledged(true, Deadline.after(Duration.ofSeconds(5)));
                } catch (KafkaException e) {
                    log.warn(
                            "[{}] Could not commit revoked partitions {} ({}); their inputs after the last committed "
                                    + "offset will be predicted again",
                            name,
                            partitions,
                            e.toString());
                }
            }
            forget(partitions);
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            // The group has moved on without us (session expired, or the group's generation changed): the
            // partitions may already belong to another member, so committing would fail or, worse, go back.
            log.warn(
                    "[{}] Lost partitions {} (the group moved on); dropping their uncommitted progress without a "
                            + "commit",
                    name,
                    partitions);
            if (tx != null && !aborting && !fenced) {
                // its offsets of those partitions can no longer be committed: abort it all, and seek the partitions
                // still owned back to their committed offsets
                tx.forget(partitions);
                endTransaction(false);
            }
            forget(partitions);
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            log.debug("[{}] assigned {}", name, partitions);
        }
    }

    private void forget(Collection<TopicPartition> partitions) {
        partitions.forEach(pendingOffsets::remove);
        sentCommits.forget(partitions);
        partitions.forEach(refused::remove);
        partitions.forEach(omitPayload::remove);
    }

    /**
     * Hands over a model (a newly promoted version) to switch to at the start of the next batch, never inside a batch
     * or a transaction. A later offer before the switch replaces an earlier one. Safe from any thread.
     */
    public void offerModel(ServedModel next) {
        offered.set(java.util.Objects.requireNonNull(next, "next"));
    }

    private static byte[] versionHeader(ServedModel model) {
        return model.version() == 0 ? null : String.valueOf(model.version()).getBytes(StandardCharsets.UTF_8);
    }

    /** The model version this replica serves, or was handed to switch to (0: the result's trained model). */
    public int modelVersion() {
        ServedModel next = offered.get();
        return next != null ? next.version() : model.version();
    }

    private void process(ConsumerRecords<byte[], byte[]> polled) {
        List<ConsumerRecord<byte[], byte[]>> all = new ArrayList<>(polled.count());
        polled.forEach(all::add);
        if (transactional && tx != null && tx.due(System.nanoTime(), maxOpenNanos)) {
            // poll() overran the transaction's time (a rebalance blocked in it, say): commit it before this poll's
            // inputs join it, so that it stays within commit.interval.ms plus one chunk
            Set<TopicPartition> open = new HashSet<>(tx.firstOffsets().keySet());
            if (!endTransaction(true)) {
                // aborted: its partitions were sought back to their committed offsets, so this poll's inputs from
                // them come again and must not be predicted now
                all.removeIf(record -> open.contains(new TopicPartition(record.topic(), record.partition())));
                if (all.isEmpty()) {
                    return;
                }
            }
        }
        // between batches, and under exactly-once only between transactions (a transaction may span several polls):
        // every transaction's predictions come from one version
        ServedModel swapped = transactional && tx != null ? null : offered.getAndSet(null);
        if (swapped != null) {
            log.info(
                    "[{}] Switching from version {} to version {} of result {}",
                    name,
                    model.version(),
                    swapped.version(),
                    spec.resultId());
            model = swapped;
            versionHeader = versionHeader(swapped);
        }
        long polledAt = System.nanoTime();
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        if (transactional) {
            if (tx == null) {
                producer.beginTransaction();
                tx = new TransactionSpan(polledAt);
            }
            tx.polled(all, spec.maxBatchSize(), polledAt);
        }
        // exactly once, the budget runs from the start of the transaction, which may be polls ago
        long budgetStart = transactional ? tx.startNanos() : polledAt;
        try {
            int done = 0;
            while (done < all.size()) {
                if (done > 0 && chunks.overdue(System.nanoTime() - budgetStart)) {
                    log.warn(
                            "[{}] Half of max.poll.interval.ms has passed after {} of {} inputs; the rest is polled "
                                    + "again",
                            name,
                            done,
                            all.size());
                    rewind(all.subList(done, all.size()), false);
                    break;
                }
                int end = Math.min(all.size(), done + chunks.size());
                long begin = System.nanoTime();
                processChunk(all.subList(done, end));
                // the next offset of each partition: a poll's records come partition after partition, so one entry
                // per run of a partition (the last record of the last run of a partition decides, as before)
                ConsumerRecord<byte[], byte[]> previous = null;
                for (ConsumerRecord<byte[], byte[]> record : all.subList(done, end)) {
                    if (previous != null
                            && (previous.partition() != record.partition()
                                    || !previous.topic().equals(record.topic()))) {
                        offsets.put(
                                new TopicPartition(previous.topic(), previous.partition()),
                                new OffsetAndMetadata(previous.offset() + 1));
                    }
                    previous = record;
                }
                if (previous != null) {
                    offsets.put(
                            new TopicPartition(previous.topic(), previous.partition()),
                            new OffsetAndMetadata(previous.offset() + 1));
                }
                int change = chunks.took(end - done, System.nanoTime() - begin);
                if (change < 0) {
                    log.warn(
                            "[{}] A chunk took more than a quarter of max.poll.interval.ms; chunks are now {} inputs",
                            name,
                            chunks.size());
                } else if (change > 0) {
                    log.info("[{}] Chunks are fast again; now {} inputs", name, chunks.size());
                }
                done = end;
            }
            if (aborting) {
                return; // a crash: predictions may be out, offsets are not committed
            }
            if (transactional) {
                tx.processed(offsets, offsets.isEmpty() ? 0 : countUpTo(all, offsets));
            } else {
                long sent = System.nanoTime();
                // Committed once every prediction sent so far is acknowledged (see commitAcknowledged), while the
                // next batch is already being polled and predicted.
                offsets.forEach((partition, offset) ->
                        pendingOffsets.merge(partition, offset, (a, b) -> a.offset() >= b.offset() ? a : b));
                long committed = System.nanoTime();
                stats.recordsIn.add(offsets.isEmpty() ? 0 : countUpTo(all, offsets));
                stats.batches.increment();
                stats.commitNanos.add(committed - sent);
                stats.recordLatency(committed - polledAt);
            }
        } catch (KafkaException e) {
            if (!transactional || isFencing(e) || isFatalForProducer(e)) {
                throw e;
            }
            abortAndRewind(e);
            return;
        } catch (WriteWindowClosed e) {
            log.warn(
                    "[{}] A batch of {} inputs is abandoned: this process's part in the deployment was not confirmed "
                            + "within its lease (was it paused?); {}",
                    name,
                    all.size(),
                    transactional ? "its transaction is aborted" : "its inputs are predicted again");
            if (transactional) {
                abortOpenTransaction();
            } else {
                rewind(all, false);
            }
            return;
        }
        if (transactional && (stopping || tx.due(System.nanoTime(), maxOpenNanos))) {
            endTransaction(true);
        }
    }

    /**
     * Exactly once: ends the open transaction. With {@code commit} its offsets are sent to it and it is committed
     * (an abortable failure aborts it and seeks back every partition it read, a fencing or fatal error is thrown);
     * without, it is aborted and rewound.
     *
     * @return whether it committed (otherwise it was aborted, and the partitions it read were sought back)
     */
    private boolean endTransaction(boolean commit) {
        if (!commit) {
            log.info("[{}] Aborting the open transaction of {} inputs; rewinding", name, tx.recordsIn());
            abortOpenTransaction();
            return false;
        }
        try {
            checkWriteWindow();
            long sent = System.nanoTime();
            if (!tx.offsets().isEmpty()) {
                producer.sendOffsetsToTransaction(tx.offsets(), consumer.groupMetadata());
            }
            committing = true;
            commitResolvingTimeouts(
                    producer,
                    stopping && stopDeadline != null ? stopDeadline : Deadline.after(Duration.ofNanos(Long.MAX_VALUE)),
                    COMMIT_ATTEMPTS,
                    name);
            committing = false;
            long committed = System.nanoTime();
            TransactionSpan done = tx;
            tx = null;
            stats.recordsOut.add(done.out);
            stats.deadLettered.add(done.dead);
            stats.dropped.add(done.dropped);
            stats.recordsIn.add(done.recordsIn());
            stats.batches.add(done.polledAt().size());
            stats.commits.increment();
            stats.commitNanos.add(committed - sent);
            done.polledAt().forEach(polled -> stats.recordLatency(committed - polled));
            consecutiveAborts = 0;
            failedSends.clear();
            done.offsets().forEach((partition, next) -> {
                Map<Long, Throwable> handled = refused.get(partition);
                if (handled != null) {
                    handled.keySet().removeIf(offset -> offset < next.offset());
                }
                Set<Long> omitted = omitPayload.get(partition);
                if (omitted != null) {
                    omitted.removeIf(offset -> offset < next.offset());
                }
            });
            return true;
        } catch (KafkaException e) {
            if (isFencing(e) || isFatalForProducer(e)) {
                throw e;
            }
            committing = false; // the commit failed for good (an abortable error): abort it
            abortAndRewind(e);
            return false;
        } catch (WriteWindowClosed e) {
            log.warn(
                    "[{}] A transaction of {} inputs is abandoned: this process's part in the deployment was not "
                            + "confirmed within its lease (was it paused?); it is aborted",
                    name,
                    tx.recordsIn());
            abortOpenTransaction();
            return false;
        }
    }

    /** Exactly once: aborts the open transaction and seeks every partition it read back to its committed offset. */
    private void abortOpenTransaction() {
        TransactionSpan aborted = tx;
        tx = null;
        committing = false;
        producer.abortTransaction();
        failedSends.clear();
        rewind(aborted.firstOffsets(), true);
    }

    /**
     * Exactly once: commits the open transaction. A {@code TimeoutException} or {@code InterruptException} from
     * {@code commitTransaction()} leaves the outcome unknown, and the producer then refuses {@code abortTransaction()};
     * as {@code KafkaProducer}'s javadoc prescribes, the (idempotent) commit is retried, at most {@code attempts}
     * times (each blocks up to {@code max.block.ms}) and not after {@code deadline}. Any other error is thrown as it
     * is (an abortable one is aborted by the caller).
     *
     * @throws CommitOutcomeUnknownException if no retry succeeded (or the thread was interrupted): the replica must
     *     end, and its restart's {@code initTransactions()} with the same transactional id resolves the transaction
     */
    static void commitResolvingTimeouts(Producer<?, ?> producer, Deadline deadline, int attempts, String name) {
        for (int attempt = 1; ; attempt++) {
            try {
                producer.commitTransaction();
                if (attempt > 1) {
                    log.info("[{}] The transaction committed on attempt {}", name, attempt);
                }
                return;
            } catch (TimeoutException | InterruptException e) {
                if (e instanceof InterruptException || attempt >= attempts || deadline.expired()) {
                    throw new CommitOutcomeUnknownException(
                            "Replica " + name + " could not learn whether its "
                                    + "transaction committed after " + attempt + " attempt(s) (" + e
                                    + "); it ends, and a "
                                    + "restart with the same transactional id resolves the transaction",
                            e);
                }
                log.warn(
                        "[{}] commitTransaction() timed out ({}); retrying (attempt {} of {})",
                        name,
                        e.toString(),
                        attempt + 1,
                        attempts);
            }
        }
    }

    /**
     * At least once: the highest offset whose commit was sent, per partition. An asynchronous commit that fails
     * is retried only if no commit of a higher offset was sent after it (whatever that one's fate: if it fails too,
     * it is retried itself); otherwise the retry, committed later, would move the group's offset backwards and a
     * restart would predict inputs again. Not thread safe (the replica's thread).
     */
    static final class SentCommits {
        private final Map<TopicPartition, Long> highest = new HashMap<>();

        void sent(Map<TopicPartition, OffsetAndMetadata> offsets) {
            offsets.forEach((partition, offset) -> highest.merge(partition, offset.offset(), Math::max));
        }

        /** Whether a failed commit of {@code offset} is still the highest sent for its partition (then retry it). */
        boolean isLatest(TopicPartition partition, OffsetAndMetadata offset) {
            Long sent = highest.get(partition);
            return sent == null || offset.offset() >= sent;
        }

        void forget(Collection<TopicPartition> partitions) {
            partitions.forEach(highest::remove);
        }
    }

    /**
     * Whether a transaction's commit outcome is unknown: its {@code commitTransaction()} timed out and no retry
     * succeeded. Restartable: a new producer with the same transactional id completes or aborts it.
     */
    static final class CommitOutcomeUnknownException extends InferenceException {
        private static final long serialVersionUID = 1L;

        CommitOutcomeUnknownException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private static long countUpTo(
            List<ConsumerRecord<byte[], byte[]>> all, Map<TopicPartition, OffsetAndMetadata> offsets) {
        long count = 0;
        for (ConsumerRecord<byte[], byte[]> record : all) {
            OffsetAndMetadata end = offsets.get(new TopicPartition(record.topic(), record.partition()));
            if (end != null && record.offset() < end.offset()) {
                count++;
            }
        }
        return count;
    }

    private static boolean isFatalForProducer(KafkaException e) {
        return e instanceof AuthorizationException
                || e instanceof OutOfOrderSequenceException
                || e instanceof UnsupportedVersionException
                || e instanceof FencedInstanceIdException;
    }

    /**
     * Exactly once: aborts the open transaction, remembers the inputs whose own prediction was refused, and seeks
     * the batch's partitions back to their committed offsets so the batch is processed again.
     */
    private void abortAndRewind(KafkaException cause) {
        TransactionSpan aborted = tx;
        tx = null;
        producer.abortTransaction();
        int remembered = 0;
        // Once a transaction is in error, the producer fails the other records still in its buffers with the same
        // exception instance: only the first record to fail with an instance is the one it is about.
        Set<Throwable> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (FailedSend failed; (failed = failedSends.poll()) != null; ) {
            if (isRecordLevel(failed.error()) && seen.add(failed.error())) {
                if (failed.deadLetter()) {
                    if (failed.record().headers().lastHeader(DLQ_PAYLOAD_OMITTED_HEADER) != null) {
                        throw new InferenceRecordException(
                                "The dead-letter record of input "
                                        + location(failed.input()) + " was refused even without the input's payload: "
                                        + failed.error().getMessage(),
                                failed.input().topic(),
                                failed.input().partition(),
                                failed.input().offset(),
                                failed.error());
                    }
                    omitPayload
                            .computeIfAbsent(
                                    new TopicPartition(
                                            failed.input().topic(),
                                            failed.input().partition()),
                                    p -> new HashSet<>())
                            .add(failed.input().offset());
                    remembered++;
                    continue;
                }
                refused.computeIfAbsent(
                                new TopicPartition(
                                        failed.input().topic(), failed.input().partition()),
                                p -> new HashMap<>())
                        .put(failed.input().offset(), failed.error());
                remembered++;
            }
        }
        if (remembered == 0 && ++consecutiveAborts > MAX_CONSECUTIVE_ABORTS) {
            throw new InferenceException(
                    "Replica " + name + " aborted " + consecutiveAborts + " transactions in a row; last cause: "
                            + cause.getMessage(),
                    cause);
        }
        log.warn(
                "[{}] Aborted a transaction of {} polls ({}); {} refused prediction(s) will be handled when they "
                        + "come again; rewinding to the committed offsets",
                name,
                aborted.polledAt().size(),
                cause.toString(),
                remembered);
        rewind(aborted.firstOffsets(), true);
    }

    /**
     * Seeks each still-assigned partition of {@code records} back: to its committed offset when
     * {@code toCommitted} (falling back to the first offset in {@code records}), else to the first offset in
     * {@code records}.
     */
    private void rewind(List<ConsumerRecord<byte[], byte[]>> records, boolean toCommitted) {
        Map<TopicPartition, Long> first = new LinkedHashMap<>();
        for (ConsumerRecord<byte[], byte[]> record : records) {
            first.putIfAbsent(new TopicPartition(record.topic(), record.partition()), record.offset());
        }
        rewind(first, toCommitted);
    }

    /**
     * Seeks each still-assigned partition of {@code firstOffsets} back: to its committed offset when
     * {@code toCommitted} (falling back to the given offset), else to the given offset.
     */
    private void rewind(Map<TopicPartition, Long> firstOffsets, boolean toCommitted) {
        Map<TopicPartition, Long> first = new LinkedHashMap<>(firstOffsets);
        Set<TopicPartition> assigned = consumer.assignment();
        first.keySet().retainAll(assigned);
        if (first.isEmpty()) {
            return;
        }
        Map<TopicPartition, OffsetAndMetadata> committed =
                toCommitted ? consumer.committed(new HashSet<>(first.keySet()), Duration.ofSeconds(30)) : Map.of();
        first.forEach((partition, offset) -> {
            OffsetAndMetadata last = committed.get(partition);
            consumer.seek(partition, last != null ? last.offset() : offset);
        });
    }

    private void processChunk(List<ConsumerRecord<byte[], byte[]>> chunk) {
        long begin = System.nanoTime();
        RecordDecoder decoder = RecordFormats.bounded(model.decoder(), maxRecordBytes);
        int width = decoder.featureCount();
        int count = chunk.size();
        if (features.length < count * width) {
            features = new float[count * width];
        }
        List<ConsumerRecord<byte[], byte[]>> good = new ArrayList<>(count);
        checkWriteWindow();
        for (ConsumerRecord<byte[], byte[]> record : chunk) {
            Throwable refusedBefore = takeRefused(record);
            if (refusedBefore != null) {
                failed(record, Stage.PRODUCE, refusedBefore);
                continue;
            }
            try {
                decoder.decodeFeatures(record.key(), record.value(), features, good.size() * width);
                good.add(record);
            } catch (RecordDecodeException e) {
                failed(record, Stage.DECODE, e.at(record.topic(), record.partition(), record.offset()));
            }
        }
        long decoded = System.nanoTime();
        long predicted = decoded;
        if (!good.isEmpty()) {
            float[] predictions = predictOrFindTheBadRows(good, width);
            predicted = System.nanoTime();
            checkWriteWindow(); // the predictions took long, or the process was paused: confirmed still?
            int outputs = model.outputs();
            for (int i = 0; i < good.size(); i++) {
                ConsumerRecord<byte[], byte[]> input = good.get(i);
                if (rowFailed[i]) {
                    continue; // handled as a PREDICT failure
                }
                byte[] value;
                try {
                    value = model.encode(predictions, i * outputs);
                } catch (RuntimeException e) {
                    failed(input, Stage.PRODUCE, e);
                    continue;
                }
                RecordHeaders headers = new RecordHeaders(input.headers().toArray());
                headers.add(RESULT_HEADER, resultHeader);
                headers.add(MODEL_HEADER, modelHeader);
                if (versionHeader != null) {
                    headers.add(KafkaMlConfig.MODEL_VERSION_HEADER, versionHeader);
                }
                send(new ProducerRecord<>(spec.outputTopic(), null, input.key(), value, headers), input, false);
            }
        }
        stats.decodeNanos.add(decoded - begin);
        stats.predictNanos.add(predicted - decoded);
        stats.sendNanos.add(System.nanoTime() - predicted);
    }

    private boolean[] rowFailed = new boolean[0];

    /**
     * Predicts the rows in one forward pass; if that throws, predicts them one by one and hands each row that
     * throws to the exception handler. Marks failed rows in {@link #rowFailed}.
     */
    private float[] predictOrFindTheBadRows(List<ConsumerRecord<byte[], byte[]>> good, int width) {
        int rows = good.size();
        if (rowFailed.length < rows) {
            rowFailed = new boolean[rows];
        }
        java.util.Arrays.fill(rowFailed, 0, rows, false);
        try {
            return model.predict(features, rows);
        } catch (RuntimeException batchError) {
            log.warn(
                    "[{}] The model failed on a batch of {} ({}); predicting row by row to find the bad input(s)",
                    name,
                    rows,
                    batchError.toString());
            int outputs = model.outputs();
            float[] predictions = new float[rows * outputs];
            float[] row = new float[width];
            for (int i = 0; i < rows; i++) {
                System.arraycopy(features, i * width, row, 0, width);
                try {
                    System.arraycopy(model.predict(row, 1), 0, predictions, i * outputs, outputs);
                } catch (RuntimeException e) {
                    rowFailed[i] = true;
                    failed(good.get(i), Stage.PREDICT, e);
                }
            }
            return predictions;
        }
    }

    private Throwable takeRefused(ConsumerRecord<byte[], byte[]> record) {
        // kept until a transaction that handled it commits: an abort for another input brings it back again
        if (refused.isEmpty()) {
            return null; // the usual case: no key to build per input
        }
        Map<Long, Throwable> offsets = refused.get(new TopicPartition(record.topic(), record.partition()));
        return offsets == null ? null : offsets.get(record.offset());
    }

    /** Hands a failed input to the exception handler and carries out its decision. */
    private void failed(ConsumerRecord<byte[], byte[]> input, Stage stage, Throwable cause) {
        Response response;
        try {
            response = handler.handle(new FailedInput(input, stage, cause, spec.deadLetterTopic()));
        } catch (RuntimeException e) {
            log.error(
                    "[{}] The exception handler {} threw; failing",
                    name,
                    handler.getClass().getName(),
                    e);
            response = Response.FAIL;
        }
        if (response != Response.CONTINUE) {
            String where = spec.deadLetterTopic() == null ? " (no dead-letter topic is set)" : "";
            throw new InferenceRecordException(
                    "Input " + location(input) + " failed at " + stage + where + ": " + cause.getMessage(),
                    input.topic(),
                    input.partition(),
                    input.offset(),
                    cause);
        }
        if (spec.deadLetterTopic() == null) {
            log.warn(
                    "[{}] Dropping input {} that failed at {} (no dead-letter topic is set): {}",
                    name,
                    location(input),
                    stage,
                    cause.getMessage());
            if (transactional) {
                tx.dropped++;
            } else {
                stats.dropped.increment();
            }
            return;
        }
        log.debug("[{}] Input {} failed at {}, dead-lettered: {}", name, location(input), stage, cause.toString());
        send(deadLetter(input, stage, cause), input, true);
    }

    private void send(ProducerRecord<byte[], byte[]> record, ConsumerRecord<byte[], byte[]> input, boolean deadLetter) {
        if (checkedTopics.add(record.topic())) {
            awaitWritable(record.topic());
        }
        synchronized (sendsLock) {
            outstanding++;
        }
        Callback callback = (metadata, exception) -> {
            if (exception != null) {
                failedSends.add(new FailedSend(input, record, deadLetter, exception));
            } else if (!transactional) {
                (deadLetter ? stats.deadLettered : stats.recordsOut).increment();
            }
            synchronized (sendsLock) {
                outstanding--;
                sendsLock.notifyAll();
            }
        };
        try {
            producer.send(record, callback);
        } catch (KafkaException e) {
            synchronized (sendsLock) {
                outstanding--;
            }
            throw e;
        }
        if (transactional) {
            if (deadLetter) {
                tx.dead++;
            } else {
                tx.out++;
            }
        }
    }

    /**
     * Before the first send to an output or dead-letter topic (once per topic and replica): asks for the topic through
     * the producer, as the send would (the broker creates it when {@code auto.create.topics.enable} is on; an error
     * here is the one the send would meet), then waits until every partition's leader serves it, at most
     * {@code max.block.ms}. On a broker before Kafka 4.5 an idempotent producer's first batches to a partition created
     * a moment before can otherwise be lost (KAFKA-15591, see {@code Topics}). A wait that cannot be made (no
     * {@code DESCRIBE}, no answer in time) is logged and the send goes ahead, as it did before.
     */
    private void awaitWritable(String topic) {
        producer.partitionsFor(topic);
        Map<String, Object> adminConfig = ClientConfigs.admin(
                clientConfig,
                Map.of(org.apache.kafka.clients.admin.AdminClientConfig.CLIENT_ID_CONFIG, name + "-admin"),
                Map.of());
        try (Admin admin = clients.admin(adminConfig)) {
            io.kafkaml.internals.Topics.awaitWritable(admin, List.of(topic), maxBlock, () -> stopping || aborting);
        } catch (RuntimeException e) {
            if (Thread.currentThread().isInterrupted() || stopping || aborting) {
                log.debug("[{}] Stopped waiting for topic '{}' to take writes: {}", name, topic, e.toString());
            } else {
                log.warn(
                        "[{}] Could not check that topic '{}' takes writes ({}); sending anyway: on a broker before "
                                + "Kafka 4.5 the first batches to a partition created a moment ago can be lost "
                                + "(KAFKA-15591)",
                        name,
                        topic,
                        e.getMessage());
            }
        }
    }

    /** Waits until every send is acknowledged or the deadline passes; true if none is left. */
    private boolean awaitAcknowledged(Deadline deadline) {
        synchronized (sendsLock) {
            while (outstanding > 0 && !deadline.expired()) {
                try {
                    sendsLock.wait(Math.max(
                            1, deadline.remainingAtMost(Duration.ofMillis(100)).toMillis()));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return outstanding == 0;
        }
    }

    private long outstanding() {
        synchronized (sendsLock) {
            return outstanding;
        }
    }

    /**
     * At least once: carries out the exception handler's decisions for failed sends, then commits the offsets of
     * the batches whose sends are all acknowledged. Without {@code force} it commits asynchronously when nothing
     * is outstanding, and waits (at most 5 s) for acknowledgements when the last commit is older than a second, so
     * a steady stream of sends cannot postpone commits forever. With {@code force} (a stop, a revocation) it waits
     * for every send until {@code deadline} and commits synchronously.
     *
     * @throws InferenceException if a prediction could not be written for a reason other than the record itself:
     *     its offsets are never committed, and a restarted replica predicts those inputs again
     */
    private void commitAcknowledged(boolean force, Deadline deadline) {
        if (transactional) {
            return;
        }
        if (force) {
            boolean allAcknowledged;
            do {
                allAcknowledged = awaitAcknowledged(deadline);
                // after every send is acknowledged each failure is queued (a callback queues before it counts down)
            } while (handleFailedSends() && !deadline.expired());
            if (!allAcknowledged || outstanding() > 0 || pendingOffsets.isEmpty()) {
                return;
            }
            sentCommits.sent(pendingOffsets);
            consumer.commitSync(pendingOffsets, deadline.remaining());
            stats.commits.increment();
            pendingOffsets.clear();
            lastCommitNanos = System.nanoTime();
            return;
        }
        long left = outstanding();
        if (left > 0 && !pendingOffsets.isEmpty() && System.nanoTime() - lastCommitNanos > 1_000_000_000L) {
            left = awaitAcknowledged(Deadline.after(Duration.ofSeconds(5))) ? 0 : outstanding();
        }
        if (handleFailedSends() || left > 0 || pendingOffsets.isEmpty()) {
            return; // dead-letter records, or predictions, are on their way: commit once they are acknowledged
        }
        sentCommits.sent(pendingOffsets);
        stats.commits.increment();
        consumer.commitAsync(new HashMap<>(pendingOffsets), (offsets, error) -> {
            // called on this thread, inside a later poll or commit
            if (error != null) {
                Set<TopicPartition> owned = consumer.assignment();
                offsets.forEach((partition, offset) -> {
                    // a newer commit already sent supersedes this one: retrying it would move the group back
                    if (owned.contains(partition) && sentCommits.isLatest(partition, offset)) {
                        pendingOffsets.merge(partition, offset, (a, b) -> a.offset() >= b.offset() ? a : b);
                    }
                });
                log.warn(
                        "[{}] An offset commit failed ({}); it is retried for the partitions still assigned, the "
                                + "others' new owners predict the inputs after the last committed offset again",
                        name,
                        error.toString());
            }
        });
        pendingOffsets.clear();
        lastCommitNanos = System.nanoTime();
    }

    /** At least once: carries out the handler's decision for each failed send. True if there were any. */
    private boolean handleFailedSends() {
        boolean any = false;
        for (FailedSend failed; (failed = failedSends.poll()) != null; ) {
            any = true;
            if (!isRecordLevel(failed.error())) {
                throw new InferenceException(
                        "A " + (failed.deadLetter() ? "dead-letter record" : "prediction")
                                + " of input " + location(failed.input()) + " was not written (" + failed.error()
                                + "); nothing after the last committed offset is committed",
                        failed.error());
            }
            if (failed.deadLetter()) {
                if (failed.record().headers().lastHeader(DLQ_PAYLOAD_OMITTED_HEADER) != null) {
                    throw new InferenceRecordException(
                            "The dead-letter record of input " + location(failed.input())
                                    + " was refused even without the input's payload: "
                                    + failed.error().getMessage(),
                            failed.input().topic(),
                            failed.input().partition(),
                            failed.input().offset(),
                            failed.error());
                }
                // the input itself is what the producer or the broker refuses: send where it is and why, without it
                send(
                        withoutPayload(failed.record(), "the dead-letter copy was refused: " + failed.error()),
                        failed.input(),
                        true);
                continue;
            }
            failed(failed.input(), Stage.PRODUCE, failed.error());
        }
        return any;
    }

    private void finalCommit() {
        Deadline deadline = stopDeadline != null ? stopDeadline : Deadline.after(Duration.ofSeconds(30));
        try {
            commitAcknowledged(true, deadline);
        } catch (WakeupException e) {
            commitAcknowledged(true, deadline); // the wakeup meant for poll() hit the commit; it is consumed now
        }
        if (!pendingOffsets.isEmpty()) {
            log.warn(
                    "[{}] Stopped before every prediction was acknowledged; inputs after the last committed offset "
                            + "will be predicted again",
                    name);
        }
    }

    private ProducerRecord<byte[], byte[]> deadLetter(ConsumerRecord<byte[], byte[]> record, Stage stage, Throwable e) {
        RecordHeaders headers = new RecordHeaders(record.headers().toArray());
        headers.add(DLQ_TOPIC_HEADER, bytes(record.topic()));
        headers.add(DLQ_PARTITION_HEADER, bytes(String.valueOf(record.partition())));
        headers.add(DLQ_OFFSET_HEADER, bytes(String.valueOf(record.offset())));
        headers.add(DLQ_STAGE_HEADER, bytes(stage.name()));
        headers.add(DLQ_ERROR_CLASS_HEADER, bytes(e.getClass().getName()));
        String message = e instanceof RecordDecodeException decode ? decode.reason() : String.valueOf(e.getMessage());
        headers.add(
                DLQ_ERROR_MESSAGE_HEADER, bytes(message.replaceAll("\\s+", " ").trim())); // one line
        ProducerRecord<byte[], byte[]> copy =
                new ProducerRecord<>(spec.deadLetterTopic(), null, record.key(), record.value(), headers);
        Set<Long> omitted = omitPayload.get(new TopicPartition(record.topic(), record.partition()));
        if (omitted != null && omitted.contains(record.offset())) {
            return withoutPayload(copy, "the dead-letter copy was refused as too large before");
        }
        long size = sizeUpperBound(copy);
        return size > maxRequestSize
                ? withoutPayload(
                        copy,
                        "the dead-letter copy would be " + size + " bytes, over the producer's max.request.size of "
                                + maxRequestSize)
                : copy;
    }

    /** An upper bound of a record's size in a produce request, as the producer checks it against max.request.size. */
    static long sizeUpperBound(ProducerRecord<byte[], byte[]> record) {
        long size = RECORD_OVERHEAD_BYTES + length(record.key()) + length(record.value());
        for (org.apache.kafka.common.header.Header header : record.headers()) {
            size += 10 + header.key().getBytes(StandardCharsets.UTF_8).length + length(header.value());
        }
        return size;
    }

    private static int length(byte[] bytes) {
        return bytes == null ? 0 : bytes.length;
    }

    /**
     * A dead-letter copy without the input's key, value and own headers: only the {@code kafkaml.dlq.*} headers that
     * say where the input is and why it failed, plus {@link #DLQ_PAYLOAD_OMITTED_HEADER} saying why it is left out.
     */
    static ProducerRecord<byte[], byte[]> withoutPayload(ProducerRecord<byte[], byte[]> copy, String why) {
        RecordHeaders headers = new RecordHeaders();
        for (String name : List.of(
                DLQ_TOPIC_HEADER,
                DLQ_PARTITION_HEADER,
                DLQ_OFFSET_HEADER,
                DLQ_STAGE_HEADER,
                DLQ_ERROR_CLASS_HEADER,
                DLQ_ERROR_MESSAGE_HEADER)) {
            org.apache.kafka.common.header.Header header = copy.headers().lastHeader(name);
            if (header != null) {
                byte[] value = header.value();
                // an error message can quote the input: keep its first 1 KiB
                headers.add(name, value != null && value.length > 1024 ? java.util.Arrays.copyOf(value, 1024) : value);
            }
        }
        headers.add(
                DLQ_PAYLOAD_OMITTED_HEADER,
                bytes("key of " + length(copy.key()) + " bytes, value of " + length(copy.value())
                        + " bytes and the input's headers left out: " + why));
        return new ProducerRecord<>(copy.topic(), copy.partition(), (byte[]) null, (byte[]) null, headers);
    }

    private static String location(ConsumerRecord<?, ?> record) {
        return record.topic() + "-" + record.partition() + "@" + record.offset();
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** Finishes the current batch (predictions written, offsets committed) within 30 s and stops. */
    @Override
    public void stop() {
        stop(Duration.ofSeconds(30));
    }

    /**
     * Finishes the current batch and stops; what is not acknowledged and committed within {@code grace} is
     * abandoned (at least once: predicted again after a restart; exactly once: the transaction times out and is
     * aborted), and the clients are closed within what is left of it.
     */
    public void stop(Duration grace) {
        if (stopDeadline == null) {
            stopDeadline = Deadline.after(grace);
        }
        stopping = true;
        consumer.wakeup();
    }

    /**
     * Stops as a crash would: the current batch's predictions may be written but its offsets are not committed,
     * so its inputs are predicted again by whichever replica takes over. Exactly once, its open transaction is not
     * aborted here (that could block for {@code max.block.ms} with no broker): the transaction coordinator aborts it
     * after {@code transaction.timeout.ms}, or at once when a replica with the same transactional id starts.
     */
    public void abort() {
        aborting = true;
    }

    /** Waits until the replica has stopped. */
    public boolean awaitStopped(Duration timeout) {
        try {
            return finished.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** What stopped the replica, or {@code null}. */
    public Throwable failure() {
        return failure.get();
    }

    /**
     * Whether the replica failed because its producer was fenced (a bumped epoch for its transactional id); its
     * supervisor restarts it like any other restartable failure.
     */
    public boolean fenced() {
        return fenced;
    }

    private void close() {
        Deadline deadline = stopDeadline != null ? stopDeadline : Deadline.after(Duration.ofSeconds(10));
        try {
            // abandoning (abort()): no abortTransaction(), which blocks up to max.block.ms with no broker; the
            // coordinator aborts the transaction after transaction.timeout.ms, or the next initTransactions() with
            // this transactional id (a restarted replica) does at once
            // a transaction still open here (a stop cut short) is aborted like a failed one
            boolean open = tx != null;
            tx = null; // the consumer's close() may call onPartitionsRevoked: nothing is left to commit
            if (!aborting && (failure.get() != null || open) && transactional && !fenced && !committing) {
                try {
                    producer.abortTransaction();
                } catch (RuntimeException e) {
                    log.debug("[{}] abort: {}", name, e.toString());
                }
            }
            producer.close(aborting ? Duration.ZERO : deadline.remainingAtMost(Duration.ofSeconds(10)));
        } catch (RuntimeException e) {
            log.warn("[{}] Closing the producer failed", name, e);
        }
        try {
            consumer.close(
                    CloseOptions.timeout(aborting ? Duration.ZERO : deadline.remainingAtMost(Duration.ofSeconds(10))));
        } catch (RuntimeException e) {
            log.warn("[{}] Closing the consumer failed", name, e);
        }
    }
}
