package io.kafkaml.control;

import io.kafkaml.common.KafkaMlException;
import io.kafkaml.config.KafkaClientSupplier;
import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.control.internals.ControlMessageMatcher;
import io.kafkaml.internals.ClientConfigs;
import io.kafkaml.internals.Deadline;
import io.kafkaml.internals.TopicPartitions;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control topic: publishes {@link ControlMessage}s and waits for the one a deployment needs.
 *
 * <pre>{@code
 * try (ControlChannel control = ControlChannel.create(Map.of("bootstrap.servers", "localhost:9092"))) {
 *     control.publish(message, Duration.ofSeconds(10));
 *     ControlMessage mine = control.await("7", Duration.ofMinutes(5));
 * }
 * }</pre>
 *
 * <p>{@link #await(String, Duration)} reads the control topic from its earliest offset, so it finds a
 * message published before it started as well as one published while it waits. A malformed message for
 * another deployment is logged (with its topic, partition and offset) and skipped; a malformed message for
 * the awaited deployment fails the wait at once, rather than leaving the caller to wait for a message that
 * already arrived broken.
 *
 * <p>Messages are published with an idempotent producer and {@code acks=all}, keyed as Kafka-ML keys them
 * (see {@link ControlMessage#keyBytes()}). Numeric deployment ids for this control topic are claimed in a topic of
 * their own ({@link #claimDeploymentId}), so that processes deploying at the same instant never share one.
 *
 * <p><b>Client settings</b>: {@code bootstrap.servers} and any client or security setting, unprefixed or
 * with a {@code producer.} / {@code consumer.} prefix. <b>Threading</b>: thread-safe; each wait uses its own
 * consumer. <b>Lifecycle</b>: {@link #close()} is idempotent.
 */
public final class ControlChannel implements AutoCloseable {

    /** The control topic Kafka-ML uses by default. */
    public static final String DEFAULT_TOPIC = "KAFKA_ML_CONTROL_TOPIC";
    /** The suffix of the topic where numeric deployment ids are claimed ({@link #idClaimsTopic()}). */
    public static final String ID_CLAIMS_SUFFIX = "-deployment-ids";
    /** How long a claim record is kept before compaction may remove it (far longer than any claim takes). */
    static final long CLAIM_COMPACTION_LAG_MS = Duration.ofDays(1).toMillis();

    private static final Logger log = LoggerFactory.getLogger(ControlChannel.class);
    private static final AtomicInteger CLIENT_IDS = new AtomicInteger();
    private static final Duration METADATA_RETRY = Duration.ofMillis(500);
    private static final com.fasterxml.jackson.databind.ObjectMapper CLAIM_JSON =
            new com.fasterxml.jackson.databind.ObjectMapper();

    private final Map<String, ?> clientConfig;
    private final String topic;
    private final String clientIdPrefix;
    private final long maxControlMessages;
    private final KafkaClientSupplier clients;
    private Producer<byte[], byte[]> producer;
    private boolean closed;

    private ControlChannel(Map<String, ?> clientConfig, String topic, KafkaClientSupplier clients) {
        ClientConfigs.requireBootstrapServers(clientConfig);
        this.clients = Objects.requireNonNull(clients, "clients");
        this.clientConfig = Map.copyOf(clientConfig);
        this.topic = Objects.requireNonNull(topic, "topic");
        this.clientIdPrefix = "kafkaml-control-" + CLIENT_IDS.incrementAndGet();
        this.maxControlMessages = KafkaMlConfig.maxControlMessages(clientConfig);
    }

    /** A channel on the default control topic, {@value #DEFAULT_TOPIC}. */
    public static ControlChannel create(Map<String, ?> clientConfig) {
        return new ControlChannel(clientConfig, DEFAULT_TOPIC, KafkaClientSupplier.DEFAULT);
    }

    /** A channel on the given control topic. */
    public static ControlChannel create(Map<String, ?> clientConfig, String topic) {
        return new ControlChannel(clientConfig, topic, KafkaClientSupplier.DEFAULT);
    }

    /**
     * A channel on the given control topic whose producer, consumers and admin client are created by
     * {@code clients} (tests: {@code MockProducer} and {@code MockConsumer}); the channel closes each client it was
     * given. A wait ({@link #await}) asks for a new consumer each time, the producer is asked for once, on the first
     * publish or claim.
     *
     * @throws IllegalArgumentException if {@code bootstrap.servers} is missing
     */
    public static ControlChannel create(Map<String, ?> clientConfig, String topic, KafkaClientSupplier clients) {
        return new ControlChannel(clientConfig, topic, clients);
    }

    /** The control topic's name. */
    public String topic() {
        return topic;
    }

    /**
     * Publishes a control message and waits for the broker to acknowledge it.
     *
     * @return where the message was written
     * @throws KafkaMlException if it was not acknowledged within {@code timeout}, or the send failed
     */
    public RecordMetadata publish(ControlMessage message, Duration timeout) {
        Objects.requireNonNull(message, "message");
        try {
            return producer()
                    .send(new ProducerRecord<>(topic, message.keyBytes(), message.toJsonBytes()))
                    .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaMlException(
                    "Interrupted while publishing the control message for deployment '" + message.deploymentId() + "'",
                    e);
        } catch (ExecutionException e) {
            throw new KafkaMlException(
                    "Could not publish the control message for deployment '" + message.deploymentId() + "' to topic '"
                            + topic + "': " + e.getCause().getMessage(),
                    e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            throw new KafkaMlException(
                    "The control message for deployment '" + message.deploymentId()
                            + "' was not acknowledged on topic '" + topic + "' within " + timeout.toMillis() + " ms",
                    e);
        }
    }

    /**
     * Waits for the first control message for {@code deploymentId}, reading the control topic from its
     * earliest offset.
     *
     * @param timeout how long to wait; a very long duration (such as {@code ChronoUnit.FOREVER.getDuration()})
     *     waits indefinitely
     * @throws ControlMessageTimeoutException if none arrived in time
     * @throws InvalidControlMessageException if the message for this deployment is malformed
     */
    public ControlMessage await(String deploymentId, Duration timeout) {
        return await(deploymentId, timeout, () -> false);
    }

    /**
     * Like {@link #await(String, Duration)}, but gives up as soon as {@code cancelled} says so (it is asked about
     * five times a second).
     *
     * @throws ControlMessageTimeoutException if none arrived in time
     * @throws java.util.concurrent.CancellationException if {@code cancelled} became true first
     */
    public ControlMessage await(String deploymentId, Duration timeout, BooleanSupplier cancelled) {
        return await(deploymentId, ControlTopicPosition.BEGINNING, false, timeout, cancelled);
    }

    /**
     * Waits for the control message a deployment accepts: with
     * {@code reuse} false, the first one for {@code deploymentId} at or after {@code since}, ignoring older ones;
     * with {@code reuse} true, the newest one published before {@code since}, else the first after.
     *
     * @param since where the control topic ended when the deployment was recorded ({@link #readState})
     * @throws ControlMessageTimeoutException if none arrived in time
     * @throws InvalidControlMessageException if the message the deployment would accept is malformed
     * @throws java.util.concurrent.CancellationException if {@code cancelled} became true first
     * @throws KafkaMlException naming {@value io.kafkaml.config.KafkaMlConfig#MAX_CONTROL_MESSAGES_CONFIG} if more
     *     control messages than it allows were read without the one the deployment accepts
     */
    public ControlMessage await(
            String deploymentId,
            ControlTopicPosition since,
            boolean reuse,
            Duration timeout,
            BooleanSupplier cancelled) {
        Objects.requireNonNull(deploymentId, "deploymentId");
        ControlMessageMatcher matcher = new ControlMessageMatcher(deploymentId, since, reuse);
        Deadline deadline = Deadline.after(timeout);
        long skipped = 0;
        long scanned = 0;
        try (Consumer<byte[], byte[]> consumer = newConsumer()) {
            Set<TopicPartition> assigned = new HashSet<>();
            long nextMetadataCheck = 0;
            while (!deadline.expired()) {
                checkOpen();
                if (cancelled.getAsBoolean()) {
                    throw new CancellationException(
                            "Stopped waiting for the control message of " + "deployment '" + deploymentId + "'");
                }
                if (System.nanoTime() >= nextMetadataCheck) {
                    assignNewPartitions(consumer, assigned, deadline);
                    nextMetadataCheck = System.nanoTime()
                            + TimeUnit.SECONDS.toNanos(assigned.isEmpty() ? 0 : 5)
                            + METADATA_RETRY.toNanos();
                }
                if (assigned.isEmpty()) {
                    sleep(deadline.remainingAtMost(METADATA_RETRY));
                    continue;
                }
                for (ConsumerRecord<byte[], byte[]> record :
                        consumer.poll(deadline.remainingAtMost(Duration.ofMillis(200)))) {
                    if (++scanned > maxControlMessages) {
                        throw new KafkaMlException(
                                "Read more than " + maxControlMessages + " control messages on topic '" + topic
                                        + "' without the one deployment '" + deploymentId + "' accepts, the limit of "
                                        + KafkaMlConfig.MAX_CONTROL_MESSAGES_CONFIG + " (at " + record.topic() + "-"
                                        + record.partition() + "@" + record.offset() + "): raise "
                                        + KafkaMlConfig.MAX_CONTROL_MESSAGES_CONFIG + " if the topic holds that many");
                    }
                    try {
                        ControlMessage message = ControlMessage.peekDeploymentIds(record.key(), record.value())
                                        .contains(deploymentId)
                                ? ControlMessage.fromRecord(record, deploymentId) // a string key "12" (0x3132) too
                                : ControlMessage.fromRecord(record);
                        if (message.deploymentId().equals(deploymentId)) {
                            Optional<ControlMessage> accepted = matcher.offer(record, message);
                            if (accepted.isPresent()) {
                                return accepted.get();
                            }
                        }
                    } catch (InvalidControlMessageException e) {
                        if (e.deploymentId().filter(deploymentId::equals).isPresent()
                                || ControlMessage.peekDeploymentIds(record.key(), record.value())
                                        .contains(deploymentId)) { // a string key "12" (0x3132) too
                            matcher.offerInvalid(record, e);
                            continue;
                        }
                        skipped++;
                        log.warn("[{}] Skipping a malformed control message: {}", clientIdPrefix, e.getMessage());
                    }
                }
                if (reuse) {
                    Optional<ControlMessage> reused = matcher.readUpTo(positions(consumer, assigned));
                    if (reused.isPresent()) {
                        return reused.get();
                    }
                }
            }
        }
        throw new ControlMessageTimeoutException(deploymentId, topic, timeout, skipped);
    }

    /**
     * Reads the whole control topic once: where it ends now (the position a new deployment records) and the
     * largest numeric deployment id any message on it names (so that a new deployment's id is not one an earlier
     * registry or Kafka-ML itself already used on this topic). A missing topic gives
     * {@link ControlTopicPosition#BEGINNING} and 0. Malformed messages count with the id their key or JSON names.
     * A topic holding more than {@value io.kafkaml.config.KafkaMlConfig#MAX_CONTROL_MESSAGES_CONFIG} messages is read
     * from its newest that many only (an equal share of each partition), with a warning naming the setting.
     *
     * @throws KafkaMlException if the topic could not be read to its end within {@code timeout}
     */
    public ControlTopicState readState(Duration timeout) {
        Deadline deadline = Deadline.after(timeout);
        try (Consumer<byte[], byte[]> consumer = newConsumer()) {
            List<PartitionInfo> partitions;
            try {
                partitions = consumer.partitionsFor(topic, deadline.remainingAtMost(timeout));
            } catch (TimeoutException e) {
                throw new KafkaMlException(
                        "Cannot read the partitions of control topic '" + topic + "' within " + timeout.toMillis()
                                + " ms: " + e.getMessage(),
                        e);
            }
            if (partitions == null || partitions.isEmpty()) {
                return new ControlTopicState(ControlTopicPosition.BEGINNING, 0);
            }
            Set<TopicPartition> all = new HashSet<>();
            partitions.forEach(info -> all.add(new TopicPartition(topic, info.partition())));
            consumer.assign(all);
            Map<TopicPartition, Long> ends = consumer.endOffsets(all, deadline.remainingAtMost(timeout));
            seekToNewest(consumer, consumer.beginningOffsets(all, deadline.remainingAtMost(timeout)), ends);
            Map<Integer, Long> end = new HashMap<>();
            ends.forEach((partition, offset) -> end.put(partition.partition(), offset));
            long max = 0;
            while (!positions(consumer, all).entrySet().stream().allMatch(e -> e.getValue() >= end.get(e.getKey()))) {
                if (deadline.expired()) {
                    throw new KafkaMlException("Control topic '" + topic + "' was not read to its end " + end
                            + " within " + timeout.toMillis() + " ms");
                }
                for (ConsumerRecord<byte[], byte[]> record :
                        consumer.poll(deadline.remainingAtMost(Duration.ofMillis(200)))) {
                    max = Math.max(
                            max,
                            ControlMessage.peekDeploymentId(record.key(), record.value())
                                    .filter(id -> id.matches("[0-9]{1,18}"))
                                    .map(Long::parseLong)
                                    .orElse(0L));
                }
            }
            return new ControlTopicState(new ControlTopicPosition(end), max);
        }
    }

    /**
     * Positions a reader of the whole topic at its beginning, or, when the topic holds more than
     * {@value io.kafkaml.config.KafkaMlConfig#MAX_CONTROL_MESSAGES_CONFIG} messages, at the newest that many (an equal
     * share of each partition), with a warning: what is read then stays bounded however large the topic grows.
     */
    private void seekToNewest(
            Consumer<byte[], byte[]> consumer, Map<TopicPartition, Long> begins, Map<TopicPartition, Long> ends) {
        long held = 0;
        for (Map.Entry<TopicPartition, Long> entry : ends.entrySet()) {
            held += entry.getValue() - begins.getOrDefault(entry.getKey(), 0L);
        }
        if (held <= maxControlMessages) {
            consumer.seekToBeginning(ends.keySet());
            return;
        }
        long share = Math.max(1, maxControlMessages / ends.size());
        ends.forEach((partition, end) ->
                consumer.seek(partition, Math.max(begins.getOrDefault(partition, 0L), end - share)));
        log.warn(
                "[{}] Control topic '{}' holds {} messages, more than {} ({}): the largest deployment id on it is taken "
                        + "from the newest {} of each partition only (a new deployment ignores older messages anyway, "
                        + "and ids stay unique among kafkaml processes through '{}'); raise {} to read them all",
                clientIdPrefix,
                topic,
                held,
                maxControlMessages,
                KafkaMlConfig.MAX_CONTROL_MESSAGES_CONFIG,
                share,
                idClaimsTopic(),
                KafkaMlConfig.MAX_CONTROL_MESSAGES_CONFIG);
    }

    /**
     * The topic where kafkaml processes sharing this control topic claim numeric deployment ids:
     * {@code <control topic>}{@value #ID_CLAIMS_SUFFIX}, one partition, compacted (a claim is kept at least a day).
     * Kafka-ML itself never reads or writes it.
     */
    public String idClaimsTopic() {
        return topic + ID_CLAIMS_SUFFIX;
    }

    /**
     * Claims a numeric deployment id no other process has claimed on this control topic: the smallest one above both
     * {@code above} and every id claimed so far. Safe against processes (registries of any prefix, CLI runs, servers)
     * claiming at the same instant.
     *
     * <p>Protocol: the claims topic ({@link #idClaimsTopic()}) has one partition (checked; every claim is written to
     * and read from partition 0), so its log orders every claim. A claimant reads it from the beginning (the largest id
     * claimed so far), writes a claim record keyed by the decimal id it wants, reads on up to its own record, and has
     * the id if the first claim record of that id in the log is its own; otherwise it tries the next id above
     * everything it read. Every claimant decides from the same log order, so exactly one wins each id. The topic is
     * compacted with claim records kept at least a day before compaction may drop the duplicates of an id
     * ({@code min.compaction.lag.ms}), so no claimant still reading can miss an earlier claim; an existing topic with
     * more than one partition, or whose claims expire ({@code cleanup.policy=delete} with a finite
     * {@code retention.ms}), is refused.
     *
     * <p>ACLs (secured clusters): {@code DESCRIBE}, {@code READ} and {@code WRITE} on the topic, and {@code CREATE}
     * until it exists (or an administrator creates it: 1 partition, {@code cleanup.policy=compact}). A missing
     * permission is a {@link KafkaMlException} naming it, whose {@link #isAuthorizationFailure} is true.
     *
     * <p>Cost: one write and a read of the claims topic from its beginning: one small record per id claimed, so
     * proportional to the number of deployments on this control topic.
     *
     * @param above the id must be greater than this (the largest id seen on the control topic and in the registry)
     * @param owner who claims (a registry's topic prefix), recorded in the claim ({@link #recordDeploymentId})
     * @return the claimed id
     * @throws KafkaMlException if the claims topic is configured otherwise, or cannot be created, written or read
     *     within {@code timeout}
     */
    public long claimDeploymentId(long above, String owner, Duration timeout) {
        Deadline deadline = Deadline.after(timeout);
        ensureIdClaimsTopic(deadline);
        TopicPartition claims = new TopicPartition(idClaimsTopic(), 0);
        try (Consumer<byte[], byte[]> consumer = newConsumer()) {
            consumer.assign(List.of(claims));
            consumer.seekToBeginning(List.of(claims));
            long end = consumer.endOffsets(List.of(claims), deadline.remainingAtMost(timeout))
                    .get(claims);
            // Every claim record read, never skipped (a poll may return records past the offset asked for): an id's
            // first claim, and so the largest id, are always those of everything read so far.
            Map<Long, Claim> first = new HashMap<>();
            long max = readClaims(consumer, claims, end, deadline, first);
            String claimant = java.util.UUID.randomUUID().toString();
            while (true) {
                long candidate = Math.max(above, max) + 1;
                long offset = writeClaim(candidate, claimant, owner, deadline);
                max = Math.max(max, readClaims(consumer, claims, offset + 1, deadline, first));
                if (first.get(candidate).offset() == offset) {
                    return candidate;
                }
                log.info(
                        "[{}] Deployment id {} was claimed first by another process on '{}'; trying the next one",
                        clientIdPrefix,
                        candidate,
                        idClaimsTopic());
                if (deadline.expired()) {
                    throw new KafkaMlException("Could not claim a deployment id on topic '" + idClaimsTopic()
                            + "' within " + timeout.toMillis() + " ms: every id tried was claimed first by another "
                            + "process");
                }
            }
        } catch (org.apache.kafka.common.errors.AuthorizationException e) {
            throw notAuthorized("READ (and DESCRIBE)", e);
        } catch (org.apache.kafka.common.KafkaException e) {
            throw new KafkaMlException("Cannot claim a deployment id on topic '" + idClaimsTopic() + "': " + e, e);
        }
    }

    /**
     * Claims a numeric deployment id chosen by the caller (an explicit {@code --id}), so that ids claimed later
     * ({@link #claimDeploymentId}) are above it, and refuses it when another owner claimed it first: two deployments
     * of one id on one control topic would each train on the other's stream. A claim of the same {@code owner} (a
     * registry that deleted its deployment and deploys the id again) is accepted.
     *
     * @param owner who claims (a registry's topic prefix)
     * @throws io.kafkaml.registry.DuplicateEntityException if another owner claimed {@code id} first, naming it
     * @throws KafkaMlException if the claims topic cannot be created, written or read within {@code timeout}
     *     ({@link #isAuthorizationFailure} when an ACL is missing)
     */
    public void recordDeploymentId(long id, String owner, Duration timeout) {
        Objects.requireNonNull(owner, "owner");
        Deadline deadline = Deadline.after(timeout);
        ensureIdClaimsTopic(deadline);
        TopicPartition claims = new TopicPartition(idClaimsTopic(), 0);
        try (Consumer<byte[], byte[]> consumer = newConsumer()) {
            consumer.assign(List.of(claims));
            consumer.seekToBeginning(List.of(claims));
            Map<Long, Claim> first = new HashMap<>();
            long offset = writeClaim(id, "explicit", owner, deadline);
            readClaims(consumer, claims, offset + 1, deadline, first);
            Claim winner = first.get(id);
            if (winner.offset() != offset && !owner.equals(winner.owner())) {
                throw new io.kafkaml.registry.DuplicateEntityException(
                        "deployment id",
                        String.valueOf(id),
                        "claimed on control topic '" + topic + "' by "
                                + (winner.owner().isEmpty() ? "another process" : "registry '" + winner.owner() + "'")
                                + " (" + idClaimsTopic() + "-0@"
                                + winner.offset() + "); two deployments of one id would train on each other's stream: "
                                + "choose another id, or leave it out for a new one");
            }
        } catch (org.apache.kafka.common.errors.AuthorizationException e) {
            throw notAuthorized("READ (and DESCRIBE)", e);
        } catch (org.apache.kafka.common.KafkaException e) {
            throw new KafkaMlException(
                    "Cannot read the deployment ids claimed on topic '" + idClaimsTopic() + "': " + e, e);
        }
    }

    /**
     * Whether {@code e} (a failure of {@link #claimDeploymentId} or {@link #recordDeploymentId}) comes from a missing
     * ACL on the claims topic.
     */
    public static boolean isAuthorizationFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof org.apache.kafka.common.errors.AuthorizationException) {
                return true;
            }
        }
        return false;
    }

    private KafkaMlException notAuthorized(String operation, Throwable cause) {
        return new KafkaMlException(
                "Not authorized on the deployment id claims topic '" + idClaimsTopic() + "': the principal needs the "
                        + operation + " ACL on it (" + cause.getMessage() + ")",
                cause);
    }

    /**
     * The largest numeric deployment id claimed on this control topic, 0 when none (or when there is no claims topic).
     *
     * @throws KafkaMlException if the claims topic cannot be read within {@code timeout}
     */
    public long maxClaimedDeploymentId(Duration timeout) {
        Deadline deadline = Deadline.after(timeout);
        TopicPartition claims = new TopicPartition(idClaimsTopic(), 0);
        try (Consumer<byte[], byte[]> consumer = newConsumer()) {
            List<PartitionInfo> partitions = consumer.partitionsFor(claims.topic(), deadline.remainingAtMost(timeout));
            if (partitions == null || partitions.isEmpty()) {
                return 0;
            }
            consumer.assign(List.of(claims));
            consumer.seekToBeginning(List.of(claims));
            long end = consumer.endOffsets(List.of(claims), deadline.remainingAtMost(timeout))
                    .get(claims);
            return readClaims(consumer, claims, end, deadline, new HashMap<>());
        } catch (org.apache.kafka.common.errors.AuthorizationException e) {
            throw notAuthorized("READ (and DESCRIBE)", e);
        } catch (org.apache.kafka.common.KafkaException e) {
            throw new KafkaMlException(
                    "Cannot read the deployment ids claimed on topic '" + idClaimsTopic() + "': " + e, e);
        }
    }

    /** The first claim record of an id: where it is and who wrote it ({@code ""} when it says not). */
    private record Claim(long offset, String owner) {}

    /**
     * Reads the claims at least up to {@code until} (exclusive), every record polled included: each id's first claim
     * into {@code first}; returns the largest id read.
     */
    private long readClaims(
            Consumer<byte[], byte[]> consumer,
            TopicPartition claims,
            long until,
            Deadline deadline,
            Map<Long, Claim> first) {
        long max = 0;
        while (consumer.position(claims) < until) {
            if (deadline.expired()) {
                throw new KafkaMlException("The deployment id claims on topic '" + claims.topic()
                        + "' were not read up to offset " + until + " in time");
            }
            for (ConsumerRecord<byte[], byte[]> record :
                    consumer.poll(deadline.remainingAtMost(Duration.ofMillis(200)))) {
                String key =
                        record.key() == null ? "" : new String(record.key(), java.nio.charset.StandardCharsets.UTF_8);
                if (!key.matches("[0-9]{1,18}")) {
                    continue;
                }
                long id = Long.parseLong(key);
                if (!first.containsKey(id)) {
                    first.put(id, new Claim(record.offset(), ownerOf(record.value())));
                }
                max = Math.max(max, id);
            }
        }
        return max;
    }

    private static String ownerOf(byte[] value) {
        if (value == null) {
            return "";
        }
        try {
            return CLAIM_JSON.readTree(value).path("owner").asText("");
        } catch (java.io.IOException e) {
            return "";
        }
    }

    private long writeClaim(long id, String claimant, String owner, Deadline deadline) {
        byte[] value;
        try {
            value = CLAIM_JSON.writeValueAsBytes(Map.of(
                    "claimant",
                    claimant,
                    "owner",
                    owner,
                    "controlTopic",
                    topic,
                    "at",
                    java.time.Instant.now().toString()));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new KafkaMlException("Cannot write the claim of deployment id " + id + ": " + e.getMessage(), e);
        }
        try {
            // Partition 0 explicitly: the claims are ordered by that one partition's log, whatever the key hashes to.
            return producer()
                    .send(new ProducerRecord<>(
                            idClaimsTopic(),
                            0,
                            String.valueOf(id).getBytes(java.nio.charset.StandardCharsets.UTF_8),
                            value))
                    .get(deadline.remainingAtMost(Duration.ofDays(1)).toMillis(), TimeUnit.MILLISECONDS)
                    .offset();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaMlException("Interrupted while claiming deployment id " + id, e);
        } catch (ExecutionException e) {
            if (isAuthorizationFailure(e.getCause())) {
                throw notAuthorized("WRITE", e.getCause());
            }
            throw new KafkaMlException(
                    "Could not write the claim of deployment id " + id + " to topic '" + idClaimsTopic() + "': "
                            + e.getCause().getMessage(),
                    e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            throw new KafkaMlException(
                    "The claim of deployment id " + id + " was not acknowledged on topic '" + idClaimsTopic()
                            + "' in time",
                    e);
        }
    }

    /**
     * Creates the claims topic if absent (1 partition, compacted); refuses an existing one with several partitions or
     * whose claims expire.
     */
    private void ensureIdClaimsTopic(Deadline deadline) {
        String claims = idClaimsTopic();
        try (org.apache.kafka.clients.admin.Admin admin =
                clients.admin(ClientConfigs.admin(clientConfig, Map.of(), Map.of()))) {
            long millis = deadline.remainingAtMost(Duration.ofDays(1)).toMillis();
            if (admin.listTopics().names().get(millis, TimeUnit.MILLISECONDS).contains(claims)) {
                checkIdClaimsTopic(admin, millis);
                return;
            }
            try {
                admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(claims, 1, (short) -1)
                                .configs(Map.of(
                                        org.apache.kafka.common.config.TopicConfig.CLEANUP_POLICY_CONFIG,
                                        org.apache.kafka.common.config.TopicConfig.CLEANUP_POLICY_COMPACT,
                                        org.apache.kafka.common.config.TopicConfig.MIN_COMPACTION_LAG_MS_CONFIG,
                                        String.valueOf(CLAIM_COMPACTION_LAG_MS)))))
                        .all()
                        .get(millis, TimeUnit.MILLISECONDS);
                // a claim written at once to the new partition can be lost to Kafka bug KAFKA-15591
                io.kafkaml.internals.Topics.awaitWritable(admin, List.of(claims), deadline.remaining());
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof org.apache.kafka.common.errors.TopicExistsException)) {
                    throw e;
                }
                checkIdClaimsTopic(admin, millis); // created by someone else meanwhile, or not visible to us
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaMlException("Interrupted while creating topic '" + claims + "'", e);
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            if (isAuthorizationFailure(cause)) {
                throw notAuthorized("CREATE (or DESCRIBE, once an administrator created it)", cause);
            }
            throw new KafkaMlException(
                    "Cannot create the deployment id claims topic '" + claims + "': " + cause, cause);
        }
    }

    private void checkIdClaimsTopic(org.apache.kafka.clients.admin.Admin admin, long millis)
            throws InterruptedException, ExecutionException, java.util.concurrent.TimeoutException {
        String claims = idClaimsTopic();
        int partitions = admin.describeTopics(List.of(claims))
                .allTopicNames()
                .get(millis, TimeUnit.MILLISECONDS)
                .get(claims)
                .partitions()
                .size();
        if (partitions != 1) {
            throw new KafkaMlException("The deployment id claims topic '" + claims + "' has " + partitions
                    + " partitions; claims are ordered by one partition's log, so it must have exactly 1 (delete it "
                    + "and kafkaml creates it again, or create it with 1 partition and cleanup.policy=compact)");
        }
        var resource = new org.apache.kafka.common.config.ConfigResource(
                org.apache.kafka.common.config.ConfigResource.Type.TOPIC, claims);
        org.apache.kafka.clients.admin.Config config;
        try {
            config = admin.describeConfigs(List.of(resource))
                    .all()
                    .get(millis, TimeUnit.MILLISECONDS)
                    .get(resource);
        } catch (ExecutionException e) {
            if (!isAuthorizationFailure(e.getCause())) {
                throw e;
            }
            log.debug("[{}] Cannot check the configuration of '{}' (no DESCRIBE_CONFIGS ACL)", clientIdPrefix, claims);
            return;
        }
        var policy = config.get(org.apache.kafka.common.config.TopicConfig.CLEANUP_POLICY_CONFIG);
        var retention = config.get(org.apache.kafka.common.config.TopicConfig.RETENTION_MS_CONFIG);
        boolean compacted = policy != null
                && policy.value().contains(org.apache.kafka.common.config.TopicConfig.CLEANUP_POLICY_COMPACT);
        boolean expires = policy != null
                && policy.value().contains(org.apache.kafka.common.config.TopicConfig.CLEANUP_POLICY_DELETE)
                && (retention == null || !"-1".equals(retention.value()));
        if (!compacted || expires) {
            throw new KafkaMlException("The deployment id claims topic '" + claims + "' has cleanup.policy="
                    + (policy == null ? "?" : policy.value()) + " and retention.ms="
                    + (retention == null ? "?" : retention.value()) + ": its claims would expire and ids be given "
                    + "twice; set cleanup.policy=compact on it (kafka-configs --alter --entity-type topics "
                    + "--entity-name " + claims + " --add-config cleanup.policy=compact)");
        }
    }

    private static Map<Integer, Long> positions(Consumer<byte[], byte[]> consumer, Set<TopicPartition> assigned) {
        Map<Integer, Long> positions = new HashMap<>();
        for (TopicPartition partition : assigned) {
            positions.put(partition.partition(), consumer.position(partition));
        }
        return positions;
    }

    private void assignNewPartitions(
            Consumer<byte[], byte[]> consumer, Set<TopicPartition> assigned, Deadline deadline) {
        TopicPartitions.assignNew(consumer, topic, assigned, deadline.remainingAtMost(Duration.ofSeconds(5)));
    }

    private Consumer<byte[], byte[]> newConsumer() {
        return ClientConfigs.controlTopicReader(clientConfig, clientIdPrefix + "-reader", clients);
    }

    private synchronized Producer<byte[], byte[]> producer() {
        checkOpen();
        if (producer == null) {
            Map<String, Object> defaults = new HashMap<>();
            defaults.put(ProducerConfig.CLIENT_ID_CONFIG, clientIdPrefix + "-writer");
            defaults.put(ProducerConfig.LINGER_MS_CONFIG, 0);
            Map<String, Object> enforced = new HashMap<>();
            enforced.put(ProducerConfig.ACKS_CONFIG, "all");
            enforced.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
            producer = clients.producer(ClientConfigs.producer(clientConfig, defaults, enforced));
        }
        return producer;
    }

    private synchronized void checkOpen() {
        if (closed) {
            throw new IllegalStateException("ControlChannel on topic '" + topic + "' is closed");
        }
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaMlException("Interrupted while waiting for a control message", e);
        }
    }

    /** Closes the producer, if one was created. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (producer != null) {
            producer.close(Duration.ofSeconds(5));
            producer = null;
        }
    }
}
