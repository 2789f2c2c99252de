package io.kafkaml.registry;

/**
 * Thrown when an entity that must exist does not.
 *
 * <p>Thread safety: immutable once thrown (its fields are final); an instance describes one failure and is not reused.
 */
public class EntityNotFoundException extends RegistryException {
    private static final long serialVersionUID = 1L;

    public EntityNotFoundException(String kind, String name) {
        super("No " + kind + " named '" + name + "' exists");
    }
}
