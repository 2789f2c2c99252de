package io.kafkaml.format;

import io.kafkaml.config.KafkaMlConfig;
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

    private RecordFormats() {}

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

    /**
     * A decoder that refuses records of more than {@code maxRecordBytes} bytes (key and value together) before
     * {@code decoder} parses them, with a {@link RecordDecodeException} naming
     * {@value io.kafkaml.config.KafkaMlConfig#MAX_RECORD_BYTES_CONFIG} and the limit. Shapes and counts are those
     * of {@code decoder}; as thread-safe as it.
     *
     * @param maxRecordBytes at least 1
     */
    public static RecordDecoder bounded(RecordDecoder decoder, long maxRecordBytes) {
        Objects.requireNonNull(decoder, "decoder");
        if (maxRecordBytes < 1) {
            throw new IllegalArgumentException("maxRecordBytes must be at least 1, not " + maxRecordBytes);
        }
        return new RecordDecoder() {
            @Override
            public int featureCount() {
                return decoder.featureCount();
            }

            @Override
            public long[] featureShape() {
                return decoder.featureShape();
            }

            @Override
            public int labelCount() {
                return decoder.labelCount();
            }

            @Override
            public long[] labelShape() {
                return decoder.labelShape();
            }

            @Override
            public void decodeFeatures(byte[] key, byte[] value, float[] features, int offset) {
                check(key, value);
                decoder.decodeFeatures(key, value, features, offset);
            }

            @Override
            public void decodeLabels(byte[] key, byte[] value, float[] labels, int offset) {
                check(key, value);
                decoder.decodeLabels(key, value, labels, offset);
            }

            private void check(byte[] key, byte[] value) {
                long size = (key == null ? 0L : key.length) + (value == null ? 0L : value.length);
                if (size > maxRecordBytes) {
                    throw new RecordDecodeException("the record holds " + size + " bytes, over the limit of "
                            + maxRecordBytes + " bytes per record (" + KafkaMlConfig.MAX_RECORD_BYTES_CONFIG
                            + "): raise " + KafkaMlConfig.MAX_RECORD_BYTES_CONFIG + " if such records are meant");
                }
            }
        };
    }
}
