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
 *   <li>The group may not be described ({@code GroupAuthorizationException}, said once in a warning; other errors
 *       are retried and, if they last, leave the verdict undecided): dead only if this reader saw
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
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(InferenceLiveness.class);
    private static volatile boolean unauthorizedLogged;

    private InferenceLiveness() {}

    /**
     * Whether {@code record} (RUNNING) is served by some process, judged for at most {@code patience}.
     *
     * @param patience how long a dead verdict needs: no group member seen for all of it (0: one look), or, without
     *     the group, the record's lease (the longer of the two)
     * @return false only if the deployment is judged dead
     */
    public static boolean alive(Registry registry, Inference record, Duration patience) {
        return alive(registry, record, patience, clientId -> true);
    }

    /**
     * Whether the owner of {@code record} (RUNNING) is alive, as {@link #alive(Registry, Inference, Duration)} judges
     * a deployment, but counting only the group members that may be the owner's: a process that joined the deployment
     * asks this, its own replicas (and other joiners') being members of the same group. Members are told apart by
     * their {@code client.id}, {@code <id>-<instance id>-<n>-consumer} ({@link LocalInference.Replica}); a member with
     * another client id (set by the user) may be the owner's and counts, so such a deployment is never judged dead by
     * this rule while any process serves it.
     *
     * @param patience as for {@link #alive(Registry, Inference, Duration)}
     * @return false only if the owner is judged dead
     */
    public static boolean ownerAlive(Registry registry, Inference record, Duration patience) {
        Objects.requireNonNull(record, "record");
        String owner = record.owner();
        if (owner == null || owner.indexOf('/') < 0) {
            return alive(registry, record, patience);
        }
        String replicas = record.id() + "-";
        String owners = replicas + owner.substring(0, owner.lastIndexOf('/')) + "-";
        return alive(
                registry,
                record,
                patience,
                clientId -> clientId == null
                        || clientId.startsWith(owners)
                        || !(clientId.startsWith(replicas) && clientId.endsWith("-consumer")));
    }

    private static boolean alive(
            Registry registry, Inference record, Duration patience, java.util.function.Predicate<String> counts) {
        Objects.requireNonNull(record, "record");
        if (!servable(record) || (record.supervisedBy() != null && record.replicas() == 0)) {
            return true;
        }
        long start = System.nanoTime();
        long patienceNanos = Math.max(0, patience.toNanos());
        Inference first = record;
        while (true) {
            Optional<Boolean> members;
            boolean known = true;
            try {
                members = registry.consumerGroupMemberClientIds(record.groupId(), ADMIN_TIMEOUT)
                        .map(clientIds -> clientIds.stream().anyMatch(counts));
            } catch (io.kafkaml.common.KafkaMlException e) {
                log.warn(
                        "[{}] Cannot describe consumer group {} (retried): {}",
                        record.id(),
                        record.groupId(),
                        e.getMessage());
                members = Optional.empty();
                known = false;
            }
            Inference now = registry.inference(record.id()).orElse(first);
            if (now.generation() != first.generation() || !now.status().equals(first.status())) {
                return true; // someone else wrote it meanwhile: not a dead deployment's record
            }
            long elapsed = System.nanoTime() - start;
            if (!Objects.equals(now.heartbeatAt(), first.heartbeatAt())) {
                return true; // its owner wrote a heartbeat meanwhile (replicas may still be joining the group)
            }
            if (!known) {
                if (elapsed >= patienceNanos) {
                    return true; // undecided: refusing a takeover is safe, a second owner is not
                }
            } else if (members.isPresent()) {
                if (members.get()) {
                    return true;
                }
                if (elapsed >= patienceNanos) {
                    return false;
                }
            } else {
                if (!unauthorizedLogged) {
                    unauthorizedLogged = true;
                    log.warn(
                            "[{}] Not authorized to describe consumer group {}: liveness is judged by the owner's "
                                    + "heartbeat alone (grant DESCRIBE on the group to judge by its members)",
                            record.id(),
                            record.groupId());
                }
                if (first.leaseMs() <= 0 || first.supervisedBy() != null) {
                    return true; // no heartbeat to judge by: 'kafkaml inferences stop' or 'forget --force' ends it
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

    /** Whether a record says its deployment is served: RUNNING, or RELEASED (its processes claim it among them). */
    static boolean servable(Inference record) {
        return "RUNNING".equals(record.status()) || Inference.RELEASED.equals(record.status());
    }

    /** What a short look at a served deployment's consumer group found ({@link #look}). */
    public enum Look {
        /** Its group had a member during the look, or its owner's heartbeat moved. */
        SERVED,
        /** Its group had no member during the whole look: scaling to 0, restarting, loading, or its processes are gone. */
        NO_CONSUMERS,
        /** Its group may not be described (no DESCRIBE ACL on it) and its heartbeat did not move during the look. */
        UNKNOWN
    }

    /**
     * Looks at served deployments ({@code RUNNING} or {@value Inference#RELEASED}; others are left out of the answer)
     * for {@code window}, sampling their consumer groups every 250 ms, as a listing does: a group momentarily empty
     * (a replica restarting, a model loading) is not mistaken for a dead deployment within the window, and a look
     * never claims more than it saw. Transient errors are retried; a group that cannot be described is {@code UNKNOWN}.
     *
     * @return by id, what was seen
     */
    public static java.util.Map<String, Look> look(
            Registry registry, java.util.Collection<Inference> records, Duration window) {
        java.util.Map<String, Look> seen = new java.util.LinkedHashMap<>();
        java.util.Map<String, Inference> open = new java.util.LinkedHashMap<>();
        for (Inference record : records) {
            if (servable(record)) {
                boolean idle = record.supervisedBy() != null && record.replicas() == 0; // scaled to 0 on purpose
                seen.put(record.id(), idle ? Look.SERVED : Look.NO_CONSUMERS);
                if (!idle) {
                    open.put(record.id(), record);
                }
            }
        }
        long end = System.nanoTime() + Math.max(0, window.toNanos());
        while (!open.isEmpty()) {
            for (var it = open.values().iterator(); it.hasNext(); ) {
                Inference record = it.next();
                Optional<Boolean> members;
                try {
                    members = registry.consumerGroupHasMembers(record.groupId(), ADMIN_TIMEOUT);
                } catch (io.kafkaml.common.KafkaMlException e) {
                    members = Optional.empty();
                }
                Inference now = registry.inference(record.id()).orElse(record);
                if (members.orElse(false) || !Objects.equals(now.heartbeatAt(), record.heartbeatAt())) {
                    seen.put(record.id(), Look.SERVED);
                    it.remove();
                } else if (members.isEmpty()) {
                    seen.put(record.id(), Look.UNKNOWN);
                }
            }
            if (open.isEmpty() || System.nanoTime() - end >= 0) {
                break;
            }
            try {
                Thread.sleep(POLL.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return seen;
    }
}
