package io.kafkaml;

import io.kafkaml.control.ControlMessage;
import io.kafkaml.registry.Datasource;
import io.kafkaml.registry.DatasourceAvailability;
import io.kafkaml.registry.EntityNotFoundException;
import io.kafkaml.registry.Registry;
import java.util.List;
import java.util.Optional;

/**
 * The data streams a {@link KafkaMl}'s control logger has cataloged: every control message seen on the control
 * topic, whether its data can still be read (retention may have expired it, its topic may be deleted), and
 * re-sending it to another training deployment without copying any data (the paper's reuse of streams, §VI).
 * Thread-safe; a view of the registry that {@link KafkaMl} owns, valid while it runs.
 */
public final class Datasources {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Datasources.class);

    private final Registry registry;
    /** The control logger of the same {@link KafkaMl}, or {@code null} when it runs none. */
    private final io.kafkaml.registry.ControlLogger controlLogger;

    Datasources(Registry registry, io.kafkaml.registry.ControlLogger controlLogger) {
        this.registry = registry;
        this.controlLogger = controlLogger;
    }

    /**
     * All cataloged data streams. When this {@link KafkaMl}'s control logger has stopped on its own (see
     * {@link io.kafkaml.registry.ControlLogger#stoppedBy()}), each call logs an ERROR saying that the catalog is no
     * longer updated, and why.
     */
    public List<Datasource> list() {
        if (controlLogger != null && controlLogger.stoppedBy().isPresent()) {
            log.error(
                    "The datasource catalog is no longer updated: the control logger stopped: {}",
                    controlLogger
                            .failure()
                            .map(Throwable::getMessage)
                            .orElseGet(() -> controlLogger.stoppedBy().get().toString()));
        }
        return registry.datasources();
    }

    /** The data stream of that id ({@code topic-partition-offset} of its control message). */
    public Optional<Datasource> get(String datasourceId) {
        return registry.datasource(datasourceId);
    }

    /**
     * Whether every slice of a data stream can still be read (expired slices and deleted topics are named, not
     * thrown).
     *
     * @throws EntityNotFoundException if there is no such datasource
     * @throws io.kafkaml.registry.RegistryException if the broker cannot be asked within the registry's timeout
     */
    public DatasourceAvailability availability(String datasourceId) {
        return registry.availability(
                get(datasourceId).orElseThrow(() -> new EntityNotFoundException("datasource", datasourceId)));
    }

    /**
     * Re-sends a cataloged data stream to a training deployment ({@link Training#deploymentId()}): a new control
     * message with the same slices, format and rates; no data is copied.
     *
     * @return the control message sent
     * @throws EntityNotFoundException if there is no such datasource
     */
    public ControlMessage resend(String datasourceId, String deploymentId) {
        return registry.resend(datasourceId, deploymentId);
    }
}
