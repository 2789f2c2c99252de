package io.kafkaml.registry;

import io.kafkaml.stream.StreamSlice;
import java.util.List;

/**
 * Whether a recorded data stream can still be read, or retention has deleted part of it.
 *
 * @param available whether every slice is still complete
 * @param expired the slices that start below their partition's log start offset
 */
public record DatasourceAvailability(boolean available, List<StreamSlice> expired) {

    /** Copies the list. */
    public DatasourceAvailability {
        expired = List.copyOf(expired);
    }
}
