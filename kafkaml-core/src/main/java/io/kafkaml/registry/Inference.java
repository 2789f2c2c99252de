package io.kafkaml.registry;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * An inference deployment (the paper's step F) as the registry records it, so that any process can see what
 * serves which model where.
 *
 * <p>Thread safety: immutable (a record; its collections are copied or unmodifiable) and thread-safe. Lifecycle: a
 * value, no resources.
 *
 * @param id the inference deployment's id
 * @param resultId the training result whose model it serves
 * @param inputTopic where inputs are read
 * @param outputTopic where predictions are written
 * @param replicas how many replicas it runs
 * @param status {@code RUNNING}, {@value #RELEASED} (its owner left, a process serving it takes it over),
 *     {@code STOPPED} or {@code FAILED}
 * @param error why it failed; while RUNNING, the last replica failure that was restarted; else {@code null}
 * @param settings the rest of its settings
 * @param createdAt when it was created
 * @param updatedAt when it last changed
 * @param restarts how many times a failed replica was replaced (0 in records written before 0.2)
 * @param heartbeatAt when the owner last said it is alive, by the owner's clock ({@code null}: none, as in records
 *     written before 0.2 and by launchers whose replicas are supervised elsewhere); informative only: liveness is
 *     never judged by comparing it with a reader's clock (see below)
 * @param leaseMs how long a reader must see {@code heartbeatAt} unchanged, on its own clock, before it may judge the
 *     owner dead when the consumer group cannot be described (three heartbeat intervals; 0: no lease)
 * @param owner the token of the process (or launcher, or command) that claimed the generation ({@code null} in
 *     records written before 0.2)
 * @param generation the ownership generation: 1 for a new deployment, one more on each start, takeover, handover,
 *     stop or forget of the id (0 in records written before 0.2)
 * @param supervisedBy who keeps the replicas alive when it is not a {@code LocalInference} owner ({@value
 *     #SUPERVISED_BY_KUBERNETES} for a Kubernetes Deployment), else {@code null}
 *
 * <h2>One owner: claims and generations</h2>
 * Ownership is a sequence of generations. A process becomes the owner by <em>claiming</em> the next generation: it
 * writes this record (its token in {@link #owner()}, {@code generation = latest + 1}) under the key
 * {@code <id>#<generation>} of the registry's append-only claims topic ({@code <prefix>.inference-claims},
 * {@code cleanup.policy=delete}, {@code retention.ms=-1}), then reads it back: the first claim of a generation in the
 * log wins, and since that topic is never compacted nor expired, every reader, now or later, sees the same winner
 * (a Kafka-backed compare-and-set, as Kafka Streams relies on the group coordinator for task ownership). While it
 * owns the latest generation, the owner alone writes that generation's state (status, replicas, restarts,
 * heartbeat) under {@code <id>#<generation>} of the compacted {@code <prefix>.inferences} topic: one writer per key,
 * so compaction keeps exactly its last write. A reader's current record is the state of the latest claimed
 * generation (its claim while its owner wrote nothing else); records of earlier generations, e.g. a heartbeat of a
 * paused owner that resumed after a takeover, are never current, whatever their order in the log or what compaction
 * removed ({@code Registry.putInference} refuses them anyway).
 *
 * <p>Who claims: {@code LocalInference.start} (a new deployment, the restart of an ended one, the takeover of a
 * dead one), a process that served a {@value #RELEASED} deployment with its owner (the handover: the first such
 * claim wins, the others serve on under it) or a RUNNING one whose owner died (its heartbeat unchanged for a lease on
 * the joiner's monotonic clock and none of the owner's replicas left in the group: same race, same outcome), {@code Registry.stopInference} / {@code kafkaml inferences stop} (a
 * {@code STOPPED} generation: every process serving the id stops) and {@code Registry.forgetInference} /
 * {@code kafkaml inferences forget} ({@value #FORGOTTEN}: the id is no longer listed). Statuses of one generation:
 * {@code RUNNING} → {@value #RELEASED} (the owner left while others served) or {@code STOPPED} or {@code FAILED};
 * STOPPED and FAILED are final for the generation. Processes that join a running deployment never write its state.
 *
 * <h2>Liveness</h2>
 * A process killed with SIGKILL cannot write STOPPED or FAILED. Whether a RUNNING deployment still runs is judged
 * from its consumer group ({@code Admin.describeConsumerGroups}): members mean alive, as the group coordinator
 * decides with its own clock and the consumers' session timeout. Where the group may not be described (a
 * {@code GroupAuthorizationException}), a reader judges it dead only after seeing {@link #heartbeatAt()} unchanged
 * for a full {@link #leaseMs()} on its own monotonic clock; clocks of different machines are never compared. Such a
 * deployment shows {@value #STALE} ({@link #liveStatus(boolean)}) and a new process may take it over. A supervised
 * record ({@link #supervisedBy()}) is never taken over by its pods; its launcher takes it over only when its
 * Deployment is gone and its group stayed empty for a lease (see {@code KubernetesInference}).
 */
public record Inference(
        String id,
        String resultId,
        String inputTopic,
        String outputTopic,
        int replicas,
        String status,
        String error,
        Map<String, Object> settings,
        Instant createdAt,
        Instant updatedAt,
        int restarts,
        Instant heartbeatAt,
        long leaseMs,
        String owner,
        long generation,
        String supervisedBy) {

    /** {@link #liveStatus(boolean)} of a RUNNING deployment no process serves any more. */
    public static final String STALE = "STALE";

    /**
     * {@link #status()} of a generation whose owner left while other processes served it with the same result and
     * topics: the first of them to claim the next generation owns the deployment; it stays served meanwhile.
     */
    public static final String RELEASED = "RELEASED";

    /**
     * {@link #status()} of the generation claimed by {@code Registry.forgetInference}: the id is no longer listed and
     * processes of this version that serve it stop.
     */
    public static final String FORGOTTEN = "FORGOTTEN";

    /** {@link #supervisedBy()} of a deployment run as a Kubernetes Deployment. */
    public static final String SUPERVISED_BY_KUBERNETES = "kubernetes";

    /** Validates the fields. */
    public Inference {
        io.kafkaml.model.ModelDefinition.checkName(id, "inference");
        Objects.requireNonNull(resultId, "resultId");
        settings = settings == null ? Map.of() : Map.copyOf(settings);
    }

    /** An inference deployment with a heartbeat but no owner (as written before ownership). */
    public Inference(
            String id,
            String resultId,
            String inputTopic,
            String outputTopic,
            int replicas,
            String status,
            String error,
            Map<String, Object> settings,
            Instant createdAt,
            Instant updatedAt,
            int restarts,
            Instant heartbeatAt,
            long leaseMs) {
        this(
                id,
                resultId,
                inputTopic,
                outputTopic,
                replicas,
                status,
                error,
                settings,
                createdAt,
                updatedAt,
                restarts,
                heartbeatAt,
                leaseMs,
                null,
                0,
                null);
    }

    /** An inference deployment without a heartbeat. */
    public Inference(
            String id,
            String resultId,
            String inputTopic,
            String outputTopic,
            int replicas,
            String status,
            String error,
            Map<String, Object> settings,
            Instant createdAt,
            Instant updatedAt,
            int restarts) {
        this(
                id,
                resultId,
                inputTopic,
                outputTopic,
                replicas,
                status,
                error,
                settings,
                createdAt,
                updatedAt,
                restarts,
                null,
                0);
    }

    /** A new inference deployment, with no restarts and no heartbeat yet. */
    public Inference(
            String id,
            String resultId,
            String inputTopic,
            String outputTopic,
            int replicas,
            String status,
            String error,
            Map<String, Object> settings,
            Instant createdAt,
            Instant updatedAt) {
        this(id, resultId, inputTopic, outputTopic, replicas, status, error, settings, createdAt, updatedAt, 0);
    }

    /** The same inference deployment with another status and replica count (same owner and generation). */
    public Inference with(String newStatus, int newReplicas, String newError) {
        return copy(c -> {
            c.status = newStatus;
            c.replicas = newReplicas;
            c.error = newError;
            c.updatedAt = Instant.now();
        });
    }

    /** The same record owned by {@code newOwner} in {@code newGeneration}, supervised by {@code supervisor}. */
    public Inference ownedBy(String newOwner, long newGeneration, String supervisor) {
        return copy(c -> {
            c.owner = newOwner;
            c.generation = newGeneration;
            c.supervisedBy = supervisor;
        });
    }

    /** Whether the status is STOPPED or FAILED (or {@value #FORGOTTEN}): final for this generation. */
    public boolean isTerminal() {
        return "STOPPED".equals(status) || "FAILED".equals(status) || FORGOTTEN.equals(status);
    }

    /**
     * Whether {@code next} may follow {@code current} in the order one owner writes its generation: a later
     * generation only as {@code current + 1}, the same generation only by the same owner and never once final, an
     * earlier generation never.
     *
     * @deprecated the registry no longer decides by this rule, which depended on history that compaction removes:
     *     ownership is decided by per-generation claims (see the class javadoc, <em>One owner</em>). Kept as the
     *     check an owner may make before it writes.
     */
    @Deprecated(since = "0.2")
    public static boolean allowedUpdate(Inference current, Inference next) {
        if (next.generation() == current.generation()) {
            return Objects.equals(next.owner(), current.owner()) && !current.isTerminal();
        }
        return next.generation() == current.generation() + 1;
    }

    /** The same inference deployment after another replica restart, {@code reason} being why it failed. */
    public Inference restarted(int totalRestarts, String reason) {
        return copy(c -> {
            c.error = reason;
            c.updatedAt = Instant.now();
            c.restarts = totalRestarts;
        });
    }

    /** The same inference deployment, said alive at {@code at} for {@code lease} more (nothing else changes). */
    public Inference heartbeat(Instant at, Duration lease) {
        return copy(c -> {
            c.heartbeatAt = at;
            c.leaseMs = lease.toMillis();
        });
    }

    /** This record with the fields {@code change} sets changed (validated as the constructor does). */
    private Inference copy(Consumer<Copy> change) {
        Copy copy = new Copy(this);
        change.accept(copy);
        return new Inference(
                id,
                resultId,
                inputTopic,
                outputTopic,
                copy.replicas,
                copy.status,
                copy.error,
                settings,
                createdAt,
                copy.updatedAt,
                copy.restarts,
                copy.heartbeatAt,
                copy.leaseMs,
                copy.owner,
                copy.generation,
                copy.supervisedBy);
    }

    /** The fields the copy methods change, as they are in the record being copied until set. */
    private static final class Copy {
        int replicas;
        String status;
        String error;
        Instant updatedAt;
        int restarts;
        Instant heartbeatAt;
        long leaseMs;
        String owner;
        long generation;
        String supervisedBy;

        Copy(Inference from) {
            replicas = from.replicas;
            status = from.status;
            error = from.error;
            updatedAt = from.updatedAt;
            restarts = from.restarts;
            heartbeatAt = from.heartbeatAt;
            leaseMs = from.leaseMs;
            owner = from.owner;
            generation = from.generation;
            supervisedBy = from.supervisedBy;
        }
    }

    /** The consumer group of its replicas ({@code kafkaml-inference-<id>} unless its settings name another). */
    public String groupId() {
        Object group = settings.get("groupId");
        return group != null ? group.toString() : "kafkaml-inference-" + id;
    }

    /**
     * The status as a reader should show it: {@link #status()}, or {@value #STALE} if it is RUNNING and
     * {@code alive} is false (judged as the class javadoc says, e.g. by {@code InferenceLiveness}).
     */
    public String liveStatus(boolean alive) {
        return "RUNNING".equals(status) && !alive ? STALE : status;
    }
}
