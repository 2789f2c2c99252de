package io.kafkaml.registry;

/**
 * Thrown when an entity cannot be deleted because another one still refers to it (a model that a configuration
 * names). The REST API answers it with 409 Conflict.
 *
 * <p>Thread safety: immutable once thrown (its fields are final); an instance describes one failure and is not reused.
 */
public class EntityInUseException extends RegistryException {
    private static final long serialVersionUID = 1L;

    /**
     * @param message what is in use, by what, and what to do first
     */
    public EntityInUseException(String message) {
        super(message);
    }
}
