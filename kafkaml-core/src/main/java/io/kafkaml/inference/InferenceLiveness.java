package io.kafkaml.inference;

import io.kafkaml.registry.Inference;
import io.kafkaml.registry.Registry;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * Decides whether a RUNNING inference deployment is still served, without trusting any clock but the broker's and
 * this JVM's monotonic one (see {@link Inference}'s <em>Liveness</em>).
 *
 * <ol>
 *   <li>A supervised record ({@link Inference#supervisedBy()}, e.g. a Kubernetes Deployment) scaled to 0 replicas
 *       is alive: nothing is meant to consume. Otherwise it is judged by its consumer group as in 3, and is alive
 *       when the group cannot be described (its supervisor writes no heartbeat to judge by).
 *   <li>Its owner's {@link Inference#heartbeatAt()} changed while this reader looked: alive (whatever the clocks).
 *   <li>Its consumer group has members ({@code Admin.describeConsumerGroups}; the coordinator expires a killed
 *       member after its {@code session.timeout.ms}): alive. No member during the whole patience: dead.
 *   <li>The group cannot be described (no Describe ACL on it): dead only if this reader saw
 *       {@link Inference#heartbeatAt()} unchanged for a full {@link Inference#leaseMs()} on {@link System#nanoTime()}.
 * </ol>
 * When neither could be decided within the patience it answers alive: refusing a takeover is safe, a second owner
 * is not. A deployment whose replicas are just joining their group has no member for a moment; a patience of at
 * least the lease covers that.
 *
 * <p>Stateless and thread-safe; each call blocks up to its patience (plus one Admin call's timeout).
 */
public final class InferenceLiveness {

    private static final Duration POLL = Duration.ofMillis(250);
    private static final Duration ADMIN_TIMEOUT = Duration.ofSeconds(5);

    private InferenceLiveness() {}

    /**
     * Whether {@code record} (RUNNING) is served by some process, judged for at most {@code patience}.
     *
     * @param patience how long a dead verdict needs: no group member seen for all of it (0: one look), or, without
     *     the group, the record's lease (the longer of the two)
     * @return false only if the deployment is judged dead
     */
    public static boolean alive(Registry registry, Inference record, Duration patience) {
        Objects.requireNonNull(record, "record");
        if (!"RUNNING".equals(record.status()) || (record.supervisedBy() != null && record.replicas() == 0)) {
            return true;
        }
        long start = System.nanoTime();
        long patienceNanos = Math.max(0, patience.toNanos());
        Inference first = record;
        while (true) {
            Optional<Boolean> members = registry.consumerGroupHasMembers(record.groupId(), ADMIN_TIMEOUT);
            Inference now = registry.inference(record.id()).orElse(first);
            if (now.generation() != first.generation() || !"RUNNING".equals(now.status())) {
                return true; // someone else wrote it meanwhile: not a dead deployment's record
            }
            long elapsed = System.nanoTime() - start;
            if (!Objects.equals(now.heartbeatAt(), first.heartbeatAt())) {
                return true; // its owner wrote a heartbeat meanwhile (replicas may still be joining the group)
            }
            if (members.isPresent()) {
                if (members.get()) {
                    return true;
                }
                if (elapsed >= patienceNanos) {
                    return false;
                }
            } else {
                if (first.leaseMs() <= 0 || first.supervisedBy() != null) {
                    return true; // no heartbeat to judge by
                }
                if (elapsed
                        >= Math.max(
                                patienceNanos,
                                Duration.ofMillis(first.leaseMs()).toNanos())) {
                    return false;
                }
                if (patienceNanos == 0) {
                    return true; // one look cannot see a heartbeat stop
                }
            }
            try {
                Thread.sleep(POLL.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return true;
            }
        }
    }
}
