package io.kafkaml.registry;

/**
 * Thrown when an entity is created under a name that is already taken.
 *
 * <p>Thread safety: immutable once thrown (its fields are final); an instance describes one failure and is not reused.
 */
public class DuplicateEntityException extends RegistryException {
    private static final long serialVersionUID = 1L;

    public DuplicateEntityException(String kind, String name) {
        super("A " + kind + " named '" + name + "' already exists");
    }

    /** The same, with why it counts as taken (e.g. who holds it). */
    public DuplicateEntityException(String kind, String name, String detail) {
        super("A " + kind + " named '" + name + "' already exists: " + detail);
    }
}
