package io.kafkaml.registry;

/** Thrown when an entity that must exist does not. */
public class EntityNotFoundException extends RegistryException {
    private static final long serialVersionUID = 1L;

    public EntityNotFoundException(String kind, String name) {
        super("No " + kind + " named '" + name + "' exists");
    }
}
