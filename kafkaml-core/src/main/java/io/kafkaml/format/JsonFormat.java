package io.kafkaml.format;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The {@code JSON} record format. The value is either a JSON array of numbers or a JSON object whose listed
 * fields are the features; the label is the key (a JSON number or array) or a named field of the value.
 *
 * <p>Input forms a decoder accepts for one example (training data and inference inputs alike):
 * <ul>
 * <li>with {@code data_fields}: the object ({@code {"gender": 1, "age": 63, "smoking": 2}}, other fields
 *     ignored), or an array of the field values in the listed order — flat ({@code [1.0, 63.0, 2.0]}) or as the
 *     batch of one that Kafka-ML's clients send to Keras' {@code predict} ({@code [[1.0, 63.0, 2.0]]});</li>
 * <li>with {@code data_reshape}: an array flat, in that shape ({@code [[1, 2], [3, 4]]} for {@code "2 2"}), or
 *     either with extra dimensions of size 1 (a batch of one, a trailing channel).</li>
 * </ul>
 * Refused with a {@link RecordDecodeException} saying why (the caller adds topic, partition and offset, and a
 * serving replica sends the record to its dead-letter topic): the wrong number of values (a batch of several
 * examples in one record is named as such), ragged arrays, and a nesting of the right count in another shape
 * ({@code [[1, 2], [3, 4]]} for {@code data_reshape "4"}), which does not say how its numbers map onto the
 * features.
 *
 * <table>
 * <caption>input_config</caption>
 * <tr><th>setting</th><th>meaning</th></tr>
 * <tr><td>{@code data_fields}</td><td>names of the value object's feature fields, in feature order (a list, or
 *     a comma-separated string); without it the value is an array</td></tr>
 * <tr><td>{@code data_reshape}</td><td>the shape of an array value ({@code "784"}, {@code "28 28"}); required
 *     without {@code data_fields}</td></tr>
 * <tr><td>{@code label_field}</td><td>the value object's field that holds the label; without it the label is
 *     the record key</td></tr>
 * <tr><td>{@code label_reshape}</td><td>the label's shape; empty (default) for a scalar</td></tr>
 * </table>
 *
 * <p>Numbers and booleans ({@code true} = 1) are features; {@code null}, strings and missing fields are
 * decode errors.
 *
 * <p>Thread safety: stateless and thread-safe (see {@link RecordFormat}); the decoders and encoders it creates are not.
 * Lifecycle: found by {@link java.util.ServiceLoader}, no resources.
 */
public final class JsonFormat implements RecordFormat {

    /** The format's name. */
    public static final String NAME = "JSON";

    private static final Set<String> KNOWN = Set.of("data_fields", "data_reshape", "label_field", "label_reshape");
    private static final JsonFactory FACTORY = new JsonFactory();

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

    /** The layout an input_config describes. */
    private static final class Layout {
        final List<String> dataFields;
        final Map<String, Integer> fieldIndex = new HashMap<>();
        final long[] featureShape;
        final int featureCount;
        final String labelField;
        final long[] labelShape;
        final int labelCount;

        Layout(Map<String, ?> inputConfig) {
            FormatConfig config = FormatConfig.of(NAME, inputConfig, KNOWN);
            this.dataFields = config.textList("data_fields").orElse(null);
            if (dataFields != null) {
                if (dataFields.isEmpty()) {
                    throw config.invalid("data_fields", inputConfig.get("data_fields"), "at least one field name");
                }
                for (int i = 0; i < dataFields.size(); i++) {
                    if (fieldIndex.put(dataFields.get(i), i) != null) {
                        throw config.invalid("data_fields", dataFields, "distinct field names");
                    }
                }
                this.featureShape = new long[] {dataFields.size()};
            } else {
                if (!config.has("data_reshape")) {
                    throw new InvalidFormatConfigException("JSON input_config needs 'data_fields' (the value is an "
                            + "object) or 'data_reshape' (the value is an array of that shape)");
                }
                this.featureShape = config.shape("data_reshape");
            }
            this.featureCount = FormatConfig.elements(featureShape);
            this.labelField = config.text("label_field").orElse(null);
            if (labelField != null && dataFields == null) {
                throw config.invalid(
                        "label_field",
                        labelField,
                        "no label field when the value is an array "
                                + "(the label is then the key); set data_fields to read an object");
            }
            if (labelField != null && fieldIndex.containsKey(labelField)) {
                throw config.invalid("label_field", labelField, "a field that is not also a feature");
            }
            this.labelShape = config.shape("label_reshape");
            this.labelCount = FormatConfig.elements(labelShape);
        }

        final class Decoder extends ShapedRecordDecoder {
            private final boolean[] seen = dataFields == null ? null : new boolean[dataFields.size()];

            Decoder() {
                super(featureShape, labelShape);
            }

            @Override
            public void decodeFeatures(byte[] key, byte[] value, float[] features, int offset) {
                if (value == null) {
                    throw new RecordDecodeException("the record has no value");
                }
                try (JsonParser parser = FACTORY.createParser(value)) {
                    JsonToken first = parser.nextToken();
                    if (first == JsonToken.START_ARRAY) {
                        readFeatureArray(parser, features, offset);
                    } else if (dataFields != null) {
                        readObjectFields(parser, first, features, offset);
                    } else {
                        throw new RecordDecodeException(
                                "the value must be a JSON array of " + featureCount + " numbers, starts with " + first);
                    }
                    if (parser.nextToken() != null) {
                        throw new RecordDecodeException("the value has content after its JSON "
                                + (first == JsonToken.START_ARRAY ? "array" : "object"));
                    }
                } catch (IOException e) {
                    throw new RecordDecodeException("the value is not valid JSON: " + describe(e), e);
                }
            }

            /**
             * An array value: the features in order (for {@code data_fields}, in the listed order), flat, in the
             * {@code data_reshape} shape, or either with extra dimensions of size 1 (a batch of one, as Keras'
             * {@code predict} takes it: {@code [[1.0, 63.0, 2.0]]}; a trailing channel). Any other nesting of the
             * same numbers is ambiguous and refused.
             */
            private void readFeatureArray(JsonParser parser, float[] features, int offset) throws IOException {
                int[] count = {0};
                List<Long> shape = readShaped(parser, features, offset, featureCount, "the value", count);
                String expected = dataFields != null
                        ? featureCount + " numbers (the fields " + dataFields + " in " + "that order)"
                        : featureCount + " numbers (data_reshape " + Arrays.toString(featureShape) + ")";
                if (count[0] != featureCount) {
                    String batch = shape.size() > 1 && shape.get(0) > 1 && count[0] == shape.get(0) * featureCount
                            ? "; it looks like a batch of " + shape.get(0) + " examples: send one example per record"
                            : "";
                    throw new RecordDecodeException("the value holds " + count[0] + " numbers in an array of shape "
                            + shape + ", expected " + expected + batch);
                }
                List<Long> squeezed = squeeze(shape);
                if (squeezed.size() > 1
                        && !squeezed.equals(
                                squeeze(Arrays.stream(featureShape).boxed().toList()))) {
                    throw new RecordDecodeException("the value is an array of shape " + shape + ", which does not say "
                            + "how its numbers map onto " + expected + "; send them flat, in that shape, or as a "
                            + "batch of one");
                }
            }

            private void readObjectFields(JsonParser parser, JsonToken first, float[] features, int offset)
                    throws IOException {
                if (first != JsonToken.START_OBJECT) {
                    throw new RecordDecodeException(
                            "the value must be a JSON object with fields " + dataFields + ", starts with " + first);
                }
                Arrays.fill(seen, false);
                int found = 0;
                while (parser.nextToken() == JsonToken.FIELD_NAME) {
                    String name = parser.currentName();
                    JsonToken token = parser.nextToken();
                    Integer index = fieldIndex.get(name);
                    if (index == null) {
                        parser.skipChildren();
                        continue;
                    }
                    features[offset + index] = scalar(parser, token, "field '" + name + "'");
                    if (!seen[index]) {
                        seen[index] = true;
                        found++;
                    }
                }
                if (found != dataFields.size()) {
                    StringBuilder missing = new StringBuilder();
                    for (int i = 0; i < seen.length; i++) {
                        if (!seen[i]) {
                            missing.append(missing.length() == 0 ? "" : ", ").append(dataFields.get(i));
                        }
                    }
                    throw new RecordDecodeException("the value object lacks feature field(s) " + missing);
                }
            }

            @Override
            public void decodeLabels(byte[] key, byte[] value, float[] labels, int offset) {
                try {
                    if (labelField == null) {
                        if (key == null) {
                            throw new RecordDecodeException("the record has no key, so no label");
                        }
                        try (JsonParser parser = FACTORY.createParser(key)) {
                            readLabel(parser, parser.nextToken(), labels, offset, "the key");
                        }
                        return;
                    }
                    if (value == null) {
                        throw new RecordDecodeException("the record has no value");
                    }
                    try (JsonParser parser = FACTORY.createParser(value)) {
                        if (parser.nextToken() != JsonToken.START_OBJECT) {
                            throw new RecordDecodeException(
                                    "the value must be a JSON object with label field '" + labelField + "'");
                        }
                        while (parser.nextToken() == JsonToken.FIELD_NAME) {
                            String name = parser.currentName();
                            JsonToken token = parser.nextToken();
                            if (name.equals(labelField)) {
                                readLabel(parser, token, labels, offset, "label field '" + labelField + "'");
                                return;
                            }
                            parser.skipChildren();
                        }
                        throw new RecordDecodeException("the value object has no label field '" + labelField + "'");
                    }
                } catch (IOException e) {
                    throw new RecordDecodeException("the label is not valid JSON: " + describe(e), e);
                }
            }

            private void readLabel(JsonParser parser, JsonToken token, float[] labels, int offset, String where)
                    throws IOException {
                if (token == JsonToken.START_ARRAY) {
                    int count = readArray(parser, labels, offset, labelCount, where);
                    if (count != labelCount) {
                        throw new RecordDecodeException(where + " holds " + count + " numbers, expected " + labelCount);
                    }
                } else if (labelCount == 1) {
                    labels[offset] = scalar(parser, token, where);
                } else {
                    throw new RecordDecodeException(where + " must be an array of " + labelCount + " numbers");
                }
            }
        }

        final class Encoder implements RecordEncoder {
            @Override
            public EncodedRecord encode(double[] features, double[] labels) {
                if (features.length != featureCount) {
                    throw new IllegalArgumentException("A JSON record of this configuration has " + featureCount
                            + " features, got " + features.length);
                }
                if (labels != null && labels.length != labelCount) {
                    throw new IllegalArgumentException(
                            "A JSON label of this configuration has " + labelCount + " values, got " + labels.length);
                }
                byte[] value = write(gen -> {
                    if (dataFields == null) {
                        writeNumbers(gen, features);
                    } else {
                        gen.writeStartObject();
                        for (int i = 0; i < features.length; i++) {
                            gen.writeFieldName(dataFields.get(i));
                            writeNumber(gen, features[i]);
                        }
                        if (labelField != null && labels != null) {
                            gen.writeFieldName(labelField);
                            writeLabel(gen, labels);
                        }
                        gen.writeEndObject();
                    }
                });
                byte[] key = labelField != null || labels == null ? null : write(gen -> writeLabel(gen, labels));
                return new EncodedRecord(key, value);
            }

            private void writeLabel(JsonGenerator gen, double[] labels) throws IOException {
                if (labelShape.length == 0) {
                    writeNumber(gen, labels[0]);
                } else {
                    writeNumbers(gen, labels);
                }
            }
        }
    }

    /**
     * Reads a possibly nested array after its START_ARRAY into {@code target} (numbers past {@code capacity} are
     * counted, not stored) and returns its shape.
     *
     * @throws RecordDecodeException if the array is ragged or mixes numbers and arrays at one level
     */
    private static List<Long> readShaped(
            JsonParser parser, float[] target, int offset, int capacity, String where, int[] count) throws IOException {
        List<Long> inner = null;
        long length = 0;
        boolean numbers = false;
        JsonToken token;
        while ((token = parser.nextToken()) != JsonToken.END_ARRAY) {
            if (token == null) {
                throw new RecordDecodeException(where + " ends inside an array");
            }
            if (token == JsonToken.START_ARRAY) {
                List<Long> shape = readShaped(parser, target, offset, capacity, where, count);
                if (numbers || (inner != null && !inner.equals(shape))) {
                    throw new RecordDecodeException(where + " is a ragged array (elements of shapes " + inner + " and "
                            + (numbers ? "[]" : shape) + "), not a tensor");
                }
                inner = shape;
            } else {
                if (inner != null) {
                    throw new RecordDecodeException(where + " is a ragged array (numbers beside arrays), not a tensor");
                }
                numbers = true;
                float value = scalar(parser, token, where + " element " + count[0]);
                if (count[0] < capacity) {
                    target[offset + count[0]] = value;
                }
                count[0]++;
            }
            length++;
        }
        List<Long> shape = new java.util.ArrayList<>();
        shape.add(length);
        if (inner != null) {
            shape.addAll(inner);
        }
        return shape;
    }

    /** The shape without its dimensions of size 1, as numpy's {@code squeeze}. */
    private static List<Long> squeeze(List<Long> shape) {
        return shape.stream().filter(d -> d != 1).toList();
    }

    /** Reads numbers, flattening nested arrays, after a START_ARRAY; returns how many there were. */
    private static int readArray(JsonParser parser, float[] target, int offset, int capacity, String where)
            throws IOException {
        int depth = 1;
        int count = 0;
        while (depth > 0) {
            JsonToken token = parser.nextToken();
            if (token == null) {
                throw new RecordDecodeException(where + " ends inside an array");
            }
            if (token == JsonToken.START_ARRAY) {
                depth++;
            } else if (token == JsonToken.END_ARRAY) {
                depth--;
            } else {
                float value = scalar(parser, token, where + " element " + count);
                if (count < capacity) {
                    target[offset + count] = value;
                }
                count++;
            }
        }
        return count;
    }

    private static float scalar(JsonParser parser, JsonToken token, String where) throws IOException {
        if (token == JsonToken.VALUE_NUMBER_FLOAT || token == JsonToken.VALUE_NUMBER_INT) {
            return parser.getFloatValue();
        }
        if (token == JsonToken.VALUE_TRUE) {
            return 1f;
        }
        if (token == JsonToken.VALUE_FALSE) {
            return 0f;
        }
        throw new RecordDecodeException(where + " must be a number or a boolean, was "
                + (token == JsonToken.VALUE_NULL
                        ? "null"
                        : token == JsonToken.VALUE_STRING ? "the string \"" + parser.getText() + "\"" : token));
    }

    @FunctionalInterface
    private interface Writer {
        void write(JsonGenerator gen) throws IOException;
    }

    private static byte[] write(Writer writer) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(64);
        try (JsonGenerator gen = FACTORY.createGenerator(out)) {
            writer.write(gen);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static void writeNumbers(JsonGenerator gen, double[] values) throws IOException {
        gen.writeStartArray();
        for (double value : values) {
            writeNumber(gen, value);
        }
        gen.writeEndArray();
    }

    private static void writeNumber(JsonGenerator gen, double value) throws IOException {
        if (value == Math.rint(value) && Math.abs(value) < 1e15) {
            gen.writeNumber((long) value);
        } else {
            gen.writeNumber(value);
        }
    }

    /**
     * A parser error in one line: Jackson's message without its source excerpt, plus the line and column of the
     * error when the parser knows them.
     */
    static String describe(java.io.IOException e) {
        if (e instanceof com.fasterxml.jackson.core.JsonProcessingException json) {
            com.fasterxml.jackson.core.JsonLocation at = json.getLocation();
            String message = String.valueOf(json.getOriginalMessage())
                    .replaceAll("\\s+", " ")
                    .trim();
            return at == null || at.getLineNr() < 1
                    ? message
                    : message + " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
        }
        return String.valueOf(e.getMessage()).replaceAll("\\s+", " ").trim();
    }
}
