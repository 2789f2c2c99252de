package io.kafkaml.registry;

/**
 * A result write that would move a {@link TrainingResult} along a transition its {@link DeploymentStatus} does not
 * allow, for example out of a terminal state: a restarted worker cannot revive a result that already ended.
 *
 * <p>Thread safety: immutable once thrown (its fields are final); an instance describes one failure and is not reused.
 */
public class IllegalStatusTransitionException extends RegistryException {
    private static final long serialVersionUID = 1L;

    private final DeploymentStatus current;
    private final DeploymentStatus requested;

    public IllegalStatusTransitionException(String resultId, DeploymentStatus current, DeploymentStatus requested) {
        super("Result '" + resultId + "' is " + current + (current.isTerminal() ? " (terminal)" : "")
                + "; it cannot become " + requested);
        this.current = current;
        this.requested = requested;
    }

    /** The status the result has. */
    public DeploymentStatus current() {
        return current;
    }

    /** The status the refused write asked for. */
    public DeploymentStatus requested() {
        return requested;
    }
}
