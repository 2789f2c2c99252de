package io.kafkaml.registry;

import io.kafkaml.stream.StreamSlice;
import java.util.List;

/**
 * Whether a recorded data stream can still be read: retention may have deleted part of it, or its topic may have
 * been deleted.
 *
 * <p>Thread safety: immutable (a record; its collections are copied or unmodifiable) and thread-safe. Lifecycle: a
 * value, no resources.
 *
 * @param available whether every slice is still complete
 * @param expired the slices that start below their partition's log start offset
 * @param deletedTopics topics of the stream's slices that no longer exist (or lost the slice's partition)
 * @param unreadableTopics topics of the stream's slices this client may not describe (a missing ACL): whether
 *     they can be read is unknown to it, so the stream is reported as not available, with the refusal in
 *     {@link #reason()}
 * @param refusal the broker's refusal in one line (principal, resource, operation); empty when none
 */
public record DatasourceAvailability(
        boolean available,
        List<StreamSlice> expired,
        List<String> deletedTopics,
        List<String> unreadableTopics,
        String refusal) {

    /** Copies the lists. */
    public DatasourceAvailability {
        expired = List.copyOf(expired);
        deletedTopics = List.copyOf(deletedTopics);
        unreadableTopics = List.copyOf(unreadableTopics);
        refusal = refusal == null ? "" : refusal;
    }

    /** Availability from expired slices and deleted topics (every topic could be described). */
    public DatasourceAvailability(boolean available, List<StreamSlice> expired, List<String> deletedTopics) {
        this(available, expired, deletedTopics, List.of(), "");
    }

    /** Availability from expired slices only (every topic exists). */
    public DatasourceAvailability(boolean available, List<StreamSlice> expired) {
        this(available, expired, List.of());
    }

    /** Why the stream cannot be read, for a person ({@code topic deleted: t}, {@code expired: slices}); empty if it can. */
    public String reason() {
        List<String> reasons = new java.util.ArrayList<>();
        if (!deletedTopics.isEmpty()) {
            reasons.add("topic deleted: " + String.join(",", deletedTopics));
        }
        if (!expired.isEmpty()) {
            reasons.add("expired: " + StreamSlice.formatList(expired));
        }
        if (!unreadableTopics.isEmpty()) {
            reasons.add("not readable by this client: "
                    + (refusal.isEmpty() ? String.join(",", unreadableTopics) : refusal));
        }
        return String.join("; ", reasons);
    }
}
