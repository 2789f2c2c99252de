package io.kafkaml.format;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Reads a format's {@code input_config} with errors that name the format and the setting: a helper for
 * {@link RecordFormat} implementations.
 *
 * <pre>{@code
 * FormatConfig config = FormatConfig.of("RAW", inputConfig, Set.of("data_type", "data_reshape"));
 * long[] shape = config.shape("data_reshape");
 * }</pre>
 *
 * <p>Thread safety: immutable after {@link #of} and thread-safe. Lifecycle: a value, no resources.
 */
public final class FormatConfig {

    /** The most floats one record may flatten to (512 MiB of floats): larger shapes are rejected unallocated. */
    public static final long MAX_ELEMENTS_PER_RECORD = 1L << 27;

    private final String format;
    private final Map<String, ?> settings;

    private FormatConfig(String format, Map<String, ?> settings) {
        this.format = format;
        this.settings = settings;
    }

    /**
     * Wraps {@code settings}, rejecting keys outside {@code known}.
     *
     * @throws InvalidFormatConfigException naming the unknown keys and listing the known ones
     */
    public static FormatConfig of(String format, Map<String, ?> settings, Set<String> known) {
        Map<String, ?> safe = settings == null ? Map.of() : settings;
        Set<String> unknown = new LinkedHashSet<>(safe.keySet());
        unknown.removeAll(known);
        if (!unknown.isEmpty()) {
            throw new InvalidFormatConfigException(
                    format + " input_config has unknown setting" + (unknown.size() > 1 ? "s " : " ") + unknown
                            + "; the known settings are " + new java.util.TreeSet<>(known));
        }
        return new FormatConfig(format, safe);
    }

    /** The format's name, for messages. */
    public String format() {
        return format;
    }

    /** Whether the setting is present and not null. */
    public boolean has(String key) {
        return settings.get(key) != null;
    }

    /** A text setting; numbers and booleans are given as their text. */
    public Optional<String> text(String key) {
        Object value = settings.get(key);
        if (value == null) {
            return Optional.empty();
        }
        if (value instanceof String || value instanceof Number || value instanceof Boolean) {
            return Optional.of(value.toString());
        }
        throw invalid(key, value, "a string");
    }

    /** A required text setting. */
    public String requiredText(String key) {
        return text(key)
                .orElseThrow(() -> new InvalidFormatConfigException(format + " input_config needs '" + key + "'"));
    }

    /** A list of strings; a single string is a one-element list. */
    public Optional<List<String>> textList(String key) {
        Object value = settings.get(key);
        if (value == null) {
            return Optional.empty();
        }
        if (value instanceof String text) {
            return Optional.of(Arrays.stream(text.split(","))
                    .map(String::trim)
                    .filter(s -> !s.isEmpty())
                    .toList());
        }
        if (value instanceof List<?> list) {
            List<String> texts = new ArrayList<>();
            for (Object item : list) {
                if (!(item instanceof String text)) {
                    throw invalid(key, value, "a list of strings");
                }
                texts.add(text);
            }
            return Optional.of(List.copyOf(texts));
        }
        throw invalid(key, value, "a list of strings");
    }

    /** A number setting. */
    public Optional<Double> number(String key) {
        Object value = settings.get(key);
        if (value == null) {
            return Optional.empty();
        }
        if (value instanceof Number number) {
            return Optional.of(number.doubleValue());
        }
        if (value instanceof String text) {
            try {
                return Optional.of(Double.parseDouble(text.trim()));
            } catch (NumberFormatException e) {
                throw invalid(key, value, "a number");
            }
        }
        throw invalid(key, value, "a number");
    }

    /** A boolean setting. */
    public Optional<Boolean> bool(String key) {
        Object value = settings.get(key);
        if (value == null) {
            return Optional.empty();
        }
        if (value instanceof Boolean b) {
            return Optional.of(b);
        }
        if (value instanceof String text && (text.equalsIgnoreCase("true") || text.equalsIgnoreCase("false"))) {
            return Optional.of(Boolean.parseBoolean(text));
        }
        throw invalid(key, value, "true or false");
    }

    /** A map setting (for example per-field defaults). */
    @SuppressWarnings("unchecked")
    public Map<String, Object> map(String key) {
        Object value = settings.get(key);
        if (value == null) {
            return Map.of();
        }
        if (value instanceof Map<?, ?> map) {
            return (Map<String, Object>) map;
        }
        throw invalid(key, value, "a JSON object");
    }

    /**
     * A shape: space-separated positive dimensions ({@code "28 28"}), also accepted as a JSON list of numbers;
     * empty or absent is a scalar ({@code []}).
     *
     * @throws InvalidFormatConfigException if a dimension is not a positive integer, or the shape holds more than
     *     {@link #MAX_ELEMENTS_PER_RECORD} elements (checked before anything is allocated)
     */
    public long[] shape(String key) {
        Object value = settings.get(key);
        List<String> dims = new ArrayList<>();
        if (value instanceof List<?> list) {
            list.forEach(item -> dims.add(String.valueOf(item)));
        } else if (value != null) {
            String text = value.toString()
                    .trim()
                    .replace("(", "")
                    .replace(")", "")
                    .replace(",", " ")
                    .replace("[", "")
                    .replace("]", "");
            if (!text.isEmpty()) {
                dims.addAll(Arrays.asList(text.split("\\s+")));
            }
        }
        long[] shape = new long[dims.size()];
        long elements = 1;
        for (int i = 0; i < shape.length; i++) {
            long dim;
            try {
                dim = Long.parseLong(dims.get(i).trim());
            } catch (NumberFormatException e) {
                throw invalid(
                        key, value, "space-separated positive integers such as \"28 28\" (or empty for a scalar)");
            }
            if (dim <= 0) {
                throw invalid(
                        key, value, "space-separated positive integers such as \"28 28\" (or empty for a scalar)");
            }
            shape[i] = dim;
            elements = elements > MAX_ELEMENTS_PER_RECORD
                    ? elements
                    : elements * Math.min(dim, MAX_ELEMENTS_PER_RECORD + 1);
        }
        if (elements > MAX_ELEMENTS_PER_RECORD) {
            throw new InvalidFormatConfigException(
                    format + " input_config '" + key + "' = " + describe(value) + " declares more than "
                            + MAX_ELEMENTS_PER_RECORD + " elements per record; refusing to allocate it");
        }
        return shape;
    }

    /** The number of elements of a shape ({@code 1} for a scalar). */
    public static int elements(long[] shape) {
        long elements = 1;
        for (long dim : shape) {
            elements *= dim;
        }
        return Math.toIntExact(elements);
    }

    /** An error for a bad value of {@code key}. */
    public InvalidFormatConfigException invalid(String key, Object value, String expected) {
        return new InvalidFormatConfigException(
                format + " input_config '" + key + "' = " + describe(value) + " is not valid; expected " + expected);
    }

    private static String describe(Object value) {
        return value instanceof String ? "\"" + value + "\"" : String.valueOf(value);
    }
}
