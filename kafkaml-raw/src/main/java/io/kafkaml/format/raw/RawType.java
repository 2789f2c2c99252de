package io.kafkaml.format.raw;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The element types of Kafka-ML's RAW format, as numpy writes them with {@code tobytes()}: little-endian,
 * by numpy name (aliases in parentheses: {@code float}, {@code half} and {@code double} are the names
 * TensorFlow gives them, which Kafka-ML's trainers use).
 */
public enum RawType {
    /** {@code bool}: one byte, 0 or 1. */
    BOOL("bool", 1),
    /** {@code int8}. */
    INT8("int8", 1),
    /** {@code uint8}. */
    UINT8("uint8", 1),
    /** {@code int16}. */
    INT16("int16", 2),
    /** {@code uint16}. */
    UINT16("uint16", 2),
    /** {@code int32}. */
    INT32("int32", 4),
    /** {@code uint32}. */
    UINT32("uint32", 4),
    /** {@code int64}. */
    INT64("int64", 8),
    /** {@code uint64}. */
    UINT64("uint64", 8),
    /** {@code float16} ({@code half}): IEEE 754 binary16. */
    FLOAT16("float16", 2, "half"),
    /** {@code float32} ({@code float}). */
    FLOAT32("float32", 4, "float"),
    /** {@code float64} ({@code double}). */
    FLOAT64("float64", 8, "double");

    private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle FLOAT = MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle DOUBLE = MethodHandles.byteArrayViewVarHandle(double[].class, ByteOrder.LITTLE_ENDIAN);

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
     * The type called {@code name} (numpy name or alias, any case, also numpy's {@code <f4}-style codes).
     *
     * @throws IllegalArgumentException listing the known names
     */
    public static RawType of(String name) {
        String key = name.trim().toLowerCase(Locale.ROOT);
        for (RawType type : values()) {
            if (type.numpyName.equals(key) || type.aliases.contains(key) || type.code().equals(key)
                    || ("<" + type.code()).equals(key) || ("|" + type.code()).equals(key)) {
                return type;
            }
        }
        throw new IllegalArgumentException("'" + name + "' is not a RAW type; the known types are " + known());
    }

    /** The known names, for messages. */
    public static String known() {
        return Arrays.stream(values())
                .map(t -> t.aliases.isEmpty() ? t.numpyName : t.numpyName + " (" + String.join(", ", t.aliases) + ")")
                .collect(Collectors.joining(", "));
    }

    private String code() {
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

    /** Reads {@code count} elements from {@code src} into {@code dst[offset..]} as floats. */
    void read(byte[] src, int count, float[] dst, int offset) {
        switch (this) {
            case FLOAT32 -> ByteBuffer.wrap(src).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(dst, offset, count);
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
                    dst[offset + i] = (short) SHORT.get(src, i * 2);
                }
            }
            case UINT16 -> {
                for (int i = 0; i < count; i++) {
                    dst[offset + i] = ((short) SHORT.get(src, i * 2)) & 0xffff;
                }
            }
            case FLOAT16 -> {
                for (int i = 0; i < count; i++) {
                    dst[offset + i] = halfToFloat((short) SHORT.get(src, i * 2));
                }
            }
            case INT32 -> {
                for (int i = 0; i < count; i++) {
                    dst[offset + i] = (int) INT.get(src, i * 4);
                }
            }
            case UINT32 -> {
                for (int i = 0; i < count; i++) {
                    dst[offset + i] = ((int) INT.get(src, i * 4)) & 0xffffffffL;
                }
            }
            case INT64 -> {
                for (int i = 0; i < count; i++) {
                    dst[offset + i] = (long) LONG.get(src, i * 8);
                }
            }
            case UINT64 -> {
                for (int i = 0; i < count; i++) {
                    long v = (long) LONG.get(src, i * 8);
                    dst[offset + i] = v >= 0 ? v : (float) (v >>> 1) * 2f;
                }
            }
            case FLOAT64 -> {
                for (int i = 0; i < count; i++) {
                    dst[offset + i] = (float) (double) DOUBLE.get(src, i * 8);
                }
            }
        }
    }

    /**
     * Writes {@code values} as elements of this type.
     *
     * @throws IllegalArgumentException if a value does not fit the type (range, or a fraction for an integer type)
     */
    byte[] write(double[] values) {
        byte[] out = new byte[values.length * size];
        for (int i = 0; i < values.length; i++) {
            double v = values[i];
            switch (this) {
                case FLOAT32 -> FLOAT.set(out, i * 4, (float) v);
                case FLOAT64 -> DOUBLE.set(out, i * 8, v);
                case FLOAT16 -> SHORT.set(out, i * 2, floatToHalf((float) v));
                case BOOL -> {
                    if (v != 0 && v != 1) {
                        throw new IllegalArgumentException("bool values are 0 or 1, got " + v);
                    }
                    out[i] = (byte) v;
                }
                case INT8 -> out[i] = (byte) integral(v, -128, 127);
                case UINT8 -> out[i] = (byte) integral(v, 0, 255);
                case INT16 -> SHORT.set(out, i * 2, (short) integral(v, Short.MIN_VALUE, Short.MAX_VALUE));
                case UINT16 -> SHORT.set(out, i * 2, (short) integral(v, 0, 65535));
                case INT32 -> INT.set(out, i * 4, (int) integral(v, Integer.MIN_VALUE, Integer.MAX_VALUE));
                case UINT32 -> INT.set(out, i * 4, (int) integral(v, 0, 4294967295L));
                case INT64 -> LONG.set(out, i * 8, integral(v, Long.MIN_VALUE, Long.MAX_VALUE));
                case UINT64 -> LONG.set(out, i * 8, integral(v, 0, Long.MAX_VALUE));
            }
        }
        return out;
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
