package io.kafkaml.registry;

import java.util.EnumSet;
import java.util.Set;

/**
 * Where a training deployment, or one model's {@link TrainingResult} of it, stands: an explicit state machine in the
 * manner of {@code KafkaStreams.State}.
 *
 * <pre>
 *   WAITING_FOR_DATA &lt;──&gt; TRAINING ──&gt; FINISHED
 *          │                   ├──────&gt; FAILED
 *          └───────────────────┴──────&gt; CANCELLED   (WAITING_FOR_DATA may also end FAILED)
 * </pre>
 *
 * <p>A result moves only along {@link #isValidTransition}; a terminal state ({@link #isTerminal()}) is final: no
 * write, by a restarted worker or anyone else, leaves it (the registry refuses such a write with an
 * {@link IllegalStatusTransitionException} and every reader ignores one that slipped past in a race). A
 * deployment's status is never written by anyone: it is derived from its results by
 * {@link Deployment#derivedFrom}.
 *
 * <p>Thread safety: immutable, as every enum; safe to share between threads. Lifecycle: constants, no resources.
 */
public enum DeploymentStatus {
    /** Waiting for the control message of its data stream. */
    WAITING_FOR_DATA,
    /** Training. */
    TRAINING,
    /** Done, with results. */
    FINISHED,
    /** Stopped by an error, which is recorded. */
    FAILED,
    /** Stopped on request. */
    CANCELLED;

    /** Whether nothing will change any more. */
    public boolean isTerminal() {
        return this == FINISHED || this == FAILED || this == CANCELLED;
    }

    /**
     * Whether a result in this state may be written in {@code next}: a state that is not terminal may be re-written
     * with itself (progress) or go to any state (WAITING_FOR_DATA back from TRAINING when a crashed worker restarts
     * and waits for its data again; FINISHED only from TRAINING), and a terminal state goes nowhere.
     */
    public boolean isValidTransition(DeploymentStatus next) {
        return next != null && successors().contains(next);
    }

    private Set<DeploymentStatus> successors() {
        return switch (this) {
            case WAITING_FOR_DATA -> EnumSet.of(WAITING_FOR_DATA, TRAINING, FAILED, CANCELLED);
            case TRAINING -> EnumSet.of(WAITING_FOR_DATA, TRAINING, FINISHED, FAILED, CANCELLED);
            case FINISHED, FAILED, CANCELLED -> EnumSet.noneOf(DeploymentStatus.class);
        };
    }
}
