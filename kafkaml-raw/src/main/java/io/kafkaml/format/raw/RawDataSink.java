package io.kafkaml.format.raw;

import io.kafkaml.format.RecordEncoder;
import io.kafkaml.format.RecordEncoder.EncodedRecord;
import io.kafkaml.sink.DataSink;
import java.lang.reflect.Array;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * Sends a data stream in Kafka-ML's RAW format: each record's value is the data and its key the label, as
 * numpy's {@code tobytes()} would write them (little-endian, or in the byte order of a {@link RawDtype} set on
 * the builder). On {@link #close()} it sends the control message with the
 * {@code input_config} ({@code data_type}, {@code label_type}, {@code data_reshape}, {@code label_reshape}).
 *
 * <pre>{@code
 * try (RawDataSink sink = RawDataSink.builder(Map.of("bootstrap.servers", "localhost:9092"))
 *         .topic("mnist").deploymentId("7").validationRate(0.1).testRate(0.1)
 *         .build()) {
 *     sink.send(new float[28][28], (byte) 3);   // float32 data of shape 28 28, int8 label
 * }
 * }</pre>
 *
 * <p>Data and labels are primitive arrays (nested for several dimensions: {@code float[28][28]}), or boxed
 * numbers and booleans for scalars. Unless {@link Builder#dataType(RawType)} and the shape are set, the first
 * record decides them: {@code float} → float32, {@code double} → float64, {@code byte} → int8,
 * {@code short} → int16, {@code int} → int32, {@code long} → int64, {@code boolean} → bool; nesting gives the
 * shape. Later records must have the same number of elements and values that fit the type (a set type such
 * as {@code uint8} accepts any numeric array whose values fit it).
 *
 * <p>Threading and lifecycle as {@link DataSink}; {@code send} is synchronized.
 */
public final class RawDataSink extends DataSink {

    private RawDtype dataType;
    private long[] dataShape;
    private RawDtype labelType;
    private long[] labelShape;
    private RecordEncoder encoder;
    private long sent;

    private RawDataSink(Builder builder) {
        super(builder, RawFormat.NAME);
        this.dataType = builder.dataType;
        this.dataShape = builder.dataShape;
        this.labelType = builder.labelType;
        this.labelShape = builder.labelShape;
    }

    /** Starts a builder; {@code clientConfig} holds {@code bootstrap.servers} and any producer settings. */
    public static Builder builder(Map<String, ?> clientConfig) {
        return new Builder(clientConfig);
    }

    /**
     * Sends one record.
     *
     * @param data the data: a primitive array (nested for several dimensions) or a boxed scalar
     * @param label the label, likewise, or {@code null} for none
     * @throws IllegalArgumentException if the record does not match the sink's type and shape
     */
    public synchronized void send(Object data, Object label) {
        Flat features = Flat.of(Objects.requireNonNull(data, "data"), "data");
        Flat labels = label == null ? null : Flat.of(label, "label");
        boolean changed = encoder == null;
        if (dataType == null) {
            dataType = RawDtype.of(features.type);
        }
        if (dataShape == null) {
            dataShape = features.shape;
        }
        if (labels != null && (labelType == null || labelShape == null)) {
            labelType = labelType == null ? RawDtype.of(labels.type) : labelType;
            labelShape = labelShape == null ? labels.shape : labelShape;
            changed = true;
        }
        if (changed) {
            encoder = new RawFormat().newEncoder(inputConfig());
        }
        EncodedRecord record;
        try {
            record = encoder.encode(features.values, labels == null ? null : labels.values);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "Record " + (sent + 1) + " does not fit this RAW sink "
                            + "(data " + dataType + " " + Arrays.toString(dataShape)
                            + (labelType == null ? "" : ", label " + labelType + " " + Arrays.toString(labelShape))
                            + "): "
                            + e.getMessage(),
                    e);
        }
        sendRecord(record.key(), record.value());
        sent++;
    }

    /** Sends one record without a label. */
    public void sendValue(Object data) {
        send(data, null);
    }

    @Override
    protected synchronized Map<String, Object> inputConfig() {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("data_type", dataType == null ? RawType.FLOAT32.numpyName() : dataType.spelling());
        if (labelType != null) {
            config.put("label_type", labelType.spelling());
        }
        config.put("data_reshape", shapeText(dataShape));
        config.put("label_reshape", shapeText(labelShape));
        return config;
    }

    private static String shapeText(long[] shape) {
        return shape == null
                ? ""
                : Arrays.stream(shape).mapToObj(Long::toString).collect(Collectors.joining(" "));
    }

    /** A primitive (nested) array or scalar, flattened in C order. */
    private record Flat(double[] values, long[] shape, RawType type) {

        static Flat of(Object value, String what) {
            List<Long> shape = new ArrayList<>();
            Object probe = value;
            while (probe != null
                    && probe.getClass().isArray()
                    && !probe.getClass().getComponentType().isPrimitive()) {
                shape.add((long) Array.getLength(probe));
                probe = Array.getLength(probe) == 0 ? null : Array.get(probe, 0);
            }
            RawType type;
            if (probe != null && probe.getClass().isArray()) {
                shape.add((long) Array.getLength(probe));
                type = typeOf(probe.getClass().getComponentType(), what);
            } else if (probe instanceof Number || probe instanceof Boolean) {
                type = typeOf(probe.getClass(), what);
            } else {
                throw new IllegalArgumentException("The " + what + " must be a primitive array or a boxed number, was "
                        + (probe == null ? "an empty array" : probe.getClass().getName()));
            }
            long count = 1;
            for (long dim : shape) {
                count *= dim;
            }
            double[] values = new double[Math.toIntExact(count)];
            int[] next = {0};
            flatten(value, 0, shape, values, next, what);
            return new Flat(values, shape.stream().mapToLong(Long::longValue).toArray(), type);
        }

        private static void flatten(Object value, int depth, List<Long> shape, double[] out, int[] next, String what) {
            if (depth < shape.size() && value != null && value.getClass().isArray()) {
                int length = Array.getLength(value);
                if (length != shape.get(depth)) {
                    throw new IllegalArgumentException("The " + what + " array is ragged: a dimension " + depth
                            + " of length " + length + " where the first had " + shape.get(depth));
                }
                for (int i = 0; i < length; i++) {
                    flatten(Array.get(value, i), depth + 1, shape, out, next, what);
                }
            } else if (value instanceof Number number) {
                out[next[0]++] = number.doubleValue();
            } else if (value instanceof Boolean bool) {
                out[next[0]++] = bool ? 1 : 0;
            } else {
                throw new IllegalArgumentException("The " + what + " holds " + value + " where a number was expected");
            }
        }

        private static RawType typeOf(Class<?> type, String what) {
            if (type == float.class || type == Float.class) {
                return RawType.FLOAT32;
            } else if (type == double.class || type == Double.class) {
                return RawType.FLOAT64;
            } else if (type == byte.class || type == Byte.class) {
                return RawType.INT8;
            } else if (type == short.class || type == Short.class) {
                return RawType.INT16;
            } else if (type == int.class || type == Integer.class) {
                return RawType.INT32;
            } else if (type == long.class || type == Long.class) {
                return RawType.INT64;
            } else if (type == boolean.class || type == Boolean.class) {
                return RawType.BOOL;
            }
            throw new IllegalArgumentException(
                    "The " + what + " has elements of type " + type.getName() + ", which RAW cannot hold");
        }
    }

    /** Builds a {@link RawDataSink}: {@code topic} and {@code deploymentId} are required. */
    public static final class Builder extends DataSink.Builder<Builder> {
        private RawDtype dataType;
        private long[] dataShape;
        private RawDtype labelType;
        private long[] labelShape;

        private Builder(Map<String, ?> clientConfig) {
            super(clientConfig);
        }

        @Override
        protected Builder self() {
            return this;
        }

        /** The data's element type, little-endian; default: that of the first record. */
        public Builder dataType(RawType type) {
            return dataType(RawDtype.of(Objects.requireNonNull(type, "type")));
        }

        /**
         * The data's dtype with its byte order ({@code RawDtype.parse(">f4")} writes big-endian floats and announces
         * {@code data_type} {@code >f4}, which kafkaml reads; Kafka-ML's own trainers read only little-endian
         * names). Default: that of the first record, little-endian.
         */
        public Builder dataType(RawDtype type) {
            this.dataType = Objects.requireNonNull(type, "type");
            return this;
        }

        /** The data's shape ({@code data_reshape}); default: that of the first record. */
        public Builder dataShape(long... shape) {
            this.dataShape = shape.clone();
            return this;
        }

        /** The label's element type, little-endian; default: that of the first labelled record. */
        public Builder labelType(RawType type) {
            return labelType(RawDtype.of(Objects.requireNonNull(type, "type")));
        }

        /** The label's dtype with its byte order, as {@link #dataType(RawDtype)}. */
        public Builder labelType(RawDtype type) {
            this.labelType = Objects.requireNonNull(type, "type");
            return this;
        }

        /** The label's shape ({@code label_reshape}); default: that of the first labelled record. */
        public Builder labelShape(long... shape) {
            this.labelShape = shape.clone();
            return this;
        }

        /** Creates the sink and its producer. */
        public RawDataSink build() {
            return new RawDataSink(this);
        }
    }
}
