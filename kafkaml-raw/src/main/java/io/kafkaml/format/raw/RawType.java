package io.kafkaml.format.raw;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The element types of Kafka-ML's RAW format, as numpy writes them with {@code tobytes()}, by numpy name
 * (aliases in parentheses: {@code float}, {@code half} and {@code double} are the names TensorFlow gives them,
 * which Kafka-ML's trainers use; {@code float} is float32 as in Kafka-ML, although numpy alone reads it as
 * float64). The byte order is not part of the type: a {@link RawDtype} is a type with its byte order, and
 * {@link RawDtype#parse(String)} reads every spelling numpy writes.
 *
 * <p>Immutable and thread-safe.
 */
public enum RawType {
    /** {@code bool} ({@code bool_}, numpy 1's name for it): one byte, 0 or 1 (any non-zero byte reads as 1). */
    BOOL("bool", 1, "bool_", "bool8"),
    /** {@code int8}. */
    INT8("int8", 1, "byte"),
    /** {@code uint8}. */
    UINT8("uint8", 1, "ubyte"),
    /** {@code int16}. */
    INT16("int16", 2, "short"),
    /** {@code uint16}. */
    UINT16("uint16", 2, "ushort"),
    /** {@code int32}. */
    INT32("int32", 4, "intc"),
    /** {@code uint32}. */
    UINT32("uint32", 4, "uintc"),
    /** {@code int64}. */
    INT64("int64", 8, "longlong"),
    /** {@code uint64}. */
    UINT64("uint64", 8, "ulonglong"),
    /** {@code float16} ({@code half}): IEEE 754 binary16. */
    FLOAT16("float16", 2, "half"),
    /** {@code float32} ({@code float}, {@code single}). */
    FLOAT32("float32", 4, "float", "single"),
    /** {@code float64} ({@code double}, {@code float_}). */
    FLOAT64("float64", 8, "double", "float_");

    private static final VarHandle SHORT_LE =
            MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INT_LE = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONG_LE =
            MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle FLOAT_LE =
            MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle DOUBLE_LE =
            MethodHandles.byteArrayViewVarHandle(double[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle SHORT_BE = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle INT_BE = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle LONG_BE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle FLOAT_BE = MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle DOUBLE_BE =
            MethodHandles.byteArrayViewVarHandle(double[].class, ByteOrder.BIG_ENDIAN);
    /** 2^63 as a double: uint64 values at or above it do not fit a Java long. */
    private static final double TWO_63 = 0x1p63;

    private final String numpyName;
    private final int size;
    private final List<String> aliases;

    RawType(String numpyName, int size, String... aliases) {
        this.numpyName = numpyName;
        this.size = size;
        this.aliases = List.of(aliases);
    }

    /** The numpy name, as written in {@code input_config}. */
    public String numpyName() {
        return numpyName;
    }

    /** Bytes per element. */
    public int size() {
        return size;
    }

    /**
     * The element type of a numpy dtype spelling, ignoring its byte order: see {@link RawDtype#parse(String)} for
     * the spellings understood and the ones refused. Use {@link RawDtype} where the byte order matters (it does
     * for every multi-byte type).
     *
     * @throws IllegalArgumentException for an unknown, platform-dependent or non-numeric spelling, saying which
     */
    public static RawType of(String name) {
        return RawDtype.parse(name).type();
    }

    /** The known names, for messages. */
    public static String known() {
        return Arrays.stream(values())
                .map(t -> t.aliases.isEmpty() ? t.numpyName : t.numpyName + " (" + String.join(", ", t.aliases) + ")")
                .collect(Collectors.joining(", "));
    }

    /** Other numpy names of this type that are the same size on every platform (not in {@link #known()}). */
    List<String> aliases() {
        return aliases;
    }

    /** numpy's {@code dtype.str} without the byte order: {@code f4}, {@code u1}, {@code b1}. */
    String code() {
        return switch (this) {
            case BOOL -> "b1";
            case INT8 -> "i1";
            case UINT8 -> "u1";
            case INT16 -> "i2";
            case UINT16 -> "u2";
            case INT32 -> "i4";
            case UINT32 -> "u4";
            case INT64 -> "i8";
            case UINT64 -> "u8";
            case FLOAT16 -> "f2";
            case FLOAT32 -> "f4";
            case FLOAT64 -> "f8";
        };
    }

    /** Reads {@code count} elements of byte order {@code order} from {@code src} into {@code dst[offset..]} as floats. */
    void read(byte[] src, int count, float[] dst, int offset, ByteOrder order) {
        boolean big = order == ByteOrder.BIG_ENDIAN;
        VarHandle shorts = big ? SHORT_BE : SHORT_LE;
        VarHandle ints = big ? INT_BE : INT_LE;
        VarHandle longs = big ? LONG_BE : LONG_LE;
        switch (this) {
            case FLOAT32 -> ByteBuffer.wrap(src).order(order).asFloatBuffer().get(dst, offset, count);
            case UINT8 -> {
                for (int i = 0; i < count; i++) {
                    dst[offset + i] = src[i] & 0xff;
                }
            }
            case INT8 -> {
                for (int i = 0; i < count; i++) {
                    dst[offset + i] = src[i];
                }
            }
            case BOOL -> {
                for (int i = 0; i < count; i++) {
                    dst[offset + i] = src[i] != 0 ? 1f : 0f;
                }
            }
            case INT16 -> {
                for (int i = 0; i < count; i++) {
                    dst[offset + i] = (short) shorts.get(src, i * 2);
                }
            }
            case UINT16 -> {
                for (int i = 0; i < count; i++) {
                    dst[offset + i] = ((short) shorts.get(src, i * 2)) & 0xffff;
                }
            }
            case FLOAT16 -> {
                for (int i = 0; i < count; i++) {
                    dst[offset + i] = halfToFloat((short) shorts.get(src, i * 2));
                }
            }
            case INT32 -> {
                for (int i = 0; i < count; i++) {
                    dst[offset + i] = (int) ints.get(src, i * 4);
                }
            }
            case UINT32 -> {
                for (int i = 0; i < count; i++) {
                    dst[offset + i] = ((int) ints.get(src, i * 4)) & 0xffffffffL;
                }
            }
            case INT64 -> {
                for (int i = 0; i < count; i++) {
                    dst[offset + i] = (long) longs.get(src, i * 8);
                }
            }
            case UINT64 -> {
                for (int i = 0; i < count; i++) {
                    long v = (long) longs.get(src, i * 8);
                    // the low bit only matters below float's 24-bit precision, so halving then doubling is exact
                    dst[offset + i] = v >= 0 ? v : (float) (v >>> 1) * 2f;
                }
            }
            case FLOAT64 -> {
                VarHandle doubles = big ? DOUBLE_BE : DOUBLE_LE;
                for (int i = 0; i < count; i++) {
                    dst[offset + i] = (float) (double) doubles.get(src, i * 8);
                }
            }
        }
    }

    /**
     * Writes {@code values} as elements of this type in byte order {@code order}.
     *
     * @throws IllegalArgumentException if a value does not fit the type (range, or a fraction for an integer type)
     */
    byte[] write(double[] values, ByteOrder order) {
        boolean big = order == ByteOrder.BIG_ENDIAN;
        VarHandle shorts = big ? SHORT_BE : SHORT_LE;
        VarHandle ints = big ? INT_BE : INT_LE;
        VarHandle longs = big ? LONG_BE : LONG_LE;
        byte[] out = new byte[values.length * size];
        for (int i = 0; i < values.length; i++) {
            double v = values[i];
            switch (this) {
                case FLOAT32 -> (big ? FLOAT_BE : FLOAT_LE).set(out, i * 4, (float) v);
                case FLOAT64 -> (big ? DOUBLE_BE : DOUBLE_LE).set(out, i * 8, v);
                case FLOAT16 -> shorts.set(out, i * 2, floatToHalf((float) v));
                case BOOL -> {
                    if (v != 0 && v != 1) {
                        throw new IllegalArgumentException("bool values are 0 or 1, got " + v);
                    }
                    out[i] = (byte) v;
                }
                case INT8 -> out[i] = (byte) integral(v, -128, 127);
                case UINT8 -> out[i] = (byte) integral(v, 0, 255);
                case INT16 -> shorts.set(out, i * 2, (short) integral(v, Short.MIN_VALUE, Short.MAX_VALUE));
                case UINT16 -> shorts.set(out, i * 2, (short) integral(v, 0, 65535));
                case INT32 -> ints.set(out, i * 4, (int) integral(v, Integer.MIN_VALUE, Integer.MAX_VALUE));
                case UINT32 -> ints.set(out, i * 4, (int) integral(v, 0, 4294967295L));
                case INT64 -> longs.set(out, i * 8, integral(v, Long.MIN_VALUE, Long.MAX_VALUE));
                case UINT64 -> longs.set(out, i * 8, unsigned64(v));
            }
        }
        return out;
    }

    /** The two's complement bits of an integral double in [0, 2^64). */
    private static long unsigned64(double v) {
        if (v != Math.rint(v) || v < 0 || v >= 2 * TWO_63) {
            throw new IllegalArgumentException(v + " does not fit uint64 [0, 18446744073709551615]");
        }
        return v < TWO_63 ? (long) v : (long) (v - TWO_63) ^ Long.MIN_VALUE;
    }

    private long integral(double v, long min, long max) {
        if (v != Math.rint(v) || v < min || v > max) {
            throw new IllegalArgumentException(v + " does not fit " + numpyName + " [" + min + ", " + max + "]");
        }
        return (long) v;
    }

    /** IEEE 754 binary16 to float. */
    static float halfToFloat(short half) {
        int bits = half & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exponent = (bits >>> 10) & 0x1f;
        int mantissa = bits & 0x3ff;
        if (exponent == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13));
        }
        if (exponent == 0) {
            if (mantissa == 0) {
                return Float.intBitsToFloat(sign);
            }
            float value = mantissa / 1024f / 16384f; // subnormal: mantissa * 2^-24
            return sign == 0 ? value : -value;
        }
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }

    /** Float to IEEE 754 binary16, rounding to nearest even. */
    static short floatToHalf(float value) {
        int bits = Float.floatToIntBits(value);
        int sign = (bits >>> 16) & 0x8000;
        int exponent = ((bits >>> 23) & 0xff) - 127 + 15;
        int mantissa = bits & 0x7fffff;
        if (((bits >>> 23) & 0xff) == 0xff) {
            return (short) (sign | 0x7c00 | (mantissa != 0 ? 0x200 : 0));
        }
        if (exponent >= 0x1f) {
            return (short) (sign | 0x7c00);
        }
        if (exponent <= 0) {
            if (exponent < -10) {
                return (short) sign;
            }
            mantissa |= 0x800000;
            int shift = 14 - exponent;
            int half = mantissa >> shift;
            int rest = mantissa & ((1 << shift) - 1);
            int halfway = 1 << (shift - 1);
            if (rest > halfway || (rest == halfway && (half & 1) != 0)) {
                half++;
            }
            return (short) (sign | half);
        }
        int half = (exponent << 10) | (mantissa >> 13);
        int rest = mantissa & 0x1fff;
        if (rest > 0x1000 || (rest == 0x1000 && (half & 1) != 0)) {
            half++;
        }
        return (short) (sign | half);
    }
}
