package io.kafkaml.training.internals;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.kafkaml.common.KafkaMlException;
import io.kafkaml.registry.MetricsPosition;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;

/**
 * What an incremental run records after each window, before it commits the window's offsets: stored as the artifact
 * {@code <resultId>.w<window>.checkpoint} (SHA-256 checked on load) beside the model
 * {@code <resultId>.w<window>.model} (with its updater state, so that training goes on as it was). The result's
 * {@code epochCount} names the latest window; the checkpoint of the window before is deleted once the next is
 * committed, so a run keeps at most two.
 *
 * @param window the windows fitted so far, from 1
 * @param run the run id under which its windows are appended to the metrics topic
 * @param offsets the offsets after the window: {@code topic}, {@code partition}, {@code offset} (the next to read)
 * @param model the model artifact id
 * @param normalizer the normalizer artifact id, or {@code null}
 * @param records the records fitted (trained on or held out) over all windows
 * @param metricsStart where the run's first window record is in the metrics topic, or {@code null}
 */
record Checkpoint(
        int window,
        String run,
        List<Offset> offsets,
        String model,
        String normalizer,
        long records,
        MetricsPosition metricsStart) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One partition's next offset. */
    record Offset(String topic, int partition, long offset) {}

    /** The artifact id of window {@code window}'s checkpoint of {@code resultId}. */
    static String id(String resultId, int window) {
        return resultId + ".w" + window + ".checkpoint";
    }

    /** The artifact id of window {@code window}'s model of {@code resultId}. */
    static String modelId(String resultId, int window) {
        return resultId + ".w" + window + ".model";
    }

    Map<TopicPartition, Long> next() {
        Map<TopicPartition, Long> next = new HashMap<>();
        offsets.forEach(o -> next.put(new TopicPartition(o.topic(), o.partition()), o.offset()));
        return next;
    }

    static List<Offset> offsets(Map<TopicPartition, Long> next) {
        return next.entrySet().stream()
                .map(e -> new Offset(e.getKey().topic(), e.getKey().partition(), e.getValue()))
                .sorted(java.util.Comparator.comparing(Offset::topic).thenComparingInt(Offset::partition))
                .toList();
    }

    byte[] toBytes() {
        try {
            return JSON.writeValueAsBytes(this);
        } catch (IOException e) {
            throw new KafkaMlException("Cannot write an incremental checkpoint: " + e.getMessage(), e);
        }
    }

    static Checkpoint fromBytes(byte[] bytes, String id) {
        try {
            return JSON.readValue(bytes, Checkpoint.class);
        } catch (IOException e) {
            throw new KafkaMlException("The incremental checkpoint '" + id + "' cannot be read: " + e.getMessage(), e);
        }
    }
}
