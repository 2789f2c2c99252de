package io.kafkaml.keras;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Rewrites the {@code model_config} and {@code training_config} JSON of a Keras 2 HDF5 file into the form
 * DL4J 1.0.0-M2.1's Keras import reads, before it reads them. DL4J's import was written for Keras ≤ 2.10; the
 * files of Keras 2.11–2.15 differ in what {@code model.compile} records:
 *
 * <ul>
 * <li>the new optimizers (2.11) write no {@code decay}, and add {@code is_legacy_optimizer}, {@code weight_decay},
 *     {@code use_ema}, {@code clipnorm}, {@code jit_compile}...; DL4J unboxes {@code decay} and fails with a
 *     {@code NullPointerException} when it is missing. It becomes 0 (what the new optimizers do).</li>
 * <li>class names such as {@code Custom>Adam} or {@code keras.optimizers.legacy.Adam}, matched case-sensitively by
 *     DL4J, become its names ({@code Adam}, {@code SGD}, {@code RMSprop}, ...; Adagrad is DL4J's {@code Adgrad}).</li>
 * <li>numbers written as integers ({@code "learning_rate": 1}, {@code "momentum": 0}) become doubles (DL4J casts
 *     to {@code Double}); {@code lr} (Keras ≤ 2.2) and {@code learning_rate} are both understood; missing
 *     hyper-parameters take Keras' defaults.</li>
 * <li>a loss given as an object ({@code {"class_name": "SparseCategoricalCrossentropy", "config": {...}}}, or
 *     {@code "class_name": "function"} in 2.13+) becomes its function name, which DL4J maps
 *     ({@code sparse_categorical_crossentropy} → {@code SPARSE_MCXENT}).</li>
 * <li>{@code from_logits=True}: Keras applies the softmax (categorical losses) or sigmoid (binary) inside the loss;
 *     the output layer's {@code linear} activation is replaced by it, so the imported network trains the same way
 *     and outputs probabilities instead of logits. An output layer with another activation is refused.</li>
 * </ul>
 *
 * <p>What DL4J cannot train the same way is reported as a problem rather than approximated silently: learning-rate
 * schedules, {@code weight_decay}, {@code use_ema}, gradient clipping, {@code amsgrad}, a centered or momentum
 * RMSprop, label smoothing, {@code ignore_class}, loss weights other than 1, optimizers without a DL4J counterpart
 * (AdamW, Ftrl, Lion, ...). Such a model still imports, for inference; it cannot be deployed for training.
 *
 * <p>Stateless and thread-safe.
 */
final class KerasConfigs {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Keras' optimizer names (lower case) → the names DL4J 1.0.0-M2.1 matches. */
    private static final Map<String, String> OPTIMIZERS = Map.of(
            "adam",
            "Adam",
            "adadelta",
            "Adadelta",
            "adagrad",
            "Adgrad",
            "adamax",
            "Adamax",
            "nadam",
            "Nadam",
            "sgd",
            "SGD",
            "rmsprop",
            "RMSprop");

    /** Keras' defaults of the hyper-parameters DL4J reads without a default of its own. */
    private static final Map<String, Double> DEFAULTS = Map.of(
            "beta_1",
            0.9,
            "beta_2",
            0.999,
            "epsilon",
            1e-7,
            "rho",
            0.9,
            "momentum",
            0.0,
            "decay",
            0.0,
            "schedule_decay",
            0.004);

    private static final Set<String> CATEGORICAL =
            Set.of("categorical_crossentropy", "sparse_categorical_crossentropy");

    private KerasConfigs() {}

    /**
     * A rewritten pair of configurations.
     *
     * @param modelJson the model configuration to import
     * @param trainingJson the training configuration to import, or {@code null} when there is none usable
     * @param problem why the training configuration cannot be used, or {@code null}
     * @param notes what was changed that a user should know (logged as warnings)
     */
    record Normalized(String modelJson, String trainingJson, String problem, List<String> notes) {}

    /**
     * Rewrites the configurations.
     *
     * @param modelJson the file's {@code model_config}, with {@code keras_version} and {@code backend} added
     * @param trainingJson the file's {@code training_config}, or {@code null}
     */
    static Normalized normalize(String modelJson, String trainingJson) {
        Map<String, Object> model = parse(modelJson, "model_config");
        List<String> notes = new ArrayList<>();
        if (trainingJson == null) {
            return new Normalized(
                    modelJson,
                    null,
                    "the file has no training_config (the model was saved without "
                            + "model.compile(loss=..., optimizer=...)), so it has no loss to train with",
                    notes);
        }
        Map<String, Object> training = parse(trainingJson, "training_config");
        List<String> problems = new ArrayList<>();
        normalizeOptimizer(training, problems, notes);
        normalizeLoss(training, model, problems, notes);
        Object weights = training.get("loss_weights");
        if (weights != null && !allOnes(weights)) {
            problems.add("loss_weights " + weights + " (DL4J weighs every output's loss equally)");
        }
        if (!problems.isEmpty()) {
            return new Normalized(
                    write(model),
                    null,
                    "its training configuration cannot be imported: " + String.join("; ", problems),
                    notes);
        }
        return new Normalized(write(model), write(training), null, notes);
    }

    @SuppressWarnings("unchecked")
    private static void normalizeOptimizer(Map<String, Object> training, List<String> problems, List<String> notes) {
        if (!(training.get("optimizer_config") instanceof Map<?, ?> optimizer)) {
            problems.add("it has no optimizer_config");
            return;
        }
        Map<String, Object> config = (Map<String, Object>) optimizer;
        String written = String.valueOf(config.get("class_name"));
        String plain = written.substring(Math.max(written.lastIndexOf('>'), written.lastIndexOf('.')) + 1);
        String name = OPTIMIZERS.get(plain.toLowerCase(Locale.ROOT));
        if (name == null) {
            problems.add("the optimizer '" + written + "' has no DL4J counterpart (supported: Adam, Adadelta, Adagrad, "
                    + "Adamax, Nadam, SGD, RMSprop)");
            return;
        }
        config.put("class_name", name);
        if (!(config.get("config") instanceof Map<?, ?>)) {
            problems.add("the optimizer '" + written + "' has no config");
            return;
        }
        Map<String, Object> parameters = (Map<String, Object>) config.get("config");
        Object rate = parameters.containsKey("learning_rate") ? parameters.get("learning_rate") : parameters.get("lr");
        if (rate instanceof Map<?, ?> schedule) {
            problems.add("the learning rate is a schedule (" + schedule.get("class_name") + "), which is not imported");
        } else if (!(rate instanceof Number)) {
            problems.add("the optimizer '" + written + "' has no numeric learning rate (" + rate + ")");
        } else {
            parameters.put("lr", ((Number) rate).doubleValue());
            parameters.put("learning_rate", ((Number) rate).doubleValue());
        }
        for (Map.Entry<String, Double> parameter : DEFAULTS.entrySet()) {
            Object value = parameters.get(parameter.getKey());
            parameters.put(parameter.getKey(), value instanceof Number n ? n.doubleValue() : parameter.getValue());
        }
        if (name.equals("SGD")) {
            parameters.remove("epsilon"); // DL4J reads an SGD's momentum from "epsilon" when that key exists
            if (((Number) parameters.get("momentum")).doubleValue() != 0
                    && !Boolean.TRUE.equals(parameters.get("nesterov"))) {
                notes.add("SGD with momentum is imported as DL4J's Nesterovs (Nesterov momentum; Keras' nesterov=False "
                        + "uses classical momentum)");
            }
        }
        refuseIf(
                problems,
                parameters.get("weight_decay"),
                v -> v instanceof Number n && n.doubleValue() != 0,
                "weight_decay");
        refuseIf(problems, parameters.get("use_ema"), Boolean.TRUE::equals, "use_ema");
        for (String clip : List.of("clipnorm", "clipvalue", "global_clipnorm")) {
            refuseIf(problems, parameters.get(clip), v -> v != null, clip);
        }
        refuseIf(problems, parameters.get("amsgrad"), Boolean.TRUE::equals, "amsgrad");
        if (name.equals("RMSprop")) {
            refuseIf(problems, parameters.get("centered"), Boolean.TRUE::equals, "centered RMSprop");
            refuseIf(problems, parameters.get("momentum"), v -> ((Number) v).doubleValue() != 0, "RMSprop momentum");
        }
    }

    private static void refuseIf(
            List<String> problems, Object value, java.util.function.Predicate<Object> set, String what) {
        if (set.test(value)) {
            problems.add(what + " = " + value + " (DL4J's updaters have no equivalent)");
        }
    }

    @SuppressWarnings("unchecked")
    private static void normalizeLoss(
            Map<String, Object> training, Map<String, Object> model, List<String> problems, List<String> notes) {
        Object loss = training.get("loss");
        if (loss instanceof List<?> list) {
            List<String> outputs = outputLayers(model);
            if (list.size() == 1) {
                loss = list.get(0);
            } else if (list.size() == outputs.size()) {
                Map<String, Object> byOutput = new LinkedHashMap<>();
                for (int i = 0; i < list.size(); i++) {
                    byOutput.put(outputs.get(i), list.get(i));
                }
                loss = byOutput;
            } else {
                problems.add("it lists " + list.size() + " losses for " + outputs.size() + " outputs");
                return;
            }
        }
        if (loss == null) {
            problems.add("it has no loss");
            return;
        }
        if (loss instanceof String || isLossObject(loss)) {
            LossName name = lossName(loss, problems);
            if (name != null) {
                training.put("loss", name.name());
                for (String output : outputLayers(model)) {
                    applyLogits(model, output, name, problems, notes);
                }
            }
            return;
        }
        if (loss instanceof Map<?, ?> byOutput) {
            Map<String, Object> names = new LinkedHashMap<>();
            for (Map.Entry<String, Object> entry : ((Map<String, Object>) byOutput).entrySet()) {
                LossName name = lossName(entry.getValue(), problems);
                if (name != null) {
                    names.put(entry.getKey(), name.name());
                    applyLogits(model, entry.getKey(), name, problems, notes);
                }
            }
            training.put("loss", names);
            return;
        }
        problems.add("its loss " + loss + " is neither a name, a loss object nor one per output");
    }

    /** A loss function's name and whether Keras applies it to logits. */
    private record LossName(String name, boolean fromLogits) {}

    private static boolean isLossObject(Object loss) {
        return loss instanceof Map<?, ?> map && map.containsKey("class_name");
    }

    @SuppressWarnings("unchecked")
    private static LossName lossName(Object loss, List<String> problems) {
        if (loss instanceof String name) {
            return new LossName(snakeCase(name), false);
        }
        if (!isLossObject(loss)) {
            problems.add("the loss " + loss + " is not a name or a loss object");
            return null;
        }
        Map<String, Object> object = (Map<String, Object>) loss;
        String className = String.valueOf(object.get("class_name"));
        Object config = object.get("config");
        if (className.equals("function")) { // Keras 2.13+: a loss function passed by reference
            return new LossName(
                    snakeCase(String.valueOf(config instanceof String ? config : object.get("registered_name"))),
                    false);
        }
        Map<String, Object> parameters = config instanceof Map<?, ?> ? (Map<String, Object>) config : Map.of();
        Object smoothing = parameters.get("label_smoothing");
        if (smoothing instanceof Number n && n.doubleValue() != 0) {
            problems.add("label_smoothing = " + smoothing + " in " + className);
        }
        if (parameters.get("ignore_class") != null) {
            problems.add("ignore_class = " + parameters.get("ignore_class") + " in " + className);
        }
        return new LossName(snakeCase(className), Boolean.TRUE.equals(parameters.get("from_logits")));
    }

    /** {@code SparseCategoricalCrossentropy} → {@code sparse_categorical_crossentropy}; snake_case names stay. */
    static String snakeCase(String name) {
        String plain = name.substring(name.lastIndexOf('>') + 1);
        if (plain.equals(plain.toLowerCase(Locale.ROOT))) {
            return plain;
        }
        String snake = plain.replaceAll("([A-Z])([A-Z][a-z])", "$1_$2")
                .replaceAll("([a-z0-9])([A-Z])", "$1_$2")
                .toLowerCase(Locale.ROOT);
        return snake.equals("kl_divergence") ? "kullback_leibler_divergence" : snake;
    }

    /** With {@code from_logits=True}, moves the loss' softmax or sigmoid into the output layer's activation. */
    @SuppressWarnings("unchecked")
    private static void applyLogits(
            Map<String, Object> model, String output, LossName loss, List<String> problems, List<String> notes) {
        if (!loss.fromLogits()) {
            return;
        }
        String activation = CATEGORICAL.contains(loss.name())
                ? "softmax"
                : loss.name().equals("binary_crossentropy") ? "sigmoid" : null;
        if (activation == null) {
            problems.add("from_logits=True with the loss " + loss.name());
            return;
        }
        Map<String, Object> layer = layer(model, output);
        Map<String, Object> config = layer == null ? null : (Map<String, Object>) layer.get("config");
        Object current = config == null ? null : config.get("activation");
        if (!"linear".equals(current)) {
            problems.add("from_logits=True but the output layer '" + output + "' has the activation " + current
                    + " instead of linear");
            return;
        }
        config.put("activation", activation);
        notes.add("from_logits=True: the " + activation + " Keras applies inside the loss " + loss.name()
                + " is now the activation of output layer '" + output + "', so the model outputs probabilities, "
                + "not logits");
    }

    /** The names of the output layers: the last layer of a Sequential model, {@code output_layers} otherwise. */
    @SuppressWarnings("unchecked")
    static List<String> outputLayers(Map<String, Object> model) {
        Map<String, Object> config = model.get("config") instanceof Map<?, ?> c ? (Map<String, Object>) c : Map.of();
        List<String> names = new ArrayList<>();
        if (config.get("output_layers") instanceof List<?> outputs) {
            for (Object output : outputs) {
                names.add(String.valueOf(output instanceof List<?> l && !l.isEmpty() ? l.get(0) : output));
            }
        } else if (config.get("layers") instanceof List<?> layers && !layers.isEmpty()) {
            Object last = layers.get(layers.size() - 1);
            names.add(String.valueOf(((Map<String, Object>) ((Map<String, Object>) last).get("config")).get("name")));
        }
        return names;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> layer(Map<String, Object> model, String name) {
        Map<String, Object> config = model.get("config") instanceof Map<?, ?> c ? (Map<String, Object>) c : Map.of();
        if (config.get("layers") instanceof List<?> layers) {
            for (Object layer : layers) {
                Map<String, Object> map = (Map<String, Object>) layer;
                Object layerConfig = map.get("config");
                if (name.equals(map.get("name"))
                        || layerConfig instanceof Map<?, ?> lc && name.equals(lc.get("name"))) {
                    return map;
                }
            }
        }
        return null;
    }

    private static boolean allOnes(Object weights) {
        if (weights instanceof Number n) {
            return n.doubleValue() == 1;
        }
        if (weights instanceof List<?> list) {
            return list.stream().allMatch(KerasConfigs::allOnes);
        }
        if (weights instanceof Map<?, ?> map) {
            return map.values().stream().allMatch(KerasConfigs::allOnes);
        }
        return false;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> parse(String json, String what) {
        try {
            Object value = JSON.readValue(json, Object.class);
            if (value instanceof Map<?, ?>) {
                return (Map<String, Object>) value;
            }
            throw new IllegalArgumentException("the " + what + " attribute is not a JSON object");
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("the " + what + " attribute is not JSON: " + e.getOriginalMessage(), e);
        }
    }

    static String write(Map<String, Object> value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a parsed configuration cannot be written back", e);
        }
    }
}
