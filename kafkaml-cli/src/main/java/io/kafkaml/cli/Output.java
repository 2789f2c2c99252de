package io.kafkaml.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/** Prints JSON for scripts and aligned columns for people. */
final class Output {

    static final ObjectMapper JSON = new ObjectMapper()
            .registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);

    private Output() {}

    static void json(PrintWriter out, Object value) {
        try {
            out.println(JSON.writeValueAsString(value));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("Cannot write JSON: " + e.getMessage(), e);
        }
        out.flush();
    }

    /** A table: a header row and rows, columns padded to their widest cell. */
    static void table(PrintWriter out, List<String> header, List<List<String>> rows) {
        int[] widths = new int[header.size()];
        for (int i = 0; i < header.size(); i++) {
            widths[i] = header.get(i).length();
            for (List<String> row : rows) {
                widths[i] = Math.max(widths[i], row.get(i).length());
            }
        }
        out.println(line(header, widths));
        rows.forEach(row -> out.println(line(row, widths)));
        out.flush();
    }

    private static String line(List<String> cells, int[] widths) {
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < cells.size(); i++) {
            String cell = cells.get(i);
            line.append(cell);
            if (i < cells.size() - 1) {
                line.append(" ".repeat(widths[i] - cell.length() + 2));
            }
        }
        return line.toString().stripTrailing();
    }

    static String metrics(Map<String, Double> metrics) {
        return metrics(metrics, "");
    }

    /**
     * Metrics as {@code name=value} pairs in one order everywhere: {@code loss} first, then the others
     * alphabetically; each name is prefixed with {@code prefix} (Keras' {@code val_} for validation metrics).
     */
    static String metrics(Map<String, Double> metrics, String prefix) {
        return metrics.entrySet().stream()
                .sorted(java.util.Comparator.comparing((Map.Entry<String, Double> e) -> !"loss".equals(e.getKey()))
                        .thenComparing(Map.Entry::getKey))
                .map(e -> prefix + e.getKey() + "=" + String.format("%.4f", e.getValue()))
                .collect(Collectors.joining(" "));
    }

    /**
     * One window of an incremental run: its records, the training loss, the prequential metrics ({@code preq_}: the
     * model before the window, on all its records) and the hold-out ones ({@code val_}).
     */
    static String window(String deploymentId, String model, io.kafkaml.registry.EpochMetrics window) {
        return String.format(
                "[%s] %s window %d (%d records%s) loss %.4f %s %s",
                deploymentId,
                model,
                window.epoch(),
                window.records(),
                window.badRecords() == 0 ? "" : ", " + window.badRecords() + " bad left out",
                window.loss(),
                metrics(window.prequential(), "preq_"),
                metrics(window.validation(), "val_"));
    }
}
