package io.kafkaml.control.internals;

import io.kafkaml.control.ControlChannel;
import io.kafkaml.control.ControlMessage;
import io.kafkaml.control.ControlTopicPosition;
import io.kafkaml.control.InvalidControlMessageException;
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
 *     reader has passed the deployment's position in <em>every</em> partition ({@link #readUpTo}), never earlier:
 *     newest by offset within a partition, then by record timestamp across partitions (ties: the higher
 *     partition). If there is none, the first one published after the position (the earliest timestamp among those
 *     read) is accepted, also through {@link #readUpTo}: with reuse {@link #offer} itself never accepts, since a
 *     partition not read yet may still hold a newer earlier message.</li>
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
    /** With reuse: the newest message before the position, by partition (later offsets replace earlier ones). */
    private final Map<Integer, Candidate> newestEarlier = new java.util.HashMap<>();
    /** With reuse: the earliest message (or malformed one) at or after the position, used when none is earlier. */
    private Candidate firstLater;

    private long ignored;

    /** A message seen by a reusing matcher; {@code invalid} set when it was malformed (then {@code message} null). */
    private record Candidate(
            int partition,
            long offset,
            long timestamp,
            ControlMessage message,
            InvalidControlMessageException invalid) {}

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
        boolean later = since.isAtOrAfter(record.partition(), record.offset());
        if (!reuse) {
            if (later) {
                return Optional.of(parsed);
            }
            ignoreStale(record);
            return Optional.empty();
        }
        remember(new Candidate(record.partition(), record.offset(), record.timestamp(), parsed, null), later);
        return Optional.empty();
    }

    private void remember(Candidate seen, boolean later) {
        if (later) {
            if (firstLater == null || seen.timestamp() < firstLater.timestamp()) {
                firstLater = seen;
            }
        } else if (seen.invalid() == null) {
            newestEarlier.merge(seen.partition(), seen, (old, now) -> now.offset() >= old.offset() ? now : old);
        }
    }

    /**
     * Offers a malformed record for this deployment.
     *
     * @throws InvalidControlMessageException {@code invalid}, when the record would have been accepted
     */
    public void offerInvalid(ConsumerRecord<byte[], byte[]> record, InvalidControlMessageException invalid) {
        boolean later = since.isAtOrAfter(record.partition(), record.offset());
        if (!reuse) {
            if (later) {
                throw invalid;
            }
            ignoreStale(record);
            return;
        }
        if (later) {
            remember(new Candidate(record.partition(), record.offset(), record.timestamp(), null, invalid), true);
        } else {
            ignoreStale(record);
        }
    }

    /**
     * Tells the matcher where the reader is ({@code positions}: next offset by partition).
     *
     * @return with reuse, once every message before the deployment's position has been read in every partition: the
     *     newest earlier message, else the first later one; otherwise empty
     * @throws InvalidControlMessageException with reuse, when there is no earlier message and the first later one
     *     is malformed
     */
    public Optional<ControlMessage> readUpTo(Map<Integer, Long> positions) {
        if (!reuse || !since.isReachedBy(positions)) {
            return Optional.empty();
        }
        Optional<Candidate> newest = newestEarlier.values().stream()
                .max(java.util.Comparator.comparingLong(Candidate::timestamp).thenComparingInt(Candidate::partition));
        if (newest.isPresent()) {
            return Optional.of(newest.get().message());
        }
        if (firstLater != null && firstLater.invalid() != null) {
            throw firstLater.invalid();
        }
        return firstLater == null ? Optional.empty() : Optional.of(firstLater.message());
    }

    private void ignoreStale(ConsumerRecord<byte[], byte[]> record) {
        ignored++;
        log.info(
                "[{}] Ignoring the control message at {}-{}@{}: it was published before deployment '{}' was "
                        + "recorded (control topic position {}); deploy with reuseStream (kafkaml train --reuse-stream) to "
                        + "train on an earlier stream",
                deploymentId,
                record.topic(),
                record.partition(),
                record.offset(),
                deploymentId,
                since.format());
    }
}
