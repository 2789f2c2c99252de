package io.kafkaml.format.raw;

import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A numpy dtype that RAW can carry: an element {@link RawType} and its byte order. This is what a RAW
 * {@code data_type} or {@code label_type} names.
 *
 * <p>{@link #parse(String)} understands every spelling numpy writes for the numeric dtypes (checked against
 * numpy itself by {@code kafkaml-raw/src/test/python/numpy_dtypes.py}):
 * <ul>
 * <li>{@code dtype.name} and numpy's type names, any case: {@code bool}, {@code bool_} (numpy 1's type name,
 *     which Kafka-ML's sinks write), {@code int8}…{@code uint64}, {@code float16}/{@code half},
 *     {@code float32}/{@code single}/{@code float}, {@code float64}/{@code double}/{@code float_}, and the
 *     fixed-size C names ({@code byte}, {@code ubyte}, {@code short}, {@code ushort}, {@code intc},
 *     {@code uintc}, {@code longlong}, {@code ulonglong}). Names carry no byte order: little-endian, as
 *     {@code tobytes()} writes on every platform numpy and Kafka-ML run on.</li>
 * <li>{@code dtype.str}: a byte order, a kind and a size — {@code <f4}, {@code >f4}, {@code =f4}, {@code |u1},
 *     {@code >u1}, {@code |b1}, {@code <i8}. {@code <} is little-endian, {@code >} big-endian; {@code =}
 *     (native) and {@code |} (not applicable) are read as little-endian. Kinds and sizes are case-sensitive, as
 *     in numpy ({@code u} unsigned, {@code U} unicode).</li>
 * <li>{@code dtype.char}, with or without a byte order: {@code ?}, {@code b}, {@code B}, {@code h}, {@code H},
 *     {@code i}, {@code I}, {@code q}, {@code Q}, {@code e}, {@code f}, {@code d}.</li>
 * </ul>
 *
 * <p>Refused, with the reason in the message ({@link IllegalArgumentException}):
 * <ul>
 * <li>types that are not numbers: unicode strings ({@code <U1}, {@code str_}), bytes ({@code |S3},
 *     {@code bytes_}), objects ({@code O}), void ({@code V4}), datetime and timedelta ({@code M8[ns]},
 *     {@code m8}) and complex numbers ({@code c8});</li>
 * <li>spellings whose size depends on the platform that wrote the bytes: C {@code long} ({@code l},
 *     {@code long}, {@code int}, {@code int_}: 4 bytes on Windows, 8 on Linux), {@code intp}/{@code p},
 *     {@code longdouble}/{@code g}/{@code float128};</li>
 * <li>anything numpy itself does not understand.</li>
 * </ul>
 *
 * <p>Immutable and thread-safe.
 *
 * @param type the element type
 * @param order the byte order of multi-byte elements; always little-endian for one-byte types
 */
public record RawDtype(RawType type, ByteOrder order) {

    private static final Pattern CODE = Pattern.compile("([<>=|]?)([A-Za-z?])(\\d*)(\\[[A-Za-z0-9]*\\])?");
    private static final Map<String, RawType> NAMES = new HashMap<>();
    private static final Map<Character, RawType> CHARS = Map.ofEntries(
            Map.entry('?', RawType.BOOL),
            Map.entry('b', RawType.INT8),
            Map.entry('B', RawType.UINT8),
            Map.entry('h', RawType.INT16),
            Map.entry('H', RawType.UINT16),
            Map.entry('i', RawType.INT32),
            Map.entry('I', RawType.UINT32),
            Map.entry('q', RawType.INT64),
            Map.entry('Q', RawType.UINT64),
            Map.entry('e', RawType.FLOAT16),
            Map.entry('f', RawType.FLOAT32),
            Map.entry('d', RawType.FLOAT64));
    private static final Set<String> PLATFORM_NAMES = Set.of(
            "int",
            "int_",
            "uint",
            "long",
            "ulong",
            "intp",
            "uintp",
            "int0",
            "uint0",
            "longdouble",
            "longfloat",
            "float96",
            "float128");
    private static final Set<String> STRING_NAMES = Set.of(
            "str",
            "str_",
            "str0",
            "unicode",
            "unicode_",
            "string",
            "string_",
            "bytes",
            "bytes_",
            "bytes0",
            "object",
            "object_",
            "object0",
            "void",
            "void0");

    static {
        for (RawType type : RawType.values()) {
            NAMES.put(type.numpyName(), type);
            for (String alias : type.aliases()) {
                NAMES.put(alias, type);
            }
        }
    }

    /**
     * Validates the pair and normalises one-byte types to little-endian.
     *
     * @throws NullPointerException if either is null
     */
    public RawDtype {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(order, "order");
        if (type.size() == 1) {
            order = ByteOrder.LITTLE_ENDIAN;
        }
    }

    /** {@code type} in little-endian order, as numpy's {@code tobytes()} writes it on x86 and ARM. */
    public static RawDtype of(RawType type) {
        return new RawDtype(type, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * The dtype a numpy spelling names (see the class documentation for what is understood and refused).
     *
     * @throws IllegalArgumentException naming the spelling and why it is refused
     */
    public static RawDtype parse(String spelling) {
        Objects.requireNonNull(spelling, "spelling");
        String text = spelling.strip();
        Matcher code = CODE.matcher(text);
        if (code.matches()) {
            return fromCode(spelling, code.group(1), code.group(2).charAt(0), code.group(3), code.group(4));
        }
        String name = text.toLowerCase(Locale.ROOT);
        RawType named = NAMES.get(name);
        if (named != null) {
            return of(named);
        }
        if (PLATFORM_NAMES.contains(name)) {
            throw platform(spelling);
        }
        if (STRING_NAMES.contains(name) || name.matches("(str|bytes|void)\\d+")) {
            throw notNumeric(spelling, "a string, bytes or object type");
        }
        if (name.startsWith("datetime64") || name.startsWith("timedelta64")) {
            throw notNumeric(spelling, "a date or time type");
        }
        if (name.startsWith("complex")
                || name.startsWith("clong")
                || Set.of("csingle", "cdouble", "cfloat", "singlecomplex", "longcomplex")
                        .contains(name)) {
            throw notNumeric(spelling, "a complex type");
        }
        throw unknown(spelling);
    }

    private static RawDtype fromCode(String spelling, String orderMark, char kind, String digits, String unit) {
        ByteOrder order = ">".equals(orderMark) ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
        switch (kind) {
            case 'c' ->
                throw notNumeric(
                        spelling, digits.isEmpty() ? "numpy's byte string type (one character)" : "a complex type");
            case 'U', 'S', 'a', 'O', 'V', 'T' ->
                throw notNumeric(
                        spelling,
                        switch (kind) {
                            case 'U', 'T' -> "numpy's unicode string type";
                            case 'S', 'a' -> "numpy's byte string type";
                            case 'O' -> "numpy's object type";
                            default -> "numpy's void (raw bytes) type";
                        });
            case 'M', 'm' -> {
                if (digits.isEmpty() || digits.equals("8")) {
                    throw notNumeric(spelling, kind == 'M' ? "numpy's datetime64 type" : "numpy's timedelta64 type");
                }
                throw unknown(spelling);
            }
            default -> {
                // numeric kinds follow
            }
        }
        if (unit != null) {
            throw unknown(spelling);
        }
        if (digits.isEmpty()) {
            RawType type = CHARS.get(kind);
            if (type != null) {
                return new RawDtype(type, order);
            }
            if ("lLpPnNg".indexOf(kind) >= 0) {
                throw platform(spelling);
            }
            if ("FDG".indexOf(kind) >= 0) {
                throw notNumeric(spelling, "a complex type");
            }
            throw unknown(spelling);
        }
        int size;
        try {
            size = Integer.parseInt(digits);
        } catch (NumberFormatException e) {
            throw unknown(spelling);
        }
        RawType type = switch (kind) {
            case 'b' -> size == 1 ? RawType.BOOL : null;
            case 'i' ->
                size == 1
                        ? RawType.INT8
                        : size == 2 ? RawType.INT16 : size == 4 ? RawType.INT32 : size == 8 ? RawType.INT64 : null;
            case 'u' ->
                size == 1
                        ? RawType.UINT8
                        : size == 2 ? RawType.UINT16 : size == 4 ? RawType.UINT32 : size == 8 ? RawType.UINT64 : null;
            case 'f' -> {
                if (size == 12 || size == 16) {
                    throw platform(spelling);
                }
                yield size == 2 ? RawType.FLOAT16 : size == 4 ? RawType.FLOAT32 : size == 8 ? RawType.FLOAT64 : null;
            }
            default -> null;
        };
        if (type == null) {
            throw unknown(spelling);
        }
        return new RawDtype(type, order);
    }

    /**
     * How this dtype is written in an {@code input_config}: the numpy name for little-endian and one-byte types
     * (what Kafka-ML reads), numpy's {@code dtype.str} ({@code >f4}) for big-endian ones.
     */
    public String spelling() {
        return order == ByteOrder.BIG_ENDIAN ? ">" + type.code() : type.numpyName();
    }

    /** Bytes per element. */
    public int size() {
        return type.size();
    }

    /** Reads {@code count} elements from {@code src} into {@code dst[offset..]} as floats. */
    void read(byte[] src, int count, float[] dst, int offset) {
        type.read(src, count, dst, offset, order);
    }

    /**
     * Writes {@code values} as elements of this dtype.
     *
     * @throws IllegalArgumentException if a value does not fit the type
     */
    byte[] write(double[] values) {
        return type.write(values, order);
    }

    @Override
    public String toString() {
        return spelling();
    }

    private static IllegalArgumentException notNumeric(String spelling, String what) {
        return new IllegalArgumentException("'" + spelling + "' is " + what + ", not a number: RAW data and labels "
                + "are numeric (" + RawType.known() + "). Strings, bytes, objects, dates and complex numbers "
                + "cannot feed a model as they are; encode them as numbers before sending (category indices as "
                + "int64, dates as epoch seconds), or send JSON or AVRO");
    }

    private static IllegalArgumentException platform(String spelling) {
        return new IllegalArgumentException("'" + spelling + "' has a size that depends on the platform that wrote "
                + "the bytes (C long is 4 bytes on Windows and 8 on Linux; intp follows the pointer size; longdouble "
                + "is 80-bit extended or plain double); name the size instead, e.g. int64 or '<i8', int32 or "
                + "'<i4', float64 or '<f8'");
    }

    private static IllegalArgumentException unknown(String spelling) {
        return new IllegalArgumentException("'" + spelling + "' is not a RAW type; the known types are "
                + RawType.known() + ", also as numpy's dtype.str with a byte order ('<f4', '>i8', '|u1', '|b1') or "
                + "dtype.char ('f', 'd', 'B', '?')");
    }
}
