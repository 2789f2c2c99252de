package io.kafkaml;

import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.Registry;
import java.util.List;
import java.util.Optional;

/**
 * The configurations of a {@link KafkaMl}'s registry (the paper's step B): named sets of models trained together on
 * one data stream. Thread-safe; a view of the registry that {@link KafkaMl} owns, valid while it runs.
 */
public final class Configurations {

    private final Registry registry;

    Configurations(Registry registry) {
        this.registry = registry;
    }

    /**
     * Creates a configuration of registered models.
     *
     * @throws io.kafkaml.registry.DuplicateEntityException if one of that name exists
     * @throws io.kafkaml.registry.EntityNotFoundException if a model is not registered
     */
    public Configuration create(Configuration configuration) {
        return registry.createConfiguration(configuration);
    }

    /** Creates a configuration without a description; see {@link #create(Configuration)}. */
    public Configuration create(String name, String... models) {
        return create(new Configuration(name, "", List.of(models)));
    }

    /** The configuration of that name. */
    public Optional<Configuration> get(String name) {
        return registry.configuration(name);
    }

    /** All configurations. */
    public List<Configuration> list() {
        return registry.configurations();
    }

    /**
     * Deletes a configuration.
     *
     * @throws io.kafkaml.registry.EntityNotFoundException if there is none of that name
     */
    public void delete(String name) {
        registry.deleteConfiguration(name);
    }
}
