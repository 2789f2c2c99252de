package io.kafkaml.cli;

import io.kafkaml.control.ControlMessage;
import io.kafkaml.sink.DataSink;
import io.kafkaml.sink.RecordDataSink;
import io.kafkaml.stream.StreamSlice;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;
import org.apache.commons.csv.DuplicateHeaderMode;
import org.apache.commons.io.ByteOrderMark;
import org.apache.commons.io.input.BOMInputStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kafkaml send}: streams a CSV file (header row; the numeric columns other than the label, in file order,
 * are the features) through the data sink of a format and sends the control message. The file is RFC 4180 CSV
 * read with Apache Commons CSV: quoted headers and fields, CRLF or LF, a UTF-8 (or UTF-16) byte order mark.
 * Errors show characters one cannot see escaped (<code>&#92;uFEFF</code>, <code>&#92;u00A0</code>).
 */
@Command(
        name = "send",
        mixinStandardHelpOptions = true,
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

    @Option(
            names = "--control-topic",
            paramLabel = "TOPIC",
            description = "The control topic (default: $KAFKAML_CONTROL_TOPIC, else KAFKA_ML_CONTROL_TOPIC)")
    String controlTopic;

    @Option(
            names = "--online",
            description = "Online, as Kafka-ML's OnlineRawSink: the control message goes first (the bare topic, "
                    + "\"incremental\": true), the deployment trains incrementally on the topic as it grows; run "
                    + "it again to send more")
    boolean online;

    @Override
    public Integer call() throws IOException {
        String name = format.toUpperCase(Locale.ROOT);
        if (!List.of("RAW", "JSON", "AVRO").contains(name)) {
            throw new picocli.CommandLine.ParameterException(
                    spec.commandLine(), "--format must be RAW, AVRO or JSON, was '" + format + "'");
        }
        if (!java.nio.file.Files.isRegularFile(file) || !java.nio.file.Files.isReadable(file)) {
            throw new io.kafkaml.common.KafkaMlException("The data file " + file
                    + (java.nio.file.Files.exists(file) ? " is not a readable file" : " does not exist"));
        }
        Csv csv = Csv.read(file, label);
        if (csv.rows.isEmpty()) {
            // an online stream's control message goes with its first record, a bounded one's after its last
            throw new io.kafkaml.common.KafkaMlException("The data file " + file
                    + " holds no data rows (only its header): nothing was sent, no control message either");
        }
        Map<String, Object> inputConfig = switch (name) {
            case "RAW" ->
                Map.of(
                        "data_type",
                        "float32",
                        "label_type",
                        csv.integralLabels ? "int32" : "float32",
                        "data_reshape",
                        String.valueOf(csv.features.size()),
                        "label_reshape",
                        "");
            case "JSON" -> Map.of("data_fields", csv.features, "label_field", csv.label);
            case "AVRO" -> avroConfig(csv);
            default -> throw new IllegalArgumentException("--format must be RAW, AVRO or JSON, was '" + format + "'");
        };
        RecordDataSink sink = RecordDataSink.builder(client.clientConfig())
                .format(name)
                .inputConfig(inputConfig)
                .topic(topic)
                .deploymentId(deploymentId)
                .controlTopic(client.controlTopic(controlTopic))
                .validationRate(validationRate)
                .testRate(testRate)
                .description(file.getFileName().toString())
                .partitioning(DataSink.Partitioning.ROUND_ROBIN)
                .online(online)
                .build();
        // try-with-resources: a failed send is the error reported; close()'s own failure is only suppressed in it
        try (sink) {
            for (int i = 0; i < csv.rows.size(); i++) {
                sink.send(csv.rows.get(i), csv.labels.get(i));
            }
        } // close() flushes, then sends the control message (none if a record failed)
        ControlMessage message = sink.controlMessage();
        if (online) {
            spec.commandLine()
                    .getOut()
                    .println("sent " + csv.rows.size() + " records to topic " + topic + " (online) for deployment "
                            + deploymentId);
            return 0;
        }
        spec.commandLine()
                .getOut()
                .println("sent " + message.totalMessages() + " records " + StreamSlice.formatList(message.slices())
                        + " for deployment " + deploymentId);
        return 0;
    }

    /** The schemas of the table's Avro records, built with Avro's {@code SchemaBuilder}: doubles, an int label. */
    static Map<String, Object> avroConfig(Csv csv) {
        SchemaBuilder.FieldAssembler<Schema> features =
                SchemaBuilder.record("Features").fields();
        Map<String, String> columnOfField = new HashMap<>();
        for (String column : csv.features) {
            features = features.requiredDouble(avroField(column, columnOfField));
        }
        SchemaBuilder.FieldAssembler<Schema> label =
                SchemaBuilder.record("Label").fields();
        String labelField = avroName(csv.label);
        label = csv.integralLabels ? label.requiredInt(labelField) : label.requiredDouble(labelField);
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("data_scheme", features.endRecord().toString());
        config.put("label_scheme", label.endRecord().toString());
        return config;
    }

    /** The Avro field name of a column, refusing two columns that would share one. */
    private static String avroField(String column, Map<String, String> columnOfField) {
        String field = avroName(column);
        String other = columnOfField.putIfAbsent(field, column);
        if (other != null) {
            throw new IllegalArgumentException(
                    "Columns '" + other + "' and '" + column + "' would both be the Avro field '" + field
                            + "' (Avro names allow only A-Z a-z 0-9 _); rename one");
        }
        return field;
    }

    private static String avroName(String column) {
        String name = column.replaceAll("[^A-Za-z0-9_]", "_");
        return Character.isDigit(name.charAt(0)) ? "_" + name : name;
    }

    /**
     * A CSV table read with Apache Commons CSV (RFC 4180: quoted fields and headers, CRLF or LF line ends, a
     * leading byte order mark for UTF-8 or UTF-16 dropped): feature rows and labels.
     */
    static final class Csv {
        private static final CSVFormat FORMAT = CSVFormat.RFC4180
                .builder()
                .setHeader()
                .setSkipHeaderRecord(true)
                .setTrim(true)
                .setIgnoreEmptyLines(true)
                .setDuplicateHeaderMode(DuplicateHeaderMode.DISALLOW)
                .get();

        final List<String> features = new ArrayList<>();
        final List<double[]> rows = new ArrayList<>();
        final List<Double> labels = new ArrayList<>();
        String label;
        boolean integralLabels = true;

        static Csv read(Path file, String labelColumn) throws IOException {
            try (BOMInputStream in = BOMInputStream.builder()
                    .setPath(file)
                    .setByteOrderMarks(ByteOrderMark.UTF_8, ByteOrderMark.UTF_16LE, ByteOrderMark.UTF_16BE)
                    .get()) {
                String charset = in.getBOMCharsetName();
                Reader reader = new InputStreamReader(
                        in, (charset == null ? StandardCharsets.UTF_8 : Charset.forName(charset)).newDecoder());
                CSVParser parser;
                try {
                    parser = CSVParser.builder()
                            .setReader(reader)
                            .setFormat(FORMAT)
                            .get();
                } catch (IllegalArgumentException | IllegalStateException | UncheckedIOException e) {
                    throw new IllegalArgumentException(
                            file + " is not a CSV file kafkaml can read: " + visible(String.valueOf(e.getMessage())),
                            e);
                }
                try (parser) {
                    return read(file, labelColumn, parser);
                } catch (UncheckedIOException e) {
                    if (e.getCause() instanceof CharacterCodingException coding) {
                        throw coding;
                    }
                    throw new IllegalArgumentException(
                            file + " line " + parser.getCurrentLineNumber() + " is not valid CSV: "
                                    + visible(String.valueOf(e.getCause().getMessage())),
                            e);
                }
            } catch (CharacterCodingException e) {
                throw new IllegalArgumentException(file + " is not UTF-8 text (" + e + "); save it as UTF-8", e);
            }
        }

        private static Csv read(Path file, String labelColumn, CSVParser parser) {
            List<String> header = parser.getHeaderNames();
            if (header.isEmpty()) {
                throw new IllegalArgumentException(file + " is empty; expected a header row");
            }
            int labelIndex = header.indexOf(labelColumn);
            if (labelIndex < 0) {
                throw new IllegalArgumentException(file + " has no column " + quoted(labelColumn) + "; its columns are "
                        + header.stream().map(Csv::quoted).collect(Collectors.joining(", ")));
            }
            Csv csv = new Csv();
            csv.label = labelColumn;
            for (int i = 0; i < header.size(); i++) {
                if (i != labelIndex) {
                    csv.features.add(header.get(i));
                }
            }
            for (CSVRecord record : parser) {
                long line = parser.getCurrentLineNumber();
                if (record.size() != header.size()) {
                    throw new IllegalArgumentException(
                            file + " line " + line + " has " + record.size() + " cells, the header " + header.size());
                }
                double[] row = new double[header.size() - 1];
                int column = 0;
                for (int i = 0; i < record.size(); i++) {
                    String cell = record.get(i);
                    double value;
                    try {
                        value = Double.parseDouble(cell);
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException(
                                file + " line " + line + " column " + quoted(header.get(i)) + ": " + quoted(cell)
                                        + " is not a number",
                                e);
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

        /** {@code text} in single quotes, with characters one cannot see escaped. */
        static String quoted(String text) {
            return "'" + visible(text) + "'";
        }

        /**
         * {@code text} with every character one cannot see or tell from a space written as <code>&#92;uXXXX</code>: control
         * and format characters (a byte order mark, zero-width spaces, direction marks), separators other than
         * the plain space (no-break spaces), unassigned, private-use and surrogate code units.
         */
        static String visible(String text) {
            StringBuilder out = new StringBuilder(text.length());
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                int type = Character.getType(c);
                boolean invisible = c != ' '
                        && (type == Character.CONTROL
                                || type == Character.FORMAT
                                || type == Character.SPACE_SEPARATOR
                                || type == Character.LINE_SEPARATOR
                                || type == Character.PARAGRAPH_SEPARATOR
                                || type == Character.UNASSIGNED
                                || type == Character.PRIVATE_USE
                                || type == Character.SURROGATE);
                if (invisible) {
                    out.append(String.format(Locale.ROOT, "\\u%04X", (int) c));
                } else {
                    out.append(c);
                }
            }
            return out.toString();
        }
    }
}
