package io.kafkaml.registry;

import io.kafkaml.control.ControlMessage;
import java.time.Instant;

/**
 * A data stream announced on the control topic, as the control logger recorded it: the control message, when
 * and where it was seen. Re-sending it to another deployment reuses the data without copying it.
 *
 * <p>Thread safety: immutable (a record of immutable values) and thread-safe. Lifecycle: a value, no resources.
 *
 * @param id the datasource id, {@code controlTopic-partition-offset} of the control message
 * @param deploymentId the deployment the stream was announced for
 * @param controlTopic the control topic it was announced on
 * @param recordedAt the control message's timestamp
 * @param controlMessage the control message's JSON
 */
public record Datasource(
        String id, String deploymentId, String controlTopic, Instant recordedAt, String controlMessage) {

    /** The control message. */
    public ControlMessage message() {
        return ControlMessage.fromJson(controlMessage);
    }
}
