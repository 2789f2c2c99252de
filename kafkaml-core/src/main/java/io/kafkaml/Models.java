package io.kafkaml;

import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Registry;
import java.util.List;
import java.util.Optional;

/**
 * The models of a {@link KafkaMl}'s registry (the paper's step A): register a DL4J network configuration (or a
 * Keras import, through kafkaml-keras), list, show, delete. Thread-safe; a view of the registry that
 * {@link KafkaMl} owns, valid while it runs.
 */
public final class Models {

    private final Registry registry;

    Models(Registry registry) {
        this.registry = registry;
    }

    /**
     * Registers a model; the network is built once to check it and record its input and output shapes.
     *
     * @return the definition as recorded (with its summary)
     * @throws io.kafkaml.registry.DuplicateEntityException if a model of that name exists
     * @throws io.kafkaml.model.InvalidModelException if the network cannot be built, with the reason
     */
    public ModelDefinition register(ModelDefinition model) {
        return registry.registerModel(model);
    }

    /** The model of that name. */
    public Optional<ModelDefinition> get(String name) {
        return registry.model(name);
    }

    /** All models. */
    public List<ModelDefinition> list() {
        return registry.models();
    }

    /**
     * Deletes a model.
     *
     * @throws io.kafkaml.registry.EntityNotFoundException if there is none of that name
     * @throws io.kafkaml.registry.RegistryException if a configuration still names it
     */
    public void delete(String name) {
        registry.deleteModel(name);
    }
}
