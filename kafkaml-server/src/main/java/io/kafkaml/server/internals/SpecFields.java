package io.kafkaml.server.internals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kafkaml.dataset.BadRecordPolicy;
import io.kafkaml.dataset.SplitOrder;
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
 * ({@code standardize}, {@code min-max}) or as their Java names. Stateless.
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

    private SpecFields() {}

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

    private static ApiException refused(String field, String expected, JsonNode value) {
        return new ApiException(400, "spec." + field + " must be " + expected + ", got " + value);
    }

    private static List<String> names(Enum<?>[] values) {
        return Arrays.stream(values).map(Enum::name).toList();
    }
}
