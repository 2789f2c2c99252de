package io.kafkaml.registry;

import io.kafkaml.model.ModelDefinition;
import java.util.List;
import java.util.Objects;

/**
 * A named set of models trained together on the same data stream (the paper's step B).
 *
 * <p>Thread safety: immutable (a record; its collections are copied or unmodifiable) and thread-safe. Lifecycle: a
 * value, no resources.
 *
 * @param name the configuration's name, unique in a registry
 * @param description a description, possibly empty
 * @param models the names of its models, at least one, no duplicates
 */
public record Configuration(String name, String description, List<String> models) {

    /** Validates the name and the model list. */
    public Configuration {
        ModelDefinition.checkName(name, "configuration");
        description = description == null ? "" : description;
        Objects.requireNonNull(models, "models");
        if (models.isEmpty()) {
            throw new IllegalArgumentException("Configuration '" + name + "' names no model");
        }
        if (models.stream().distinct().count() != models.size()) {
            throw new IllegalArgumentException("Configuration '" + name + "' names a model twice: " + models);
        }
        models = List.copyOf(models);
    }
}
