package io.kafkaml.internals;

import io.kafkaml.common.KafkaMlException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * Waits until a topic's partitions take writes, to keep an idempotent producer clear of a Kafka broker bug on new
 * partitions. Not part of the public API.
 *
 * <p><b>Why</b>: KAFKA-14359 / KAFKA-15591 (fixed by apache/kafka PR #23234 in Kafka 4.5; every earlier broker,
 * 4.4.0 included, has it). A broker publishes a new partition in its metadata before its replica manager has
 * applied it. An idempotent producer that sends at once may get {@code NOT_LEADER_OR_FOLLOWER} for its first batch
 * (sequence 0) to the partition, while its next batch (later sequences, already in flight with
 * {@code max.in.flight.requests.per.connection} above 1) arrives after the partition is applied and is accepted, the
 * broker having no state for the producer yet. Every retry of the first batch is then
 * {@code OUT_OF_ORDER_SEQUENCE_NUMBER} until {@code delivery.timeout.ms}: its records are lost, with an error.
 *
 * <p><b>What this does</b>: {@link #awaitWritable} returns once the leader of every partition answers a
 * {@code ListOffsets} request for it: the leader then has the partition (the broker serves {@code ListOffsets} and
 * {@code Produce} from the same partition state, both answering {@code NOT_LEADER_OR_FOLLOWER} until it is
 * applied). kafkaml calls it after it creates a topic and before its first write to a topic. This closes the race
 * at creation and first use; it cannot prevent it for a topic that another tool creates while a kafkaml producer
 * is already writing to it (that producer's sends then hit the same broker bug). The Admin client needs
 * {@code DESCRIBE} on the topics, which {@code WRITE} (and {@code READ}) imply in Kafka's authorizer.
 *
 * <p>Thread-safe (no state).
 */
public final class Topics {

    /** Waits between attempts: Kafka's own retry backoff (100 ms to 1 s, jitter 0.2) starting lower. */
    private static final Backoff BACKOFF =
            new Backoff(Duration.ofMillis(20), Duration.ofSeconds(1), Backoff.KAFKA_JITTER);

    /** The longest one Admin call may take (it retries within it); the loop tries again until the deadline. */
    private static final Duration ATTEMPT = Duration.ofSeconds(5);

    private Topics() {}

    /**
     * Waits until every partition of {@code topics} has a leader that serves it ({@code ListOffsets} for the latest
     * offset succeeds on that leader). A topic not yet in the cluster's metadata (just created, the creation not yet
     * propagated) is waited for too. At least one attempt is made, even with a zero timeout.
     *
     * @param admin the Admin client to ask; not closed here
     * @param topics the topic names; empty: returns at once
     * @param timeout how long to wait in all
     * @return the partitions checked, sorted by topic then partition
     * @throws KafkaMlException on timeout, naming every topic not described or partition not served and the last
     *     error seen for it; on an error a retry cannot cure (an authorization failure: {@code DESCRIBE} refused,
     *     found in the cause chain by {@code KafkaAccessException.find}), at once, with the error as cause; on
     *     interruption (the thread's interrupt flag is set again)
     */
    public static List<TopicPartition> awaitWritable(Admin admin, Collection<String> topics, Duration timeout) {
        return awaitWritable(admin, topics, timeout, () -> false);
    }

    /**
     * As {@link #awaitWritable(Admin, Collection, Duration)}, giving up early, with a {@link KafkaMlException}, once
     * {@code stopWaiting} is true (checked between attempts, each at most 5 s).
     */
    public static List<TopicPartition> awaitWritable(
            Admin admin, Collection<String> topics, Duration timeout, BooleanSupplier stopWaiting) {
        if (topics.isEmpty()) {
            return List.of();
        }
        Deadline deadline = Deadline.after(timeout);
        Map<TopicPartition, Throwable> pending =
                partitions(admin, new LinkedHashSet<>(topics), deadline, timeout, stopWaiting);
        List<TopicPartition> all = new ArrayList<>(pending.keySet());
        all.sort(java.util.Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition));
        for (int attempt = 1; ; attempt++) {
            Map<TopicPartition, OffsetSpec> request = new LinkedHashMap<>();
            pending.keySet().forEach(partition -> request.put(partition, OffsetSpec.latest()));
            ListOffsetsResult result = admin.listOffsets(request, new ListOffsetsOptions().timeoutMs(millis(deadline)));
            for (TopicPartition partition : request.keySet()) {
                Throwable error = outcome(result.partitionResult(partition));
                if (error == null) {
                    pending.remove(partition);
                } else if (!isRetriable(error)) {
                    throw new KafkaMlException(
                            "Cannot check that topic '" + partition.topic() + "' partition " + partition.partition()
                                    + " takes writes: " + describe(error),
                            error);
                } else {
                    pending.put(partition, error);
                }
            }
            if (pending.isEmpty()) {
                return all;
            }
            if (deadline.expired()) {
                throw new KafkaMlException("Not every partition of " + quoted(topics) + " takes writes after "
                        + timeout.toMillis() + " ms: "
                        + byTopic(pending)
                        + " (a producer writing now could lose its first batch to Kafka bug KAFKA-15591; check that "
                        + "the leaders' brokers are up)");
            }
            sleep(attempt, deadline, topics, stopWaiting);
        }
    }

    /** The partitions of every topic, each mapped to {@code null} (no error yet), once every topic is described. */
    private static Map<TopicPartition, Throwable> partitions(
            Admin admin, Set<String> topics, Deadline deadline, Duration timeout, BooleanSupplier stopWaiting) {
        Map<TopicPartition, Throwable> partitions = new HashMap<>();
        Map<String, Throwable> undescribed = new TreeMap<>();
        topics.forEach(topic -> undescribed.put(topic, null));
        for (int attempt = 1; !undescribed.isEmpty(); attempt++) {
            Map<String, KafkaFuture<TopicDescription>> futures = admin.describeTopics(
                            undescribed.keySet(), new DescribeTopicsOptions().timeoutMs(millis(deadline)))
                    .topicNameValues();
            for (String topic : new ArrayList<>(undescribed.keySet())) {
                KafkaFuture<TopicDescription> future = futures.get(topic);
                Throwable error =
                        future == null ? new UnknownTopicOrPartitionException("not in the answer") : outcome(future);
                if (error == null) {
                    TopicDescription description = value(future);
                    description
                            .partitions()
                            .forEach(p -> partitions.put(new TopicPartition(topic, p.partition()), null));
                    undescribed.remove(topic);
                } else if (!isRetriable(error)) {
                    throw new KafkaMlException("Cannot describe topic '" + topic + "': " + describe(error), error);
                } else {
                    undescribed.put(topic, error);
                }
            }
            if (undescribed.isEmpty()) {
                break;
            }
            if (deadline.expired()) {
                throw new KafkaMlException(
                        "Topic" + (undescribed.size() > 1 ? "s " : " ") + quoted(undescribed.keySet())
                                + " not in the cluster's metadata after " + timeout.toMillis() + " ms: "
                                + undescribed.entrySet().stream()
                                        .map(e -> "'" + e.getKey() + "': " + describe(e.getValue()))
                                        .collect(Collectors.joining("; "))
                                + " (does it exist?)");
            }
            sleep(attempt, deadline, topics, stopWaiting);
        }
        return partitions;
    }

    /** The future's error, or null once it succeeded; no answer in time counts as a (retriable) timeout. */
    private static Throwable outcome(KafkaFuture<?> future) {
        try {
            // the Admin call itself times out within ATTEMPT; the margin lets it report its own error first
            future.get(ATTEMPT.toMillis() + 1_000, TimeUnit.MILLISECONDS);
            return null;
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (java.util.concurrent.TimeoutException e) {
            return new org.apache.kafka.common.errors.TimeoutException("no answer from the Admin client in time");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaMlException("Interrupted while waiting for topics to take writes", e);
        }
    }

    private static <T> T value(KafkaFuture<T> done) {
        try {
            return done.get();
        } catch (InterruptedException | ExecutionException e) {
            throw new KafkaMlException("A completed Admin result failed on reading: " + e, e); // cannot happen
        }
    }

    private static boolean isRetriable(Throwable error) {
        return error instanceof RetriableException;
    }

    private static void sleep(int attempt, Deadline deadline, Collection<String> topics, BooleanSupplier stopWaiting) {
        Duration wait = deadline.remainingAtMost(BACKOFF.delay(attempt));
        try {
            Thread.sleep(wait.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaMlException("Interrupted while waiting for topics " + quoted(topics) + " to take writes", e);
        }
        if (stopWaiting.getAsBoolean()) {
            throw new KafkaMlException("Stopped waiting for topics " + quoted(topics) + " to take writes");
        }
    }

    /** The time left for one attempt: at most {@link #ATTEMPT}, at least 1 ms. */
    private static int millis(Deadline deadline) {
        return (int) Math.max(1, deadline.remainingAtMost(ATTEMPT).toMillis());
    }

    private static String byTopic(Map<TopicPartition, Throwable> pending) {
        Map<String, Map<Integer, Throwable>> topics = new TreeMap<>();
        pending.forEach((p, e) ->
                topics.computeIfAbsent(p.topic(), t -> new TreeMap<>()).put(p.partition(), e));
        return topics.entrySet().stream()
                .map(topic -> {
                    Map<Integer, Throwable> partitions = topic.getValue();
                    Throwable last = partitions.values().iterator().next();
                    return "topic '" + topic.getKey() + "' partition"
                            + (partitions.size() > 1 ? "s " : " ")
                            + partitions.keySet().stream().map(String::valueOf).collect(Collectors.joining(", "))
                            + (partitions.size() > 1
                                    ? " have no leader that serves them"
                                    : " has no leader that serves it")
                            + " yet (last error: " + describe(last) + ")";
                })
                .collect(Collectors.joining("; "));
    }

    private static String quoted(Collection<String> topics) {
        return topics.stream().map(t -> "'" + t + "'").collect(Collectors.joining(", ", "[", "]"));
    }

    private static String describe(Throwable error) {
        return error == null ? "none" : error.getClass().getSimpleName() + ": " + error.getMessage();
    }
}
