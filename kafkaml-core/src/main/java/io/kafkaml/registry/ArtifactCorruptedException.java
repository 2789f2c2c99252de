package io.kafkaml.registry;

/**
 * Thrown when a stored artifact is incomplete or its bytes do not match its SHA-256 digest. Nothing is loaded.
 *
 * <p>Thread safety: immutable once thrown (its fields are final); an instance describes one failure and is not reused.
 */
public class ArtifactCorruptedException extends RegistryException {
    private static final long serialVersionUID = 1L;

    public ArtifactCorruptedException(String message) {
        super(message);
    }
}
