package io.kafkaml.format.avro;

import io.kafkaml.sink.DataSink;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;

/**
 * Sends a data stream in Kafka-ML's AVRO format: each record's value is the data record and its key the label
 * record, in schemaless Avro binary. On {@link #close()} it sends the control message with
 * {@code input_config} {@code data_scheme} and {@code label_scheme}.
 *
 * <pre>{@code
 * try (AvroDataSink sink = AvroDataSink.builder(Map.of("bootstrap.servers", "localhost:9092"))
 *         .topic("hcopd").deploymentId("7").dataSchema(dataSchema).labelSchema(labelSchema)
 *         .validationRate(0.1).testRate(0.1)
 *         .build()) {
 *     sink.send(data, label);   // GenericRecords of the two schemas
 * }
 * }</pre>
 *
 * <p>Threading and lifecycle as {@link DataSink}; {@code send} is synchronized.
 */
public final class AvroDataSink extends DataSink {

    private final Schema dataSchema;
    private final Schema labelSchema;
    private final GenericDatumWriter<GenericRecord> dataWriter;
    private final GenericDatumWriter<GenericRecord> labelWriter;
    private final ByteArrayOutputStream buffer = new ByteArrayOutputStream(256);
    private BinaryEncoder encoder;

    private AvroDataSink(Builder builder) {
        super(checked(builder), AvroFormat.NAME);
        this.dataSchema = builder.dataSchema;
        this.labelSchema = builder.labelSchema;
        this.dataWriter = new GenericDatumWriter<>(dataSchema);
        this.labelWriter = labelSchema == null ? null : new GenericDatumWriter<>(labelSchema);
    }

    /** Fails before any producer exists if the schemas are missing or cannot be features. */
    private static Builder checked(Builder builder) {
        if (builder.dataSchema == null) {
            throw new IllegalStateException("An AvroDataSink needs a dataSchema; none was set");
        }
        new AvroFormat().newDecoder(inputConfig(builder.dataSchema, builder.labelSchema));
        return builder;
    }

    /** Starts a builder; {@code clientConfig} holds {@code bootstrap.servers} and any producer settings. */
    public static Builder builder(Map<String, ?> clientConfig) {
        return new Builder(clientConfig);
    }

    /**
     * Sends one record.
     *
     * @param data a record of the data schema
     * @param label a record of the label schema, or {@code null} for none
     * @throws IllegalArgumentException if a record does not match its schema
     */
    public synchronized void send(GenericRecord data, GenericRecord label) {
        byte[] value = write(dataWriter, Objects.requireNonNull(data, "data"), "data");
        byte[] key = null;
        if (label != null) {
            if (labelWriter == null) {
                throw new IllegalArgumentException("This sink has no label schema; use sendValue or set labelSchema");
            }
            key = write(labelWriter, label, "label");
        }
        sendRecord(key, value);
    }

    /** Sends one record without a label. */
    public void sendValue(GenericRecord data) {
        send(data, null);
    }

    private byte[] write(GenericDatumWriter<GenericRecord> writer, GenericRecord record, String what) {
        buffer.reset();
        encoder = EncoderFactory.get().binaryEncoder(buffer, encoder);
        try {
            writer.write(record, encoder);
            encoder.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (AvroRuntimeException | ClassCastException | NullPointerException e) {
            throw new IllegalArgumentException(
                    "The " + what + " record does not match its schema: " + e.getMessage(), e);
        }
        return buffer.toByteArray();
    }

    @Override
    protected Map<String, Object> inputConfig() {
        return inputConfig(dataSchema, labelSchema);
    }

    private static Map<String, Object> inputConfig(Schema dataSchema, Schema labelSchema) {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("data_scheme", dataSchema.toString());
        if (labelSchema != null) {
            config.put("label_scheme", labelSchema.toString());
        }
        return config;
    }

    /** Builds an {@link AvroDataSink}: {@code topic}, {@code deploymentId} and {@code dataSchema} are required. */
    public static final class Builder extends DataSink.Builder<Builder> {
        private Schema dataSchema;
        private Schema labelSchema;

        private Builder(Map<String, ?> clientConfig) {
            super(clientConfig);
        }

        @Override
        protected Builder self() {
            return this;
        }

        /** The schema of the data records. Required. */
        public Builder dataSchema(Schema schema) {
            this.dataSchema = Objects.requireNonNull(schema, "schema");
            return this;
        }

        /** The schema of the label records; none for data without labels. */
        public Builder labelSchema(Schema schema) {
            this.labelSchema = Objects.requireNonNull(schema, "schema");
            return this;
        }

        /** Creates the sink and its producer. */
        public AvroDataSink build() {
            return new AvroDataSink(this);
        }
    }
}
