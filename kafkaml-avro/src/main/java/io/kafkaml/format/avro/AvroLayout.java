package io.kafkaml.format.avro;

import io.kafkaml.format.FormatConfig;
import io.kafkaml.format.InvalidFormatConfigException;
import io.kafkaml.format.RecordDecodeException;
import java.io.EOFException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.Encoder;

/**
 * How one Avro schema flattens into a row of floats, and back: a tree of nodes built once from the schema,
 * read straight from the binary encoding into the row (no {@code GenericRecord} per record).
 */
final class AvroLayout {

    private final Node root;
    private final String what;
    private BinaryDecoder decoder;

    private AvroLayout(Node root, String what) {
        this.root = root;
        this.what = what;
    }

    /**
     * Plans the flattening of {@code schema}.
     *
     * @param what "value" or "key (label)", for messages
     * @throws InvalidFormatConfigException for types that cannot be features
     */
    static AvroLayout of(Schema schema, String what, String setting, FormatConfig config) {
        Map<String, Object> lengths = config.map("array_lengths");
        Map<String, Object> defaults = config.map("null_defaults");
        Float nullDefault = config.number("null_default").map(Double::floatValue).orElse(null);
        Planner planner = new Planner(setting, lengths, defaults, nullDefault);
        return new AvroLayout(planner.plan(schema, "", null), what);
    }

    int width() {
        return root.width();
    }

    void read(byte[] bytes, float[] row, int offset) {
        if (bytes == null) {
            throw new RecordDecodeException("the record has no " + what);
        }
        decoder = DecoderFactory.get().binaryDecoder(bytes, decoder);
        int[] position = {offset};
        try {
            root.read(decoder, row, position);
            if (!decoder.isEnd()) {
                throw new RecordDecodeException("the " + what + " has bytes left over after its Avro " + root.describe()
                        + " (" + bytes.length + " bytes in all): written with another schema?");
            }
        } catch (EOFException e) {
            throw new RecordDecodeException("the " + what + " ends early (" + bytes.length + " bytes) while reading its "
                    + "Avro " + root.describe() + ": truncated, or written with another schema?", e);
        } catch (IOException | AvroRuntimeException e) {
            throw new RecordDecodeException("the " + what + " is not valid Avro for its schema: " + e.getMessage(), e);
        }
    }

    void write(Encoder out, double[] values) throws IOException {
        if (values.length != root.width()) {
            throw new IllegalArgumentException("The Avro " + what + " schema flattens to " + root.width()
                    + " values, got " + values.length);
        }
        root.write(out, values, new int[] {0});
    }

    /** Builds nodes from a schema, checking that every part can be a number. */
    private static final class Planner {
        private final String setting;
        private final Map<String, Object> lengths;
        private final Map<String, Object> defaults;
        private final Float nullDefault;

        Planner(String setting, Map<String, Object> lengths, Map<String, Object> defaults, Float nullDefault) {
            this.setting = setting;
            this.lengths = lengths;
            this.defaults = defaults;
            this.nullDefault = nullDefault;
        }

        Node plan(Schema schema, String path, Schema.Field field) {
            String name = path.isEmpty() ? "(root)" : path;
            switch (schema.getType()) {
                case INT, LONG, FLOAT, DOUBLE, BOOLEAN:
                    return new Primitive(schema.getType(), name);
                case ENUM:
                    return new EnumNode(schema.getEnumSymbols().size(), name);
                case RECORD: {
                    List<Node> children = new ArrayList<>();
                    for (Schema.Field child : schema.getFields()) {
                        children.add(plan(child.schema(), path.isEmpty() ? child.name() : path + "." + child.name(), child));
                    }
                    return new RecordNode(children, schema.getName());
                }
                case ARRAY: {
                    int length = arrayLength(schema, path, field);
                    return new ArrayNode(plan(schema.getElementType(), path + "[]", null), length, name);
                }
                case UNION: {
                    List<Schema> types = schema.getTypes();
                    int nullIndex = -1;
                    for (int i = 0; i < types.size(); i++) {
                        if (types.get(i).getType() == Schema.Type.NULL) {
                            nullIndex = i;
                        }
                    }
                    if (types.size() != 2 || nullIndex < 0) {
                        throw unsupported(name, "a union of " + types + "; only nullable unions [\"null\", T] are supported");
                    }
                    int valueIndex = 1 - nullIndex;
                    Node value = plan(types.get(valueIndex), path, field);
                    return new Nullable(nullIndex, valueIndex, value, defaultFor(path, field), name);
                }
                default:
                    throw unsupported(name, "of type " + schema.getType().getName());
            }
        }

        private int arrayLength(Schema schema, String path, Schema.Field field) {
            Object declared = lengths.get(path);
            if (declared == null) {
                declared = schema.getObjectProp("length");
            }
            if (declared == null && field != null) {
                declared = field.getObjectProp("length");
            }
            if (declared == null) {
                throw new InvalidFormatConfigException("AVRO " + setting + ": array '" + path + "' has no declared "
                        + "length; features need a fixed count: add \"length\": N to the array schema, or "
                        + "\"array_lengths\": {\"" + path + "\": N} to input_config");
            }
            try {
                int length = Integer.parseInt(declared.toString());
                if (length < 1) {
                    throw new NumberFormatException();
                }
                return length;
            } catch (NumberFormatException e) {
                throw new InvalidFormatConfigException("AVRO " + setting + ": array '" + path + "' length " + declared
                        + " is not a positive integer");
            }
        }

        private Float defaultFor(String path, Schema.Field field) {
            Object configured = defaults.get(path);
            if (configured instanceof Number number) {
                return number.floatValue();
            }
            if (configured != null) {
                throw new InvalidFormatConfigException("AVRO input_config null_defaults['" + path + "'] = " + configured
                        + " is not a number");
            }
            if (nullDefault != null) {
                return nullDefault;
            }
            if (field != null && field.hasDefaultValue() && field.defaultVal() instanceof Number number) {
                return number.floatValue();
            }
            return null;
        }

        private InvalidFormatConfigException unsupported(String name, String problem) {
            return new InvalidFormatConfigException("AVRO " + setting + ": field '" + name + "' is " + problem
                    + "; features and labels can be int, long, float, double, boolean, enum (its index), records of "
                    + "these, arrays of these with a declared length, and nullable unions of these");
        }
    }

    private interface Node {
        int width();

        void read(BinaryDecoder in, float[] row, int[] position) throws IOException;

        void write(Encoder out, double[] values, int[] position) throws IOException;

        String describe();
    }

    private record Primitive(Schema.Type type, String name) implements Node {
        @Override
        public int width() {
            return 1;
        }

        @Override
        public void read(BinaryDecoder in, float[] row, int[] position) throws IOException {
            row[position[0]++] = switch (type) {
                case INT -> in.readInt();
                case LONG -> in.readLong();
                case FLOAT -> in.readFloat();
                case DOUBLE -> (float) in.readDouble();
                case BOOLEAN -> in.readBoolean() ? 1f : 0f;
                default -> throw new IllegalStateException(type.toString());
            };
        }

        @Override
        public void write(Encoder out, double[] values, int[] position) throws IOException {
            double v = values[position[0]++];
            switch (type) {
                case INT -> out.writeInt((int) integral(v, Integer.MIN_VALUE, Integer.MAX_VALUE));
                case LONG -> out.writeLong(integral(v, Long.MIN_VALUE, Long.MAX_VALUE));
                case FLOAT -> out.writeFloat((float) v);
                case DOUBLE -> out.writeDouble(v);
                case BOOLEAN -> out.writeBoolean(v != 0);
                default -> throw new IllegalStateException(type.toString());
            }
        }

        private long integral(double v, long min, long max) {
            if (v != Math.rint(v) || v < min || v > max) {
                throw new IllegalArgumentException("Field '" + name + "' is an Avro " + type.getName() + "; " + v
                        + " does not fit it");
            }
            return (long) v;
        }

        @Override
        public String describe() {
            return type.getName();
        }
    }

    private record EnumNode(int symbols, String name) implements Node {
        @Override
        public int width() {
            return 1;
        }

        @Override
        public void read(BinaryDecoder in, float[] row, int[] position) throws IOException {
            int index = in.readEnum();
            if (index < 0 || index >= symbols) {
                throw new RecordDecodeException("enum field '" + name + "' has index " + index + " but only " + symbols
                        + " symbols");
            }
            row[position[0]++] = index;
        }

        @Override
        public void write(Encoder out, double[] values, int[] position) throws IOException {
            double v = values[position[0]++];
            if (v != Math.rint(v) || v < 0 || v >= symbols) {
                throw new IllegalArgumentException("Enum field '" + name + "' takes a symbol index in [0, " + symbols
                        + "), got " + v);
            }
            out.writeEnum((int) v);
        }

        @Override
        public String describe() {
            return "enum";
        }
    }

    private record RecordNode(List<Node> children, String name) implements Node {
        @Override
        public int width() {
            return children.stream().mapToInt(Node::width).sum();
        }

        @Override
        public void read(BinaryDecoder in, float[] row, int[] position) throws IOException {
            for (Node child : children) {
                child.read(in, row, position);
            }
        }

        @Override
        public void write(Encoder out, double[] values, int[] position) throws IOException {
            for (Node child : children) {
                child.write(out, values, position);
            }
        }

        @Override
        public String describe() {
            return "record " + name;
        }
    }

    private record ArrayNode(Node item, int length, String name) implements Node {
        @Override
        public int width() {
            return item.width() * length;
        }

        @Override
        public void read(BinaryDecoder in, float[] row, int[] position) throws IOException {
            long count = 0;
            for (long block = in.readArrayStart(); block != 0; block = in.arrayNext()) {
                if (count + block > length) {
                    throw new RecordDecodeException("array '" + name + "' has more than its declared " + length
                            + " elements");
                }
                for (long i = 0; i < block; i++) {
                    item.read(in, row, position);
                }
                count += block;
            }
            if (count != length) {
                throw new RecordDecodeException("array '" + name + "' has " + count + " elements, declared " + length);
            }
        }

        @Override
        public void write(Encoder out, double[] values, int[] position) throws IOException {
            out.writeArrayStart();
            out.setItemCount(length);
            for (int i = 0; i < length; i++) {
                out.startItem();
                item.write(out, values, position);
            }
            out.writeArrayEnd();
        }

        @Override
        public String describe() {
            return "array";
        }
    }

    private record Nullable(int nullIndex, int valueIndex, Node value, Float defaultValue, String name) implements Node {
        @Override
        public int width() {
            return value.width();
        }

        @Override
        public void read(BinaryDecoder in, float[] row, int[] position) throws IOException {
            int branch = in.readIndex();
            if (branch == valueIndex) {
                value.read(in, row, position);
            } else if (branch == nullIndex) {
                if (defaultValue == null) {
                    throw new RecordDecodeException("field '" + name + "' is null and no default is configured "
                            + "(set input_config null_defaults {\"" + name + "\": N} or null_default)");
                }
                for (int i = 0; i < value.width(); i++) {
                    row[position[0]++] = defaultValue;
                }
            } else {
                throw new RecordDecodeException("field '" + name + "' has union branch " + branch + " of 2");
            }
        }

        @Override
        public void write(Encoder out, double[] values, int[] position) throws IOException {
            out.writeIndex(valueIndex);
            value.write(out, values, position);
        }

        @Override
        public String describe() {
            return "union";
        }
    }
}
