package io.kafkaml.stream;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.kafka.common.TopicPartition;

/**
 * One range of records of one partition: {@code topic:partition:startOffset:endOffset}, the end offset
 * exclusive. A data stream is a list of slices, written in control messages as comma-separated text
 * ({@code hcopd:0:0:120,hcopd:1:0:119}).
 *
 * <p>A slice may be <em>open-ended</em> ({@code topic:partition:startOffset}, which Kafka-ML writes when it
 * saw no end): a {@link StreamDataset} reads it up to the partition's end offset as it stands when the
 * dataset first reads it, and keeps that end for every later pass.
 *
 * <p>Kafka-ML's documentation calls the fourth field a length, but its sinks write the absolute end offset
 * there; it is read as the end offset.
 *
 * <pre>{@code
 * List<StreamSlice> slices = StreamSlice.parseList("hcopd:0:0:120,hcopd:1:0:119");
 * long records = slices.stream().mapToLong(StreamSlice::size).sum();   // 239
 * String text = StreamSlice.formatList(slices);                          // the same text again
 * }</pre>
 *
 * <p>Thread safety: immutable (a record of immutable values) and thread-safe. Lifecycle: a value, no resources.
 *
 * @param topic the topic name
 * @param partition the partition number, {@code >= 0}
 * @param startOffset the first offset of the slice, {@code >= 0}
 * @param endOffset the offset after the last record, {@code >= startOffset}, or {@link #OPEN_END}
 */
public record StreamSlice(String topic, int partition, long startOffset, long endOffset) implements Serializable {

    /** The end offset of an open-ended slice. */
    public static final long OPEN_END = -1L;

    private static final long serialVersionUID = 1L;
    private static final Pattern LEGAL_TOPIC = Pattern.compile("[a-zA-Z0-9._-]{1,249}");
    private static final String EXPECTED =
            "expected topic:partition:startOffset:endOffset (end exclusive) or topic:partition:startOffset";

    /**
     * Validates the fields.
     *
     * @throws IllegalArgumentException if the topic is not a legal Kafka topic name, a number is negative, or
     *     the end lies before the start
     */
    public StreamSlice {
        Objects.requireNonNull(topic, "topic");
        if (!LEGAL_TOPIC.matcher(topic).matches()) {
            throw new IllegalArgumentException("'" + topic + "' is not a legal Kafka topic name "
                    + "(1 to 249 characters of a-z, A-Z, 0-9, '.', '_', '-')");
        }
        if (partition < 0) {
            throw new IllegalArgumentException("partition must be >= 0, was " + partition);
        }
        if (startOffset < 0) {
            throw new IllegalArgumentException("startOffset must be >= 0, was " + startOffset);
        }
        if (endOffset != OPEN_END && endOffset < startOffset) {
            throw new IllegalArgumentException("endOffset " + endOffset + " is before startOffset " + startOffset);
        }
    }

    /** A closed slice: offsets {@code startOffset} (inclusive) to {@code endOffset} (exclusive). */
    public static StreamSlice of(String topic, int partition, long startOffset, long endOffset) {
        if (endOffset == OPEN_END) {
            throw new IllegalArgumentException("endOffset must be >= startOffset; use openEnded(...) for no end");
        }
        return new StreamSlice(topic, partition, startOffset, endOffset);
    }

    /** An open-ended slice from {@code startOffset} on. */
    public static StreamSlice openEnded(String topic, int partition, long startOffset) {
        return new StreamSlice(topic, partition, startOffset, OPEN_END);
    }

    /** Whether the slice has no end offset. */
    public boolean isOpenEnded() {
        return endOffset == OPEN_END;
    }

    /**
     * The number of offsets the slice spans, {@code endOffset - startOffset}. It is an upper bound of the
     * records it holds: transaction markers and compaction leave offsets without records.
     *
     * @throws IllegalStateException if the slice is open-ended
     */
    public long size() {
        if (isOpenEnded()) {
            throw new IllegalStateException("The open-ended slice " + this + " has no size");
        }
        return endOffset - startOffset;
    }

    /** The slice's topic and partition. */
    public TopicPartition topicPartition() {
        return new TopicPartition(topic, partition);
    }

    /** The same slice with another end offset (for example an open end resolved against the log end). */
    public StreamSlice withEndOffset(long newEndOffset) {
        return new StreamSlice(topic, partition, startOffset, newEndOffset);
    }

    /** Whether {@code offset} lies in the slice. Open-ended slices contain every offset from their start. */
    public boolean contains(long offset) {
        return offset >= startOffset && (isOpenEnded() || offset < endOffset);
    }

    /** The slice as {@code topic:partition:start:end}, or {@code topic:partition:start} when open-ended. */
    @Override
    public String toString() {
        String text = topic + ":" + partition + ":" + startOffset;
        return isOpenEnded() ? text : text + ":" + endOffset;
    }

    /**
     * Parses one entry, {@code topic:partition:startOffset:endOffset} or {@code topic:partition:startOffset}.
     *
     * @throws InvalidStreamSliceException if the entry is malformed; the message quotes it and says what was
     *     expected
     */
    public static StreamSlice parse(String entry) {
        Objects.requireNonNull(entry, "entry");
        return parseEntry(entry, "");
    }

    /**
     * Parses a comma-separated list of entries, as written in a control message's {@code topic} field.
     * Blanks around entries are ignored; an empty or blank text is an empty list.
     *
     * @throws InvalidStreamSliceException naming the first malformed entry, its position and the whole text
     */
    public static List<StreamSlice> parseList(String text) {
        Objects.requireNonNull(text, "text");
        if (text.isBlank()) {
            return List.of();
        }
        String[] entries = text.split(",", -1);
        List<StreamSlice> slices = new ArrayList<>(entries.length);
        for (int i = 0; i < entries.length; i++) {
            String where = entries.length == 1
                    ? ""
                    : " (entry " + (i + 1) + " of " + entries.length + " in '" + abbreviate(text) + "')";
            slices.add(parseEntry(entries[i].trim(), where));
        }
        return List.copyOf(slices);
    }

    /** Formats slices as the comma-separated text that {@link #parseList(String)} reads. */
    public static String formatList(List<StreamSlice> slices) {
        return slices.stream().map(StreamSlice::toString).collect(Collectors.joining(","));
    }

    private static StreamSlice parseEntry(String entry, String where) {
        if (entry.isEmpty()) {
            throw invalid(entry, where, "the entry is empty");
        }
        String[] fields = entry.split(":", -1);
        if (fields.length != 3 && fields.length != 4) {
            throw invalid(entry, where, "it has " + fields.length + " field" + (fields.length == 1 ? "" : "s"));
        }
        String topic = fields[0].trim();
        if (!LEGAL_TOPIC.matcher(topic).matches()) {
            throw invalid(entry, where, "'" + topic + "' is not a legal Kafka topic name");
        }
        long partition = number(entry, where, "partition", fields[1]);
        if (partition > Integer.MAX_VALUE) {
            throw invalid(entry, where, "partition " + partition + " is too large");
        }
        long start = number(entry, where, "start offset", fields[2]);
        if (fields.length == 3) {
            return openEnded(topic, (int) partition, start);
        }
        long end = number(entry, where, "end offset", fields[3]);
        if (end < start) {
            throw invalid(entry, where, "end offset " + end + " is before start offset " + start);
        }
        return new StreamSlice(topic, (int) partition, start, end);
    }

    private static long number(String entry, String where, String name, String field) {
        String value = field.trim();
        if (value.isEmpty() || value.length() > 19 || !value.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw invalid(entry, where, name + " '" + field + "' is not a non-negative integer");
        }
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw invalid(entry, where, name + " '" + field + "' is too large");
        }
    }

    private static InvalidStreamSliceException invalid(String entry, String where, String problem) {
        return new InvalidStreamSliceException(
                "Malformed stream slice '" + entry + "'" + where + ": " + problem + "; " + EXPECTED, entry);
    }

    private static String abbreviate(String text) {
        return text.length() <= 200 ? text : text.substring(0, 197) + "...";
    }
}
