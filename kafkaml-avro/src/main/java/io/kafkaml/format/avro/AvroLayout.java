package io.kafkaml.format.avro;

import io.kafkaml.format.FormatConfig;
import io.kafkaml.format.InvalidFormatConfigException;
import io.kafkaml.format.RecordDecodeException;
import java.io.EOFException;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.LogicalType;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.Encoder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How one Avro schema flattens into a row of floats, and back: a tree of nodes built once from the schema,
 * read straight from the binary encoding into the row (no {@code GenericRecord} per record).
 *
 * <p>Logical types are mapped explicitly: {@code decimal} (bytes or fixed) to its value as the nearest double
 * ({@code unscaled × 10^-scale}), {@code date} to days since 1970-01-01, {@code time-millis}/{@code time-micros}
 * to units after midnight, {@code timestamp-*} and {@code local-timestamp-*} to units (millis, micros, nanos)
 * since 1970-01-01 as a double. Every feature then becomes float32 (about 7 significant digits: a decimal with
 * more, or a timestamp, loses precision, and a warning says so when the layout is built). {@code uuid},
 * {@code duration} and {@code big-decimal} are refused naming the type.
 */
final class AvroLayout {

    private static final Logger log = LoggerFactory.getLogger(AvroLayout.class);
    /** Significant decimal digits a float32 keeps (24-bit significand: log10(2^24) ≈ 7.2). */
    private static final int FLOAT_DIGITS = 7;

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
        Float nullDefault =
                config.number("null_default").map(Double::floatValue).orElse(null);
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
            throw new RecordDecodeException(
                    "the " + what + " ends early (" + bytes.length + " bytes) while reading its " + "Avro "
                            + root.describe() + ": truncated, or written with another schema?",
                    e);
        } catch (IOException | AvroRuntimeException e) {
            throw new RecordDecodeException("the " + what + " is not valid Avro for its schema: " + e.getMessage(), e);
        } catch (UnsupportedOperationException e) {
            // Avro's SystemLimitException checks: a block count or length beyond what a Java array holds
            throw new RecordDecodeException(
                    "the " + what + " is not valid Avro for its schema (" + bytes.length + " bytes): " + e.getMessage(),
                    e);
        }
    }

    void write(Encoder out, double[] values) throws IOException {
        if (values.length != root.width()) {
            throw new IllegalArgumentException(
                    "The Avro " + what + " schema flattens to " + root.width() + " values, got " + values.length);
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
            Node logical = planLogical(schema, name);
            if (logical != null) {
                return logical;
            }
            switch (schema.getType()) {
                case INT, LONG, FLOAT, DOUBLE, BOOLEAN:
                    return new Primitive(schema.getType(), name);
                case ENUM:
                    return new EnumNode(schema.getEnumSymbols().size(), name);
                case RECORD: {
                    List<Node> children = new ArrayList<>();
                    for (Schema.Field child : schema.getFields()) {
                        children.add(
                                plan(child.schema(), path.isEmpty() ? child.name() : path + "." + child.name(), child));
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
                        throw unsupported(
                                name, "a union of " + types + "; only nullable unions [\"null\", T] are supported");
                    }
                    int valueIndex = 1 - nullIndex;
                    Node value = plan(types.get(valueIndex), path, field);
                    return new Nullable(nullIndex, valueIndex, value, defaultFor(path, field), name);
                }
                default:
                    throw unsupported(name, "of type " + schema.getType().getName());
            }
        }

        /**
         * The node for a logical type, or null for none (or one Avro does not recognise on this type, which the
         * Avro specification says to read as the underlying type).
         */
        private Node planLogical(Schema schema, String name) {
            LogicalType logical = schema.getLogicalType();
            String declared = schema.getProp(LogicalType.LOGICAL_TYPE_PROP);
            if (logical == null) {
                if (declared != null
                        && (schema.getType() == Schema.Type.BYTES
                                || schema.getType() == Schema.Type.FIXED
                                || schema.getType() == Schema.Type.STRING)) {
                    throw unsupported(
                            name,
                            "of type " + schema.getType().getName() + " with logicalType '" + declared
                                    + "', which Avro does not accept on it (a decimal needs a precision, and a scale no larger)");
                }
                return null;
            }
            String type = logical.getName();
            if (logical instanceof LogicalTypes.Decimal decimal) {
                int fixedSize = schema.getType() == Schema.Type.FIXED ? schema.getFixedSize() : -1;
                if (decimal.getPrecision() > FLOAT_DIGITS) {
                    log.warn(
                            "AVRO {}: field '{}' is decimal({}, {}); it is read as the nearest double and fed as a "
                                    + "float32 feature, which keeps about {} significant digits",
                            setting,
                            name,
                            decimal.getPrecision(),
                            decimal.getScale(),
                            FLOAT_DIGITS);
                }
                return new DecimalNode(decimal.getPrecision(), decimal.getScale(), fixedSize, name);
            }
            switch (type) {
                case "date":
                    return new Primitive(Schema.Type.INT, name, "date (days since 1970-01-01)");
                case "time-millis":
                    return new Primitive(Schema.Type.INT, name, "time-millis (milliseconds after midnight)");
                case "time-micros":
                    return new Primitive(Schema.Type.LONG, name, "time-micros (microseconds after midnight)");
                case "timestamp-millis",
                        "timestamp-micros",
                        "timestamp-nanos",
                        "local-timestamp-millis",
                        "local-timestamp-micros",
                        "local-timestamp-nanos": {
                    String unit = type.substring(type.lastIndexOf('-') + 1);
                    long now = switch (unit) {
                        case "millis" -> System.currentTimeMillis();
                        case "micros" -> System.currentTimeMillis() * 1_000L;
                        default -> System.currentTimeMillis() * 1_000_000L;
                    };
                    log.warn(
                            "AVRO {}: field '{}' is {}: fed as {} since 1970-01-01 in a float32 feature, which holds "
                                    + "today's values to about ±{} {} (subtract a reference time before sending, or send a "
                                    + "coarser unit, where that matters)",
                            setting,
                            name,
                            type,
                            unit,
                            Math.ulp((float) now) / 2,
                            unit);
                    return new Primitive(
                            Schema.Type.LONG,
                            name,
                            type + " (" + unit + " since 1970-01-01"
                                    + (type.startsWith("local") ? ", local time" : ", UTC") + ")");
                }
                case "uuid":
                    throw unsupported(
                            name,
                            "a uuid (logicalType uuid on " + schema.getType().getName() + "): an "
                                    + "identifier, not a number; leave it out of the schema's features, or map it to a number "
                                    + "(a category index) before sending");
                case "duration":
                    throw unsupported(
                            name,
                            "a duration (logicalType duration: months, days and milliseconds with "
                                    + "no common unit); send it as one number in the unit the model needs");
                case "big-decimal":
                    throw unsupported(
                            name,
                            "a big-decimal (a scale in every value); declare a decimal with a "
                                    + "fixed precision and scale, or send a double");
                default:
                    if (schema.getType() == Schema.Type.BYTES
                            || schema.getType() == Schema.Type.FIXED
                            || schema.getType() == Schema.Type.STRING) {
                        throw unsupported(
                                name,
                                "of logicalType '" + type + "' on "
                                        + schema.getType().getName());
                    }
                    return null;
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
                throw new InvalidFormatConfigException(
                        "AVRO " + setting + ": array '" + path + "' length " + declared + " is not a positive integer");
            }
        }

        private Float defaultFor(String path, Schema.Field field) {
            Object configured = defaults.get(path);
            if (configured instanceof Number number) {
                return number.floatValue();
            }
            if (configured != null) {
                throw new InvalidFormatConfigException(
                        "AVRO input_config null_defaults['" + path + "'] = " + configured + " is not a number");
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

    private record Primitive(Schema.Type type, String name, String logical) implements Node {
        Primitive(Schema.Type type, String name) {
            this(type, name, null);
        }

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
                throw new IllegalArgumentException(
                        "Field '" + name + "' is an Avro " + type.getName() + "; " + v + " does not fit it");
            }
            return (long) v;
        }

        @Override
        public String describe() {
            return logical == null ? type.getName() : logical;
        }
    }

    /**
     * A decimal: the two's complement big-endian unscaled value (bytes, or a fixed of {@code fixedSize}) times
     * 10^-scale, read as the nearest double ({@link BigDecimal#doubleValue()}) then stored as float32.
     */
    private record DecimalNode(int precision, int scale, int fixedSize, String name) implements Node {
        @Override
        public int width() {
            return 1;
        }

        @Override
        public void read(BinaryDecoder in, float[] row, int[] position) throws IOException {
            byte[] bytes;
            if (fixedSize < 0) {
                java.nio.ByteBuffer buffer = in.readBytes(null);
                bytes = new byte[buffer.remaining()];
                buffer.get(bytes);
            } else {
                bytes = new byte[fixedSize];
                in.readFixed(bytes);
            }
            if (bytes.length == 0) {
                throw new RecordDecodeException("decimal field '" + name + "' has no bytes");
            }
            row[position[0]++] = (float) new BigDecimal(new BigInteger(bytes), scale).doubleValue();
        }

        @Override
        public void write(Encoder out, double[] values, int[] position) throws IOException {
            double v = values[position[0]++];
            if (!Double.isFinite(v)) {
                throw new IllegalArgumentException("Decimal field '" + name + "' cannot hold " + v);
            }
            BigDecimal decimal = new BigDecimal(v).setScale(scale, RoundingMode.HALF_EVEN);
            if (decimal.unscaledValue().abs().compareTo(BigInteger.TEN.pow(precision)) >= 0) {
                throw new IllegalArgumentException("Decimal field '" + name + "' is decimal(" + precision + ", " + scale
                        + "); " + v + " needs more digits");
            }
            byte[] unscaled = decimal.unscaledValue().toByteArray();
            if (fixedSize < 0) {
                out.writeBytes(unscaled);
                return;
            }
            if (unscaled.length > fixedSize) {
                throw new IllegalArgumentException("Decimal field '" + name + "' is a fixed of " + fixedSize
                        + " bytes; " + v + " needs " + unscaled.length);
            }
            byte[] fixed = new byte[fixedSize];
            java.util.Arrays.fill(fixed, 0, fixedSize - unscaled.length, (byte) (decimal.signum() < 0 ? 0xff : 0));
            System.arraycopy(unscaled, 0, fixed, fixedSize - unscaled.length, unscaled.length);
            out.writeFixed(fixed);
        }

        @Override
        public String describe() {
            return "decimal(" + precision + ", " + scale + ")";
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
                throw new RecordDecodeException(
                        "enum field '" + name + "' has index " + index + " but only " + symbols + " symbols");
            }
            row[position[0]++] = index;
        }

        @Override
        public void write(Encoder out, double[] values, int[] position) throws IOException {
            double v = values[position[0]++];
            if (v != Math.rint(v) || v < 0 || v >= symbols) {
                throw new IllegalArgumentException(
                        "Enum field '" + name + "' takes a symbol index in [0, " + symbols + "), got " + v);
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
                    throw new RecordDecodeException(
                            "array '" + name + "' has more than its declared " + length + " elements");
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

    private record Nullable(int nullIndex, int valueIndex, Node value, Float defaultValue, String name)
            implements Node {
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
