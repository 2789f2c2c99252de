package io.kafkaml.control;

import io.kafkaml.common.KafkaMlException;
import java.time.Duration;

/**
 * Thrown when no control message for a deployment arrived within the time a caller was ready to wait.
 *
 * <p>Thread safety: immutable once thrown (its fields are final); an instance describes one failure and is not reused.
 */
public class ControlMessageTimeoutException extends KafkaMlException {
    private static final long serialVersionUID = 1L;

    private final String deploymentId;

    public ControlMessageTimeoutException(String deploymentId, String topic, Duration timeout, long skipped) {
        super("No control message for deployment '" + deploymentId + "' arrived on topic '" + topic + "' within "
                + timeout.toMillis() + " ms"
                + (skipped > 0
                        ? " (" + skipped + " malformed message" + (skipped == 1 ? " was" : "s were")
                                + " skipped; see the log)"
                        : ""));
        this.deploymentId = deploymentId;
    }

    /** The deployment that was waited for. */
    public String deploymentId() {
        return deploymentId;
    }
}
