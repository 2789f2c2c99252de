package io.kafkaml.format;

import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.ServiceLoader;
import java.util.TreeMap;

/**
 * Finds {@link RecordFormat}s on the class path with {@link ServiceLoader}, by name, ignoring case.
 *
 * <pre>{@code
 * RecordDecoder decoder = RecordFormats.forName(message.inputFormat()).newDecoder(message.inputConfig());
 * }</pre>
 *
 * <p>Thread-safe.
 */
public final class RecordFormats {

    private RecordFormats() {
    }

    /**
     * The format called {@code name}.
     *
     * @throws UnknownFormatException if no format on the class path has that name; the message lists those
     *     that do exist and where RAW and AVRO come from
     */
    public static RecordFormat forName(String name) {
        Objects.requireNonNull(name, "name");
        Map<String, RecordFormat> formats = available(RecordFormats.class.getClassLoader());
        RecordFormat format = formats.get(name.trim().toUpperCase(Locale.ROOT));
        if (format == null) {
            throw new UnknownFormatException("Unknown input format '" + name + "'; the formats on the class path are "
                    + String.join(", ", formats.keySet())
                    + " (RAW comes with io.kafkaml:kafkaml-raw, AVRO with io.kafkaml:kafkaml-avro)");
        }
        return format;
    }

    /** The formats on the class path, by upper-case name. */
    public static Map<String, RecordFormat> available() {
        return available(RecordFormats.class.getClassLoader());
    }

    private static Map<String, RecordFormat> available(ClassLoader loader) {
        Map<String, RecordFormat> formats = new TreeMap<>();
        ServiceLoader.load(RecordFormat.class, loader)
                .forEach(format -> formats.putIfAbsent(format.name().toUpperCase(Locale.ROOT), format));
        ClassLoader context = Thread.currentThread().getContextClassLoader();
        if (context != null && context != loader) {
            ServiceLoader.load(RecordFormat.class, context)
                    .forEach(format -> formats.putIfAbsent(format.name().toUpperCase(Locale.ROOT), format));
        }
        return formats;
    }
}
