package io.kafkaml.control;

import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Where the control topic ended when a training deployment was recorded: the log end offset of each of its
 * partitions. A control message at or after this position was published after the deployment existed; one before it
 * is <em>older</em> than the deployment and is not accepted unless the deployment reuses a stream
 * ({@code TrainingSpec.reuseStream}).
 *
 * <p>Offsets, not clocks: a message's place in the control topic's log is exact whatever the clocks of the sink's
 * machine and of the registry say. A partition missing from the map (the topic did not exist, or grew partitions
 * later) counts as offset 0: everything in it is new.
 *
 * <p>Text form ({@link #format()}, recorded in the deployment's settings): {@code partition:offset} pairs joined
 * by commas, e.g. {@code 0:15,1:3}; the empty string is {@link #BEGINNING}.
 *
 * <p>Thread safety: immutable (a record; its collections are copied or unmodifiable) and thread-safe. Lifecycle: a
 * value, no resources.
 *
 * @param endOffsets log end offset by partition; every offset {@code >= 0}
 */
public record ControlTopicPosition(Map<Integer, Long> endOffsets) {

    /** The position of an empty or missing control topic: every message is new. */
    public static final ControlTopicPosition BEGINNING = new ControlTopicPosition(Map.of());

    /** Validates and copies the offsets. */
    public ControlTopicPosition {
        endOffsets.forEach((partition, offset) -> {
            if (partition < 0 || offset < 0) {
                throw new IllegalArgumentException("Bad control topic position " + partition + ":" + offset);
            }
        });
        endOffsets = Map.copyOf(endOffsets);
    }

    /** Whether the record at {@code partition}/{@code offset} was written at or after this position. */
    public boolean isAtOrAfter(int partition, long offset) {
        return offset >= endOffsets.getOrDefault(partition, 0L);
    }

    /** Whether a reader whose next offsets are {@code positions} has read everything before this position. */
    public boolean isReachedBy(Map<Integer, Long> positions) {
        return endOffsets.entrySet().stream()
                .allMatch(e -> e.getValue() == 0 || positions.getOrDefault(e.getKey(), 0L) >= e.getValue());
    }

    /** The text form, {@code 0:15,1:3}. */
    public String format() {
        return new TreeMap<>(endOffsets)
                .entrySet().stream().map(e -> e.getKey() + ":" + e.getValue()).collect(Collectors.joining(","));
    }

    /**
     * Reads the text form.
     *
     * @throws IllegalArgumentException quoting the text when it is not {@code partition:offset,...}
     */
    public static ControlTopicPosition parse(String text) {
        if (text == null || text.isBlank()) {
            return BEGINNING;
        }
        Map<Integer, Long> offsets = new TreeMap<>();
        for (String pair : text.split(",")) {
            String[] parts = pair.trim().split(":");
            try {
                if (parts.length != 2) {
                    throw new NumberFormatException();
                }
                offsets.put(Integer.parseInt(parts[0]), Long.parseLong(parts[1]));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(
                        "Control topic position '" + text + "' is not partition:offset,...", e);
            }
        }
        return new ControlTopicPosition(offsets);
    }
}
