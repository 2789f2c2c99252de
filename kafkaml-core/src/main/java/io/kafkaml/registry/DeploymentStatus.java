package io.kafkaml.registry;

/** Where a training deployment (or one of its results) stands. */
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
}
