package io.kafkaml.control;

import io.kafkaml.common.KafkaMlException;
import java.util.Optional;

/**
 * Thrown when a control message is malformed or breaks a rule. The message lists every problem and, for a
 * consumed record, where it is ({@code topic-partition@offset}).
 *
 * <p>Thread safety: immutable once thrown (its fields are final); an instance describes one failure and is not reused.
 */
public class InvalidControlMessageException extends KafkaMlException {
    private static final long serialVersionUID = 1L;

    private final String deploymentId;
    private final String location;

    public InvalidControlMessageException(String message, String deploymentId, String location) {
        super(message);
        this.deploymentId = deploymentId;
        this.location = location == null ? "" : location.replaceFirst("^ at ", "");
    }

    /** The deployment the message was for, when that much could be read (from the JSON or the key). */
    public Optional<String> deploymentId() {
        return Optional.ofNullable(deploymentId);
    }

    /** Where the message was read, {@code topic-partition@offset}; empty when it did not come from a record. */
    public String location() {
        return location;
    }
}
