package io.kafkaml.control;

import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides which control message a waiting deployment accepts, as a reader goes through the control topic from its
 * earliest offset. Used by {@link ControlChannel#await(String, ControlTopicPosition, boolean, java.time.Duration,
 * java.util.function.BooleanSupplier)} and by the local launcher's one control-topic listener.
 *
 * <ul>
 * <li>Without reuse, only a message for the deployment at or after its {@link ControlTopicPosition} is accepted: one
 *     published before the deployment was recorded (an earlier registry's deployment of the same id, Kafka-ML's
 *     own deployment 1, ...) is logged and ignored.</li>
 * <li>With reuse, the newest message for the deployment published before it was recorded is accepted once the
 *     reader has passed the deployment's position (newest by offset within a partition, by timestamp across
 *     partitions); if there is none, the first one published after.</li>
 * </ul>
 * A malformed message for the deployment fails the wait when it would have been accepted (a stale malformed one is
 * ignored like any stale one).
 *
 * <p>Not thread-safe: one reader thread offers records to it.
 */
public final class ControlMessageMatcher {

    private static final Logger log = LoggerFactory.getLogger(ControlMessageMatcher.class);

    private final String deploymentId;
    private final ControlTopicPosition since;
    private final boolean reuse;
    private ControlMessage candidate;
    private long candidateTimestamp = Long.MIN_VALUE;
    private long ignored;

    /**
     * @param deploymentId the waiting deployment
     * @param since where the control topic ended when the deployment was recorded
     * @param reuse whether a message published before the deployment may be accepted
     */
    public ControlMessageMatcher(String deploymentId, ControlTopicPosition since, boolean reuse) {
        this.deploymentId = Objects.requireNonNull(deploymentId, "deploymentId");
        this.since = Objects.requireNonNull(since, "since");
        this.reuse = reuse;
    }

    /** The waiting deployment. */
    public String deploymentId() {
        return deploymentId;
    }

    /** Messages for the deployment ignored so far because they were older than it. */
    public long ignored() {
        return ignored;
    }

    /**
     * Offers a record of the control topic whose deployment id is this matcher's.
     *
     * @param parsed the record's message
     * @return the message to deliver now, or empty to go on waiting
     */
    public Optional<ControlMessage> offer(ConsumerRecord<byte[], byte[]> record, ControlMessage parsed) {
        if (since.isAtOrAfter(record.partition(), record.offset())) {
            return Optional.of(reuse && candidate != null ? candidate : parsed);
        }
        if (reuse) {
            if (candidate == null || record.timestamp() >= candidateTimestamp) {
                candidate = parsed;
                candidateTimestamp = record.timestamp();
            }
        } else {
            ignoreStale(record);
        }
        return Optional.empty();
    }

    /**
     * Offers a malformed record for this deployment.
     *
     * @throws InvalidControlMessageException {@code invalid}, when the record would have been accepted
     */
    public void offerInvalid(ConsumerRecord<byte[], byte[]> record, InvalidControlMessageException invalid) {
        if (since.isAtOrAfter(record.partition(), record.offset()) && !(reuse && candidate != null)) {
            throw invalid;
        }
        ignoreStale(record);
    }

    /**
     * Tells the matcher where the reader is ({@code positions}: next offset by partition).
     *
     * @return with reuse, the newest older message once every message before the deployment has been read
     */
    public Optional<ControlMessage> readUpTo(Map<Integer, Long> positions) {
        if (reuse && candidate != null && since.isReachedBy(positions)) {
            return Optional.of(candidate);
        }
        return Optional.empty();
    }

    private void ignoreStale(ConsumerRecord<byte[], byte[]> record) {
        ignored++;
        log.info("[{}] Ignoring the control message at {}-{}@{}: it was published before deployment '{}' was "
                + "recorded (control topic position {}); deploy with reuseStream (kafkaml train --reuse-stream) to "
                + "train on an earlier stream", deploymentId, record.topic(), record.partition(), record.offset(),
                deploymentId, since.format());
    }
}
