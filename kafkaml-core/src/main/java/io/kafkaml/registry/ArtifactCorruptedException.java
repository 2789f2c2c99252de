package io.kafkaml.registry;

/** Thrown when a stored artifact is incomplete or its bytes do not match its SHA-256 digest. Nothing is loaded. */
public class ArtifactCorruptedException extends RegistryException {
    private static final long serialVersionUID = 1L;

    public ArtifactCorruptedException(String message) {
        super(message);
    }
}
