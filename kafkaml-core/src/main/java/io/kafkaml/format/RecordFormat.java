package io.kafkaml.format;

import java.util.Map;

/**
 * A record format (RAW, AVRO, JSON, ...): how the key and value bytes of a data record hold a feature row and
 * a label row. Formats are found with {@link java.util.ServiceLoader} by the name a control message gives in
 * {@code input_format} (see {@link RecordFormats}); an implementation has a public no-argument constructor and
 * is listed in {@code META-INF/services/io.kafkaml.format.RecordFormat}.
 *
 * <p>Implementations are stateless and thread-safe; the decoders and encoders they create are not.
 */
public interface RecordFormat {

    /** The name a control message uses, in upper case: {@code RAW}, {@code AVRO}, {@code JSON}. */
    String name();

    /**
     * A decoder for records written with {@code inputConfig} (a control message's {@code input_config}).
     *
     * @throws InvalidFormatConfigException if the settings are missing, unknown or inconsistent; the message
     *     says which and lists what is allowed
     */
    RecordDecoder newDecoder(Map<String, ?> inputConfig);

    /**
     * An encoder that writes numeric rows as records of this format, for data sinks.
     *
     * @throws InvalidFormatConfigException as {@link #newDecoder(Map)}
     */
    RecordEncoder newEncoder(Map<String, ?> inputConfig);
}
