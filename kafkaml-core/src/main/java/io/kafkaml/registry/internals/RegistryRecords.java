package io.kafkaml.registry.internals;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.kafkaml.registry.Datasource;
import io.kafkaml.registry.InvalidRegistryRecordException;
import io.kafkaml.registry.RegistryException;
import java.io.IOException;

/**
 * The JSON of registry records: one mapper, the write of an entity and the checked read of a record. A read either
 * returns a whole entity or throws {@link InvalidRegistryRecordException} naming the record's place; nothing else
 * (Jackson's {@code StreamReadConstraints} bound nesting and string lengths, so a hostile record cannot exhaust the
 * stack). Thread-safe. Not part of the public API.
 */
public final class RegistryRecords {

    private static final ObjectMapper JSON = new ObjectMapper()
            .registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private RegistryRecords() {}

    /** The mapper of registry records (shared: never reconfigure it). */
    public static ObjectMapper mapper() {
        return JSON;
    }

    /**
     * An entity as the JSON value of its record.
     *
     * @throws RegistryException if it cannot be written
     */
    public static byte[] encode(Object entity) {
        try {
            return JSON.writeValueAsBytes(entity);
        } catch (JsonProcessingException e) {
            throw new RegistryException("Cannot write " + entity.getClass().getSimpleName() + " as JSON", e);
        }
    }

    /**
     * Reads a record's value as an entity, checking what a reader of it relies on (a datasource's control message
     * parses).
     *
     * @param offset the record's offset, or -1 when unknown
     * @throws InvalidRegistryRecordException naming the topic, partition, offset and key, and why
     */
    public static <T> T decode(String topic, int partition, long offset, String key, byte[] value, Class<T> type) {
        T entity;
        try {
            entity = JSON.readValue(value, type);
        } catch (IOException | RuntimeException e) {
            throw new InvalidRegistryRecordException(
                    topic, partition, offset, key, type.getSimpleName(), oneLine(e), e);
        }
        if (entity == null) {
            throw new InvalidRegistryRecordException(
                    topic, partition, offset, key, type.getSimpleName(), "the value is JSON null", null);
        }
        if (entity instanceof Datasource datasource) {
            try {
                datasource.message();
            } catch (RuntimeException e) {
                throw new InvalidRegistryRecordException(
                        topic, partition, offset, key, type.getSimpleName(), "its control message: " + oneLine(e), e);
            }
        }
        return entity;
    }

    private static String oneLine(Throwable e) {
        String message = e.getMessage();
        return message == null
                ? e.getClass().getSimpleName()
                : message.replaceAll("\\s+", " ").trim();
    }
}
