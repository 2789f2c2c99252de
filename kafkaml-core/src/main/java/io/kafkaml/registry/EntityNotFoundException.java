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

    private EntityNotFoundException(String message) {
        super(message);
    }

    /**
     * A model version that does not exist, named as a user names it: the result and the version number, with the
     * versions the result has.
     *
     * @param resultId the result
     * @param version the version asked for
     * @param existing the versions the result has (may be empty)
     */
    public static EntityNotFoundException modelVersion(String resultId, int version, java.util.List<Integer> existing) {
        return new EntityNotFoundException("Result '" + resultId + "' has no version " + version
                + (existing.isEmpty()
                        ? " (it has no versions: an incremental run publishes them, or a promotion of its model)"
                        : " (its versions: "
                                + existing.stream()
                                        .map(String::valueOf)
                                        .collect(java.util.stream.Collectors.joining(", "))
                                + ")"));
    }

    /**
     * A model version whose model the version retention deleted ({@link Registry#pruneVersions}): its record remains.
     *
     * @param resultId the result
     * @param version the version asked for
     */
    public static EntityNotFoundException prunedVersion(String resultId, int version) {
        return new EntityNotFoundException("The model of version " + version + " of result '" + resultId
                + "' was deleted by the version retention (" + io.kafkaml.config.KafkaMlConfig.VERSIONS_RETAIN_CONFIG
                + " keeps the newest versions, the promoted one and those promoted by hand); its record (metrics, "
                + "offsets) remains");
    }
}
