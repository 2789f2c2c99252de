package io.kafkaml.sink;

import io.kafkaml.format.RecordEncoder;
import io.kafkaml.format.RecordEncoder.EncodedRecord;
import io.kafkaml.format.RecordFormat;
import io.kafkaml.format.RecordFormats;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A data sink for numeric rows in any {@link RecordFormat} on the class path (RAW, AVRO, JSON), given its
 * {@code input_config}: the sink the command line's {@code send} uses.
 *
 * <pre>{@code
 * try (RecordDataSink sink = RecordDataSink.builder(Map.of("bootstrap.servers", "localhost:9092"))
 *         .format("JSON").inputConfig(Map.of("data_reshape", "3"))
 *         .topic("hcopd").deploymentId("7").validationRate(0.1).testRate(0.1)
 *         .build()) {
 *     sink.send(new double[] {1, 63, 2}, 1);
 * }
 * }</pre>
 *
 * <p>Threading and lifecycle as {@link DataSink}; {@code send} is not thread-safe (the encoder is not).
 */
public class RecordDataSink extends DataSink {

    private final RecordEncoder encoder;
    private final Map<String, Object> inputConfig;

    /** Creates the sink from a builder. */
    protected RecordDataSink(Builder builder) {
        super(checked(builder), builder.format.name());
        this.inputConfig = new LinkedHashMap<>(builder.inputConfig);
        this.encoder = builder.format.newEncoder(inputConfig);
    }

    /** Fails before any producer exists if the format or its settings are bad. */
    private static Builder checked(Builder builder) {
        if (builder.format == null) {
            throw new IllegalStateException("A RecordDataSink needs a format; none was set");
        }
        builder.format.newEncoder(builder.inputConfig);
        return builder;
    }

    /** Starts a builder; {@code clientConfig} holds {@code bootstrap.servers} and any producer settings. */
    public static Builder builder(Map<String, ?> clientConfig) {
        return new Builder(clientConfig);
    }

    /** Sends a row with a scalar label. */
    public void send(double[] features, double label) {
        send(features, new double[] {label});
    }

    /** Sends a row; {@code labels} may be {@code null} for a record without a label. */
    public void send(double[] features, double[] labels) {
        EncodedRecord record = encoder.encode(features, labels);
        sendRecord(record.key(), record.value());
    }

    /** Sends a row without a label. */
    public void sendValue(double[] features) {
        send(features, null);
    }

    @Override
    protected Map<String, Object> inputConfig() {
        return inputConfig;
    }

    /** Builds a {@link RecordDataSink}: {@code format}, {@code topic} and {@code deploymentId} are required. */
    public static class Builder extends DataSink.Builder<Builder> {
        private RecordFormat format;
        private Map<String, ?> inputConfig = Map.of();

        protected Builder(Map<String, ?> clientConfig) {
            super(clientConfig);
        }

        @Override
        protected Builder self() {
            return this;
        }

        /** The format, by name. */
        public Builder format(String name) {
            this.format = RecordFormats.forName(name);
            return this;
        }

        /** The format's settings, sent as the control message's {@code input_config}. */
        public Builder inputConfig(Map<String, ?> inputConfig) {
            this.inputConfig = Objects.requireNonNull(inputConfig, "inputConfig");
            return this;
        }

        /** Creates the sink and its producer. */
        public RecordDataSink build() {
            return new RecordDataSink(this);
        }
    }
}
