package io.kafkaml.registry;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * An inference deployment (the paper's step F) as the registry records it, so that any process can see what
 * serves which model where.
 *
 * @param id the inference deployment's id
 * @param resultId the training result whose model it serves
 * @param inputTopic where inputs are read
 * @param outputTopic where predictions are written
 * @param replicas how many replicas it runs
 * @param status {@code RUNNING}, {@code STOPPED} or {@code FAILED}
 * @param error why it failed; while RUNNING, the last replica failure that was restarted; else {@code null}
 * @param settings the rest of its settings
 * @param createdAt when it was created
 * @param updatedAt when it last changed
 * @param restarts how many times a failed replica was replaced (0 in records written before 0.2)
 * @param heartbeatAt when a process serving it last said it is alive ({@code null}: no heartbeat, as in records
 *     written before 0.2 and by launchers whose replicas are supervised elsewhere, such as Kubernetes)
 * @param leaseMs how long after {@code heartbeatAt} a RUNNING deployment counts as alive, in milliseconds (three
 *     heartbeat intervals of the process that wrote it; 0: no lease)
 *
 * <h2>Liveness</h2>
 * Every process serving a RUNNING inference deployment ({@code LocalInference}) refreshes {@code heartbeatAt} every
 * {@code kafkaml.inference.heartbeat.interval.ms}, in this same record (one record per deployment, compacted: the
 * registry does not grow with time). A process killed with SIGKILL cannot write STOPPED or FAILED; once its lease has
 * passed, {@link #liveStatus(Instant)} says {@value #STALE} instead of RUNNING and a new process may take the
 * deployment over. The lease is that of a Kafka consumer group's session: a reader decides by the writer's clock
 * ({@code heartbeatAt}) and its own, so clocks are assumed to agree within a fraction of the lease.
 */
public record Inference(String id, String resultId, String inputTopic, String outputTopic, int replicas, String status,
        String error, Map<String, Object> settings, Instant createdAt, Instant updatedAt, int restarts,
        Instant heartbeatAt, long leaseMs) {

    /** {@link #liveStatus(Instant)} of a RUNNING deployment whose lease has passed: no process said it is alive. */
    public static final String STALE = "STALE";

    /** Validates the fields. */
    public Inference {
        io.kafkaml.model.ModelDefinition.checkName(id, "inference");
        Objects.requireNonNull(resultId, "resultId");
        settings = settings == null ? Map.of() : Map.copyOf(settings);
    }

    /** An inference deployment without a heartbeat. */
    public Inference(String id, String resultId, String inputTopic, String outputTopic, int replicas, String status,
            String error, Map<String, Object> settings, Instant createdAt, Instant updatedAt, int restarts) {
        this(id, resultId, inputTopic, outputTopic, replicas, status, error, settings, createdAt, updatedAt, restarts,
                null, 0);
    }

    /** A new inference deployment, with no restarts and no heartbeat yet. */
    public Inference(String id, String resultId, String inputTopic, String outputTopic, int replicas, String status,
            String error, Map<String, Object> settings, Instant createdAt, Instant updatedAt) {
        this(id, resultId, inputTopic, outputTopic, replicas, status, error, settings, createdAt, updatedAt, 0);
    }

    /** The same inference deployment with another status and replica count. */
    public Inference with(String newStatus, int newReplicas, String newError) {
        Instant now = Instant.now();
        return new Inference(id, resultId, inputTopic, outputTopic, newReplicas, newStatus, newError, settings, createdAt,
                now, restarts, "RUNNING".equals(newStatus) && leaseMs > 0 ? now : heartbeatAt, leaseMs);
    }

    /** The same inference deployment after another replica restart, {@code reason} being why it failed. */
    public Inference restarted(int totalRestarts, String reason) {
        return new Inference(id, resultId, inputTopic, outputTopic, replicas, status, reason, settings, createdAt,
                Instant.now(), totalRestarts, heartbeatAt, leaseMs);
    }

    /** The same inference deployment, said alive at {@code at} for {@code lease} more (nothing else changes). */
    public Inference heartbeat(Instant at, Duration lease) {
        return new Inference(id, resultId, inputTopic, outputTopic, replicas, status, error, settings, createdAt,
                updatedAt, restarts, at, lease.toMillis());
    }

    /**
     * Whether the deployment is recorded RUNNING but no process has said it is alive within its lease at {@code now}
     * (its processes were killed without a chance to record it). A record without a lease is never stale.
     */
    public boolean isStale(Instant now) {
        return "RUNNING".equals(status) && heartbeatAt != null && leaseMs > 0
                && heartbeatAt.plusMillis(leaseMs).isBefore(now);
    }

    /** The status as a reader should show it at {@code now}: {@link #status()}, or {@value #STALE} if {@link #isStale}. */
    public String liveStatus(Instant now) {
        return isStale(now) ? STALE : status;
    }
}
