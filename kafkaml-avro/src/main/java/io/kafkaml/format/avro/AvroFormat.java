package io.kafkaml.format.avro;

import io.kafkaml.format.FormatConfig;
import io.kafkaml.format.InvalidFormatConfigException;
import io.kafkaml.format.RecordDecodeException;
import io.kafkaml.format.RecordDecoder;
import io.kafkaml.format.RecordEncoder;
import io.kafkaml.format.RecordFormat;
import io.kafkaml.format.ShapedRecordDecoder;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Set;
import org.apache.avro.Schema;
import org.apache.avro.SchemaParseException;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;

/**
 * Kafka-ML's {@code AVRO} record format: the value is the data record and the key the label record, each in
 * schemaless Avro binary (no container, no schema id), written with the schemas of {@code input_config}.
 *
 * <table>
 * <caption>input_config</caption>
 * <tr><th>setting</th><th>meaning</th></tr>
 * <tr><td>{@code data_scheme}</td><td>the data's Avro schema, as JSON text; required</td></tr>
 * <tr><td>{@code label_scheme}</td><td>the label's Avro schema; absent for data without labels</td></tr>
 * <tr><td>{@code null_defaults}</td><td>per field path ({@code "sensor.temperature"}), the number a null
 *     takes</td></tr>
 * <tr><td>{@code null_default}</td><td>the number any other null takes</td></tr>
 * <tr><td>{@code array_lengths}</td><td>per array field path, its fixed length (instead of a {@code "length"}
 *     property on the array schema)</td></tr>
 * </table>
 *
 * <p><b>Flattening</b>: fields become features in schema order, depth first: {@code int}, {@code long},
 * {@code float}, {@code double} as their value; {@code boolean} as 0 or 1; an {@code enum} as its symbol's
 * index; a nested record as its fields in order; an array as its elements in order, which requires a fixed
 * length (the array schema's {@code "length"} property, or {@code array_lengths}); a nullable union
 * {@code ["null", T]} as {@code T}. A null is a decode error unless a default is configured: from
 * {@code null_defaults}, else {@code null_default}, else the field's own numeric Avro default. Strings, bytes,
 * maps, fixed and other unions cannot be features and are rejected when the decoder is made.
 *
 * <p>Thread safety: stateless and thread-safe (see {@link io.kafkaml.format.RecordFormat}); the decoders and encoders
 * it creates are not. Lifecycle: found by {@link java.util.ServiceLoader}, no resources.
 */
public final class AvroFormat implements RecordFormat {

    /** The format's name. */
    public static final String NAME = "AVRO";

    private static final Set<String> KNOWN =
            Set.of("data_scheme", "label_scheme", "null_defaults", "null_default", "array_lengths");

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public RecordDecoder newDecoder(Map<String, ?> inputConfig) {
        Layouts layouts = new Layouts(inputConfig);
        long[] labelShape = layouts.label == null
                ? null
                : layouts.label.width() == 1 ? new long[0] : new long[] {layouts.label.width()};
        return new ShapedRecordDecoder(new long[] {layouts.data.width()}, labelShape) {
            @Override
            public void decodeFeatures(byte[] key, byte[] value, float[] features, int offset) {
                layouts.data.read(value, features, offset);
            }

            @Override
            public void decodeLabels(byte[] key, byte[] value, float[] labels, int offset) {
                if (layouts.label == null) {
                    throw new RecordDecodeException(
                            "the AVRO input_config declares no label_scheme, so records carry " + "no label");
                }
                if (key == null) {
                    throw new RecordDecodeException("the record has no key, so no label");
                }
                layouts.label.read(key, labels, offset);
            }
        };
    }

    @Override
    public RecordEncoder newEncoder(Map<String, ?> inputConfig) {
        Layouts layouts = new Layouts(inputConfig);
        return new RecordEncoder() {
            private final ByteArrayOutputStream buffer = new ByteArrayOutputStream(128);
            private BinaryEncoder encoder;

            @Override
            public EncodedRecord encode(double[] features, double[] labels) {
                byte[] value = write(layouts.data, features);
                byte[] key = null;
                if (labels != null) {
                    if (layouts.label == null) {
                        throw new IllegalArgumentException("The AVRO input_config declares no label_scheme");
                    }
                    key = write(layouts.label, labels);
                }
                return new EncodedRecord(key, value);
            }

            private byte[] write(AvroLayout layout, double[] values) {
                buffer.reset();
                encoder = EncoderFactory.get().binaryEncoder(buffer, encoder);
                try {
                    layout.write(encoder, values);
                    encoder.flush();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                return buffer.toByteArray();
            }
        };
    }

    /** Parses a schema from an input_config setting. */
    static Schema parseSchema(FormatConfig config, String key) {
        String text = config.requiredText(key);
        try {
            return new Schema.Parser().parse(text);
        } catch (SchemaParseException | NullPointerException | IllegalArgumentException e) {
            // Avro 1.12 reports some unknown type names as a NullPointerException ("Unknown schema: ...")
            throw new InvalidFormatConfigException(
                    "AVRO input_config '" + key + "' is not a valid Avro schema: " + e.getMessage(), e);
        }
    }

    private static final class Layouts {
        final AvroLayout data;
        final AvroLayout label;

        Layouts(Map<String, ?> inputConfig) {
            FormatConfig config = FormatConfig.of(NAME, inputConfig, KNOWN);
            this.data = AvroLayout.of(parseSchema(config, "data_scheme"), "value", "data_scheme", config);
            this.label = config.has("label_scheme")
                    ? AvroLayout.of(parseSchema(config, "label_scheme"), "key (label)", "label_scheme", config)
                    : null;
            if ((long) data.width() > FormatConfig.MAX_ELEMENTS_PER_RECORD) {
                throw new InvalidFormatConfigException("AVRO data_scheme flattens to " + data.width()
                        + " features, more than " + FormatConfig.MAX_ELEMENTS_PER_RECORD + "; refusing to allocate it");
            }
        }
    }
}
