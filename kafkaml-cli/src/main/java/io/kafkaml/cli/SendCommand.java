package io.kafkaml.cli;

import io.kafkaml.control.ControlMessage;
import io.kafkaml.sink.DataSink;
import io.kafkaml.sink.RecordDataSink;
import io.kafkaml.stream.StreamSlice;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kafkaml send}: streams a CSV file (header row; the numeric columns other than the label, in file order,
 * are the features) through the data sink of a format and sends the control message.
 */
@Command(name = "send", mixinStandardHelpOptions = true,
        description = "Stream a CSV file to a topic for a deployment and send the control message.")
final class SendCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;
    @Mixin
    ClientOptions client;
    @Option(names = "--file", required = true, paramLabel = "DATA.csv", description = "CSV with a header row")
    Path file;
    @Option(names = "--label", required = true, paramLabel = "COLUMN", description = "The label column")
    String label;
    @Option(names = "--format", required = true, paramLabel = "RAW|AVRO|JSON", description = "The record format")
    String format;
    @Option(names = "--topic", required = true, paramLabel = "T", description = "The data topic")
    String topic;
    @Option(names = "--deployment-id", required = true, paramLabel = "ID", description = "The deployment to feed")
    String deploymentId;
    @Option(names = "--validation-rate", defaultValue = "0", description = "Default: ${DEFAULT-VALUE}")
    double validationRate;
    @Option(names = "--test-rate", defaultValue = "0", description = "Default: ${DEFAULT-VALUE}")
    double testRate;
    @Option(names = "--control-topic", paramLabel = "TOPIC",
            description = "The control topic (default: $KAFKAML_CONTROL_TOPIC, else KAFKA_ML_CONTROL_TOPIC)")
    String controlTopic;

    @Override
    public Integer call() throws IOException {
        Csv csv = Csv.read(file, label);
        String name = format.toUpperCase(Locale.ROOT);
        Map<String, Object> inputConfig = switch (name) {
            case "RAW" -> Map.of("data_type", "float32", "label_type", csv.integralLabels ? "int32" : "float32",
                    "data_reshape", String.valueOf(csv.features.size()), "label_reshape", "");
            case "JSON" -> Map.of("data_fields", csv.features, "label_field", csv.label);
            case "AVRO" -> avroConfig(csv);
            default -> throw new IllegalArgumentException("--format must be RAW, AVRO or JSON, was '" + format + "'");
        };
        RecordDataSink sink = RecordDataSink.builder(client.clientConfig()).format(name).inputConfig(inputConfig)
                .topic(topic).deploymentId(deploymentId).controlTopic(client.controlTopic(controlTopic)).validationRate(validationRate)
                .testRate(testRate).description(file.getFileName().toString())
                .partitioning(DataSink.Partitioning.ROUND_ROBIN).build();
        try {
            for (int i = 0; i < csv.rows.size(); i++) {
                sink.send(csv.rows.get(i), csv.labels.get(i));
            }
        } finally {
            sink.close(); // flushes, then sends the control message (none if a record failed)
        }
        ControlMessage message = sink.controlMessage();
        spec.commandLine().getOut().println("sent " + message.totalMessages() + " records "
                + StreamSlice.formatList(message.slices()) + " for deployment " + deploymentId);
        return 0;
    }

    private static Map<String, Object> avroConfig(Csv csv) {
        StringBuilder data = new StringBuilder("{\"type\":\"record\",\"name\":\"Features\",\"fields\":[");
        for (int i = 0; i < csv.features.size(); i++) {
            data.append(i == 0 ? "" : ",").append("{\"name\":\"").append(avroName(csv.features.get(i)))
                    .append("\",\"type\":\"double\"}");
        }
        data.append("]}");
        String label = "{\"type\":\"record\",\"name\":\"Label\",\"fields\":[{\"name\":\"" + avroName(csv.label)
                + "\",\"type\":\"" + (csv.integralLabels ? "int" : "double") + "\"}]}";
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("data_scheme", data.toString());
        config.put("label_scheme", label);
        return config;
    }

    private static String avroName(String column) {
        String name = column.replaceAll("[^A-Za-z0-9_]", "_");
        return Character.isDigit(name.charAt(0)) ? "_" + name : name;
    }

    /** A CSV table: feature rows and labels. */
    static final class Csv {
        final List<String> features = new ArrayList<>();
        final List<double[]> rows = new ArrayList<>();
        final List<Double> labels = new ArrayList<>();
        String label;
        boolean integralLabels = true;

        static Csv read(Path file, String labelColumn) throws IOException {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            if (lines.isEmpty()) {
                throw new IllegalArgumentException(file + " is empty; expected a header row");
            }
            String[] header = lines.get(0).strip().split(",");
            int labelIndex = -1;
            Csv csv = new Csv();
            for (int i = 0; i < header.length; i++) {
                String column = header[i].strip();
                if (column.equals(labelColumn)) {
                    labelIndex = i;
                    csv.label = column;
                } else {
                    csv.features.add(column);
                }
            }
            if (labelIndex < 0) {
                throw new IllegalArgumentException(file + " has no column '" + labelColumn + "'; its columns are "
                        + String.join(", ", header));
            }
            for (int line = 1; line < lines.size(); line++) {
                String text = lines.get(line).strip();
                if (text.isEmpty()) {
                    continue;
                }
                String[] cells = text.split(",", -1);
                if (cells.length != header.length) {
                    throw new IllegalArgumentException(file + " line " + (line + 1) + " has " + cells.length
                            + " cells, the header " + header.length);
                }
                double[] row = new double[header.length - 1];
                int column = 0;
                for (int i = 0; i < cells.length; i++) {
                    double value;
                    try {
                        value = Double.parseDouble(cells[i].strip());
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException(file + " line " + (line + 1) + " column '" + header[i].strip()
                                + "': '" + cells[i] + "' is not a number", e);
                    }
                    if (i == labelIndex) {
                        csv.labels.add(value);
                        csv.integralLabels &= value == Math.rint(value);
                    } else {
                        row[column++] = value;
                    }
                }
                csv.rows.add(row);
            }
            return csv;
        }
    }
}
