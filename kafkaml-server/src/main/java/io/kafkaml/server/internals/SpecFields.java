package io.kafkaml.server.internals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kafkaml.dataset.BadRecordPolicy;
import io.kafkaml.dataset.SplitOrder;
import io.kafkaml.training.IncrementalSpec;
import io.kafkaml.training.Normalization;
import io.kafkaml.training.TrainingSpec;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The {@code spec} of {@code POST /deployments} checked field by field before {@link TrainingSpec#fromMap} reads it
 * (which is lenient, as it reads records written by other versions): each field has its JSON type (an integer is a
 * whole number, a flag a JSON boolean, a choice one of its names), an unknown field is refused, and a refusal names
 * {@code spec.<field>} and the value sent, never a Java exception. Choices are read as the command line writes them
 * ({@code standardize}, {@code min-max}) or as their Java names. The objects {@code spec.incremental} and
 * {@code spec.semiSupervised} are checked the same way, key by key ({@code spec.incremental.<key>}), before
 * {@link IncrementalSpec#fromMap} and {@code SemiSupervisedSpec.fromMap} (as lenient) read them. Stateless.
 */
final class SpecFields {

    private static final Set<String> INTEGERS = Set.of(
            "batchSize",
            "epochs",
            "stepsPerEpoch",
            "seed",
            "evaluationBatchSize",
            "cacheBudgetBytes",
            "earlyStoppingPatience",
            "controlTimeoutMs");
    private static final Set<String> FLAGS = Set.of("shuffle", "reuseStream");
    private static final Set<String> OBJECTS = Set.of("incremental", "semiSupervised");
    private static final Map<String, List<String>> CHOICES = Map.of(
            "normalization", names(Normalization.values()),
            "splitOrder", names(SplitOrder.values()),
            "badRecordPolicy", names(BadRecordPolicy.values()));

    /** The typed keys of {@code spec.incremental}: JSON type by key ("integer", "flag", "number", "text", "choice"). */
    private static final Map<String, String> INCREMENTAL = Map.ofEntries(
            Map.entry("groupId", "text"),
            Map.entry("windowRecords", "integer"),
            Map.entry("windowTimeMs", "integer"),
            Map.entry("streamTimeoutMs", "integer"),
            Map.entry("maxWindows", "integer"),
            Map.entry("indefinite", "flag"),
            Map.entry("monitoringMetric", "text"),
            Map.entry("change", "choice"),
            Map.entry("improvement", "number"),
            Map.entry("badRecordPolicy", "choice"),
            Map.entry("deadLetterTopic", "text"));

    private static final Map<String, List<String>> INCREMENTAL_CHOICES =
            Map.of("change", List.of("UP", "DOWN"), "badRecordPolicy", names(BadRecordPolicy.values()));
    /** The keys of {@code spec.semiSupervised}, both required. */
    private static final Map<String, String> SEMI_SUPERVISED = Map.of("rounds", "integer", "confidence", "number");

    private SpecFields() {}

    /**
     * The keys {@code spec.incremental} accepts: the typed ones and any other {@link IncrementalSpec#toMap()} writes
     * (a setting added there is accepted, unchecked, rather than refused).
     */
    static Set<String> incrementalFields() {
        Set<String> fields = new TreeSet<>(INCREMENTAL.keySet());
        fields.addAll(IncrementalSpec.builder().build().toMap().keySet());
        return fields;
    }

    /**
     * The spec as {@link TrainingSpec#fromMap} reads it, choices in their Java names.
     *
     * @param spec the request's {@code spec}: a JSON object, or null/missing for the defaults
     * @throws ApiException 400 naming the field and the value when a field is unknown or of the wrong type
     */
    static Map<String, Object> check(JsonNode spec, ObjectMapper json) {
        if (spec == null || spec.isNull()) {
            return Map.of();
        }
        if (!spec.isObject()) {
            throw new ApiException(400, "Field 'spec' must be a JSON object of TrainingSpec fields, got " + spec);
        }
        List<String> unknown = new java.util.ArrayList<>();
        spec.fieldNames().forEachRemaining(field -> {
            if (!TrainingSpec.fieldNames().contains(field)) {
                unknown.add(field);
            }
        });
        if (!unknown.isEmpty()) {
            throw new ApiException(
                    400,
                    "Unknown training spec field(s) "
                            + unknown.stream().sorted().toList() + "; the fields are "
                            + new TreeSet<>(TrainingSpec.fieldNames()));
        }
        ObjectNode checked = ((ObjectNode) spec).deepCopy();
        spec.properties().forEach(entry -> {
            String field = entry.getKey();
            JsonNode value = entry.getValue();
            if (value.isNull()) {
                checked.remove(field); // the default
                return;
            }
            if (INTEGERS.contains(field)
                    && !(value.isNumber() && value.canConvertToExactIntegral() && value.canConvertToLong())) {
                throw refused(field, "an integer", value);
            }
            if (FLAGS.contains(field) && !value.isBoolean()) {
                throw refused(field, "true or false", value);
            }
            if (OBJECTS.contains(field) && !value.isObject()) {
                throw refused(field, "a JSON object", value);
            }
            if ("incremental".equals(field)) {
                checked.set(field, nested(field, value, INCREMENTAL, incrementalFields(), INCREMENTAL_CHOICES));
            }
            if ("semiSupervised".equals(field)) {
                ObjectNode semi = nested(field, value, SEMI_SUPERVISED, SEMI_SUPERVISED.keySet(), Map.of());
                for (String key : new TreeSet<>(SEMI_SUPERVISED.keySet())) {
                    if (!semi.has(key)) {
                        throw new ApiException(
                                400, "spec.semiSupervised." + key + " is required (the keys are rounds, confidence)");
                    }
                }
                checked.set(field, semi);
            }
            if ("decisionThreshold".equals(field) && !value.isNumber()) {
                throw refused(field, "a number", value);
            }
            if ("earlyStoppingMetric".equals(field) && !value.isTextual()) {
                throw refused(field, "a metric name (loss, accuracy, ...)", value);
            }
            List<String> choices = CHOICES.get(field);
            if (choices != null) {
                String name = value.isTextual()
                        ? value.asText().trim().toUpperCase(Locale.ROOT).replace('-', '_')
                        : "";
                if (!choices.contains(name)) {
                    throw refused(
                            field,
                            "one of "
                                    + choices.stream()
                                            .map(c -> c.toLowerCase(Locale.ROOT).replace('_', '-'))
                                            .toList(),
                            value);
                }
                checked.put(field, name);
            }
        });
        if (checked.has("earlyStoppingPatience") && !checked.has("earlyStoppingMetric")) {
            throw new ApiException(
                    400,
                    "spec.earlyStoppingPatience needs spec.earlyStoppingMetric (the metric whose lack of improvement "
                            + "stops the training)");
        }
        return json.convertValue(checked, new com.fasterxml.jackson.core.type.TypeReference<Map<String, Object>>() {});
    }

    /**
     * A nested object's keys checked: an unknown key refused with the known ones, each typed key of its type, a null
     * removed (the default), choices in their Java names.
     */
    private static ObjectNode nested(
            String object,
            JsonNode value,
            Map<String, String> types,
            Set<String> known,
            Map<String, List<String>> choices) {
        List<String> unknown = new java.util.ArrayList<>();
        value.fieldNames().forEachRemaining(key -> {
            if (!known.contains(key)) {
                unknown.add(key);
            }
        });
        if (!unknown.isEmpty()) {
            throw new ApiException(
                    400,
                    "Unknown spec." + object + " field(s) "
                            + unknown.stream()
                                    .map(k -> "spec." + object + "." + k)
                                    .sorted()
                                    .toList()
                            + "; the fields are " + new TreeSet<>(known));
        }
        ObjectNode checked = ((ObjectNode) value).deepCopy();
        value.properties().forEach(entry -> {
            String key = entry.getKey();
            String field = object + "." + key;
            JsonNode item = entry.getValue();
            if (item.isNull()) {
                checked.remove(key);
                return;
            }
            String type = types.getOrDefault(key, "");
            switch (type) {
                case "integer" -> {
                    if (!(item.isNumber() && item.canConvertToExactIntegral() && item.canConvertToLong())) {
                        throw refused(field, "an integer", item);
                    }
                }
                case "flag" -> {
                    if (!item.isBoolean()) {
                        throw refused(field, "true or false", item);
                    }
                }
                case "number" -> {
                    if (!item.isNumber()) {
                        throw refused(field, "a number", item);
                    }
                }
                case "text" -> {
                    if (!item.isTextual() || item.asText().isBlank()) {
                        throw refused(field, "a non-empty string", item);
                    }
                }
                case "choice" -> {
                    List<String> names = choices.get(key);
                    String name = item.isTextual()
                            ? item.asText().trim().toUpperCase(Locale.ROOT).replace('-', '_')
                            : "";
                    if (!names.contains(name)) {
                        throw refused(
                                field,
                                "one of "
                                        + names.stream()
                                                .map(c -> c.toLowerCase(Locale.ROOT)
                                                        .replace('_', '-'))
                                                .toList(),
                                item);
                    }
                    checked.put(key, name);
                }
                default -> {
                    // a key IncrementalSpec writes that this check does not type: its own reader checks it
                }
            }
        });
        return checked;
    }

    private static ApiException refused(String field, String expected, JsonNode value) {
        return new ApiException(400, "spec." + field + " must be " + expected + ", got " + value);
    }

    private static List<String> names(Enum<?>[] values) {
        return Arrays.stream(values).map(Enum::name).toList();
    }
}
