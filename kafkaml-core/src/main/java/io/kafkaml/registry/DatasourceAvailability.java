package io.kafkaml.registry;

import io.kafkaml.stream.StreamSlice;
import java.util.List;

/**
 * Whether a recorded data stream can still be read: retention may have deleted part of it, or its topic may have
 * been deleted.
 *
 * @param available whether every slice is still complete
 * @param expired the slices that start below their partition's log start offset
 * @param deletedTopics topics of the stream's slices that no longer exist (or lost the slice's partition)
 */
public record DatasourceAvailability(boolean available, List<StreamSlice> expired, List<String> deletedTopics) {

    /** Copies the lists. */
    public DatasourceAvailability {
        expired = List.copyOf(expired);
        deletedTopics = List.copyOf(deletedTopics);
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
        return String.join("; ", reasons);
    }
}
