package io.kafkaml.format.raw;

import io.kafkaml.format.FormatConfig;
import io.kafkaml.format.InvalidFormatConfigException;
import io.kafkaml.format.RecordDecodeException;
import io.kafkaml.format.RecordDecoder;
import io.kafkaml.format.RecordEncoder;
import io.kafkaml.format.RecordFormat;
import io.kafkaml.format.ShapedRecordDecoder;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;

/**
 * Kafka-ML's {@code RAW} record format: the value is the data and the key the label, each the bytes numpy's
 * {@code tobytes()} writes (C order; little-endian unless the type says otherwise, as {@code >f4} does).
 *
 * <table>
 * <caption>input_config</caption>
 * <tr><th>setting</th><th>meaning</th></tr>
 * <tr><td>{@code data_type}</td><td>the data's numpy dtype, in any spelling numpy writes ({@code float32}, {@code bool_},
 *     {@code <f4}, {@code >i8}, {@code |u1}; see {@link RawDtype#parse(String)}); required</td></tr>
 * <tr><td>{@code data_reshape}</td><td>the data's shape, space-separated ({@code "28 28"}); empty for a
 *     scalar</td></tr>
 * <tr><td>{@code label_type}</td><td>the label's element type; absent for data without labels</td></tr>
 * <tr><td>{@code label_reshape}</td><td>the label's shape; empty (default) for a scalar</td></tr>
 * </table>
 *
 * <p>A value or key whose length is not the shape's element count times the type's size is a decode error
 * that gives both lengths. A shape of more than {@link FormatConfig#MAX_ELEMENTS_PER_RECORD} elements is
 * rejected before anything is allocated.
 *
 * <p>Thread safety: stateless and thread-safe (see {@link io.kafkaml.format.RecordFormat}); the decoders and encoders
 * it creates are not. Lifecycle: found by {@link java.util.ServiceLoader}, no resources.
 */
public final class RawFormat implements RecordFormat {

    /** The format's name. */
    public static final String NAME = "RAW";

    private static final Set<String> KNOWN = Set.of("data_type", "label_type", "data_reshape", "label_reshape");

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public RecordDecoder newDecoder(Map<String, ?> inputConfig) {
        return new Layout(inputConfig).new Decoder();
    }

    @Override
    public RecordEncoder newEncoder(Map<String, ?> inputConfig) {
        return new Layout(inputConfig).new Encoder();
    }

    private static final class Layout {
        final RawDtype dataType;
        final long[] dataShape;
        final int dataCount;
        final RawDtype labelType;
        final long[] labelShape;
        final int labelCount;

        Layout(Map<String, ?> inputConfig) {
            FormatConfig config = FormatConfig.of(NAME, inputConfig, KNOWN);
            this.dataType = type(config, "data_type", config.requiredText("data_type"));
            this.dataShape = config.shape("data_reshape");
            this.dataCount = FormatConfig.elements(dataShape);
            this.labelType = config.text("label_type")
                    .map(name -> type(config, "label_type", name))
                    .orElse(null);
            this.labelShape = config.shape("label_reshape");
            this.labelCount = labelType == null ? 0 : FormatConfig.elements(labelShape);
            if ((long) dataCount * dataType.size() > Integer.MAX_VALUE - 8) {
                throw new InvalidFormatConfigException("RAW data_reshape " + Arrays.toString(dataShape) + " of "
                        + dataType + " needs more than 2 GiB per record; refusing to allocate it");
            }
        }

        private static RawDtype type(FormatConfig config, String key, String name) {
            try {
                return RawDtype.parse(name);
            } catch (IllegalArgumentException e) {
                throw new InvalidFormatConfigException("RAW input_config '" + key + "': " + e.getMessage());
            }
        }

        final class Decoder extends ShapedRecordDecoder {
            Decoder() {
                super(dataShape, labelType == null ? null : labelShape);
            }

            @Override
            public void decodeFeatures(byte[] key, byte[] value, float[] features, int offset) {
                check(value, dataType, dataCount, dataShape, "value");
                dataType.read(value, dataCount, features, offset);
            }

            @Override
            public void decodeLabels(byte[] key, byte[] value, float[] labels, int offset) {
                if (labelType == null) {
                    throw new RecordDecodeException(
                            "the RAW input_config declares no label_type, so records carry no label");
                }
                if (key == null) {
                    throw new RecordDecodeException("the record has no key, so no label");
                }
                check(key, labelType, labelCount, labelShape, "key (label)");
                labelType.read(key, labelCount, labels, offset);
            }

            private void check(byte[] bytes, RawDtype type, int count, long[] shape, String what) {
                if (bytes == null) {
                    throw new RecordDecodeException("the record has no " + what);
                }
                long expected = (long) count * type.size();
                if (bytes.length != expected) {
                    throw new RecordDecodeException("the " + what + " has " + bytes.length + " bytes, expected "
                            + expected + " (" + count + " × " + type + ", shape " + Arrays.toString(shape) + ")");
                }
            }
        }

        final class Encoder implements RecordEncoder {
            @Override
            public EncodedRecord encode(double[] features, double[] labels) {
                if (features.length != dataCount) {
                    throw new IllegalArgumentException("A RAW record of shape " + Arrays.toString(dataShape) + " has "
                            + dataCount + " elements, got " + features.length);
                }
                byte[] key = null;
                if (labels != null) {
                    if (labelType == null) {
                        throw new IllegalArgumentException("The RAW input_config declares no label_type");
                    }
                    if (labels.length != labelCount) {
                        throw new IllegalArgumentException("A RAW label of shape " + Arrays.toString(labelShape)
                                + " has " + labelCount + " elements, got " + labels.length);
                    }
                    key = labelType.write(labels);
                }
                return new EncodedRecord(key, dataType.write(features));
            }
        }
    }
}
