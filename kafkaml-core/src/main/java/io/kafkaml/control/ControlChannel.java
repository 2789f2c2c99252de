package io.kafkaml.control;

import io.kafkaml.common.KafkaMlException;
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
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
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
 * (see {@link ControlMessage#keyBytes()}).
 *
 * <p><b>Client settings</b>: {@code bootstrap.servers} and any client or security setting, unprefixed or
 * with a {@code producer.} / {@code consumer.} prefix. <b>Threading</b>: thread-safe; each wait uses its own
 * consumer. <b>Lifecycle</b>: {@link #close()} is idempotent.
 */
public final class ControlChannel implements AutoCloseable {

    /** The control topic Kafka-ML uses by default. */
    public static final String DEFAULT_TOPIC = "KAFKA_ML_CONTROL_TOPIC";

    private static final Logger log = LoggerFactory.getLogger(ControlChannel.class);
    private static final AtomicInteger CLIENT_IDS = new AtomicInteger();
    private static final Duration METADATA_RETRY = Duration.ofMillis(500);

    private final Map<String, ?> clientConfig;
    private final String topic;
    private final String clientIdPrefix;
    private KafkaProducer<byte[], byte[]> producer;
    private boolean closed;

    private ControlChannel(Map<String, ?> clientConfig, String topic) {
        ClientConfigs.requireBootstrapServers(clientConfig);
        this.clientConfig = Map.copyOf(clientConfig);
        this.topic = Objects.requireNonNull(topic, "topic");
        this.clientIdPrefix = "kafkaml-control-" + CLIENT_IDS.incrementAndGet();
    }

    /** A channel on the default control topic, {@value #DEFAULT_TOPIC}. */
    public static ControlChannel create(Map<String, ?> clientConfig) {
        return new ControlChannel(clientConfig, DEFAULT_TOPIC);
    }

    /** A channel on the given control topic. */
    public static ControlChannel create(Map<String, ?> clientConfig, String topic) {
        return new ControlChannel(clientConfig, topic);
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
            return producer().send(new ProducerRecord<>(topic, message.keyBytes(), message.toJsonBytes()))
                    .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaMlException("Interrupted while publishing the control message for deployment '"
                    + message.deploymentId() + "'", e);
        } catch (ExecutionException e) {
            throw new KafkaMlException("Could not publish the control message for deployment '"
                    + message.deploymentId() + "' to topic '" + topic + "': " + e.getCause().getMessage(),
                    e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            throw new KafkaMlException("The control message for deployment '" + message.deploymentId()
                    + "' was not acknowledged on topic '" + topic + "' within " + timeout.toMillis() + " ms", e);
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
     * Waits for the control message a deployment accepts (see {@link ControlMessageMatcher}): with
     * {@code reuse} false, the first one for {@code deploymentId} at or after {@code since}, ignoring older ones;
     * with {@code reuse} true, the newest one published before {@code since}, else the first after.
     *
     * @param since where the control topic ended when the deployment was recorded ({@link #endPosition})
     * @throws ControlMessageTimeoutException if none arrived in time
     * @throws InvalidControlMessageException if the message the deployment would accept is malformed
     * @throws java.util.concurrent.CancellationException if {@code cancelled} became true first
     */
    public ControlMessage await(String deploymentId, ControlTopicPosition since, boolean reuse, Duration timeout,
            BooleanSupplier cancelled) {
        Objects.requireNonNull(deploymentId, "deploymentId");
        ControlMessageMatcher matcher = new ControlMessageMatcher(deploymentId, since, reuse);
        Deadline deadline = Deadline.after(timeout);
        long skipped = 0;
        try (KafkaConsumer<byte[], byte[]> consumer = newConsumer()) {
            Set<TopicPartition> assigned = new HashSet<>();
            long nextMetadataCheck = 0;
            while (!deadline.expired()) {
                checkOpen();
                if (cancelled.getAsBoolean()) {
                    throw new CancellationException("Stopped waiting for the control message of "
                            + "deployment '" + deploymentId + "'");
                }
                if (System.nanoTime() >= nextMetadataCheck) {
                    assignNewPartitions(consumer, assigned, deadline);
                    nextMetadataCheck = System.nanoTime() + TimeUnit.SECONDS.toNanos(assigned.isEmpty() ? 0 : 5)
                            + METADATA_RETRY.toNanos();
                }
                if (assigned.isEmpty()) {
                    sleep(deadline.remainingAtMost(METADATA_RETRY));
                    continue;
                }
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(deadline.remainingAtMost(
                        Duration.ofMillis(200)))) {
                    try {
                        ControlMessage message = ControlMessage.fromRecord(record);
                        if (message.deploymentId().equals(deploymentId)) {
                            Optional<ControlMessage> accepted = matcher.offer(record, message);
                            if (accepted.isPresent()) {
                                return accepted.get();
                            }
                        }
                    } catch (InvalidControlMessageException e) {
                        if (e.deploymentId().filter(deploymentId::equals).isPresent()) {
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
     *
     * @throws KafkaMlException if the topic could not be read to its end within {@code timeout}
     */
    public ControlTopicState readState(Duration timeout) {
        Deadline deadline = Deadline.after(timeout);
        try (KafkaConsumer<byte[], byte[]> consumer = newConsumer()) {
            List<PartitionInfo> partitions;
            try {
                partitions = consumer.partitionsFor(topic, deadline.remainingAtMost(timeout));
            } catch (TimeoutException e) {
                throw new KafkaMlException("Cannot read the partitions of control topic '" + topic + "' within "
                        + timeout.toMillis() + " ms: " + e.getMessage(), e);
            }
            if (partitions == null || partitions.isEmpty()) {
                return new ControlTopicState(ControlTopicPosition.BEGINNING, 0);
            }
            Set<TopicPartition> all = new HashSet<>();
            partitions.forEach(info -> all.add(new TopicPartition(topic, info.partition())));
            consumer.assign(all);
            Map<TopicPartition, Long> ends = consumer.endOffsets(all, deadline.remainingAtMost(timeout));
            consumer.seekToBeginning(all);
            Map<Integer, Long> end = new HashMap<>();
            ends.forEach((partition, offset) -> end.put(partition.partition(), offset));
            long max = 0;
            while (!positions(consumer, all).entrySet().stream().allMatch(e -> e.getValue() >= end.get(e.getKey()))) {
                if (deadline.expired()) {
                    throw new KafkaMlException("Control topic '" + topic + "' was not read to its end "
                            + end + " within " + timeout.toMillis() + " ms");
                }
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(deadline.remainingAtMost(
                        Duration.ofMillis(200)))) {
                    max = Math.max(max, ControlMessage.peekDeploymentId(record.key(), record.value())
                            .filter(id -> id.matches("[0-9]{1,18}")).map(Long::parseLong).orElse(0L));
                }
            }
            return new ControlTopicState(new ControlTopicPosition(end), max);
        }
    }

    private static Map<Integer, Long> positions(KafkaConsumer<byte[], byte[]> consumer, Set<TopicPartition> assigned) {
        Map<Integer, Long> positions = new HashMap<>();
        for (TopicPartition partition : assigned) {
            positions.put(partition.partition(), consumer.position(partition));
        }
        return positions;
    }

    private void assignNewPartitions(KafkaConsumer<byte[], byte[]> consumer, Set<TopicPartition> assigned,
            Deadline deadline) {
        TopicPartitions.assignNew(consumer, topic, assigned, deadline.remainingAtMost(Duration.ofSeconds(5)));
    }

    private KafkaConsumer<byte[], byte[]> newConsumer() {
        return ClientConfigs.controlTopicReader(clientConfig, clientIdPrefix + "-reader");
    }

    private synchronized KafkaProducer<byte[], byte[]> producer() {
        checkOpen();
        if (producer == null) {
            Map<String, Object> defaults = new HashMap<>();
            defaults.put(ProducerConfig.CLIENT_ID_CONFIG, clientIdPrefix + "-writer");
            defaults.put(ProducerConfig.LINGER_MS_CONFIG, 0);
            Map<String, Object> enforced = new HashMap<>();
            enforced.put(ProducerConfig.ACKS_CONFIG, "all");
            enforced.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
            producer = new KafkaProducer<>(ClientConfigs.producer(clientConfig, defaults, enforced),
                    new ByteArraySerializer(), new ByteArraySerializer());
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
