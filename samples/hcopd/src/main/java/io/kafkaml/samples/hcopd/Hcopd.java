package io.kafkaml.samples.hcopd;

import io.kafkaml.format.avro.AvroDataSink;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.sink.DataSink;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVRecord;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * The paper's validation case (Kafka-ML §VI): the Exasens HCOPD table (Diagnosis, Gender, Age, Smoking) sent
 * through Kafka with {@link AvroDataSink}, and the paper's model with two variants.
 */
public final class Hcopd {

    /** The data records' schema: the three features. */
    public static final Schema DATA_SCHEMA = SchemaBuilder.record("Patient")
            .namespace("io.kafkaml.samples.hcopd")
            .fields()
            .requiredInt("gender")
            .requiredInt("age")
            .requiredInt("smoking")
            .endRecord();
    /** The label records' schema: the diagnosis (1 = COPD, 0 = healthy control). */
    public static final Schema LABEL_SCHEMA = SchemaBuilder.record("Diagnosis")
            .namespace("io.kafkaml.samples.hcopd")
            .fields()
            .requiredInt("diagnosis")
            .endRecord();

    private Hcopd() {}

    /**
     * One row of the table.
     *
     * @param diagnosis 1 for COPD, 0 for a healthy control
     * @param gender 1 or 0
     * @param age in years
     * @param smoking 1 to 3
     */
    public record Row(int diagnosis, int gender, int age, int smoking) {}

    /**
     * Reads {@code HCOPD_Dataset.csv} (header {@code Diagnosis,Gender,Age,Smoking}, CRLF line ends).
     *
     * @throws IllegalArgumentException naming the line that is not four integers
     */
    public static List<Row> read(Path csv) {
        List<Row> rows = new ArrayList<>();
        try (java.io.Reader in = Files.newBufferedReader(csv, StandardCharsets.UTF_8)) {
            for (CSVRecord record : CSVFormat.DEFAULT
                    .builder()
                    .setHeader()
                    .setSkipHeaderRecord(true)
                    .setIgnoreSurroundingSpaces(true)
                    .setIgnoreEmptyLines(true)
                    .get()
                    .parse(in)) {
                try {
                    rows.add(new Row(
                            Integer.parseInt(record.get("Diagnosis")),
                            Integer.parseInt(record.get("Gender")),
                            Integer.parseInt(record.get("Age")),
                            Integer.parseInt(record.get("Smoking"))));
                } catch (RuntimeException e) {
                    throw new IllegalArgumentException(
                            csv + " line " + (record.getRecordNumber() + 1) + " is not four integers: "
                                    + record.toList(),
                            e);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read the HCOPD table " + csv, e);
        }
        return rows;
    }

    /** The table's default place: {@code shared/data/hcopd/HCOPD_Dataset.csv} beside the checkout. */
    public static Path defaultCsv() {
        String dir = System.getProperty("kafkaml.shared.data", "../shared/data");
        return Path.of(dir, "hcopd", "HCOPD_Dataset.csv");
    }

    /**
     * Sends the rows through Kafka with {@link AvroDataSink} (round-robin over the topic's partitions) and, on
     * close, the control message for {@code deploymentId}.
     */
    public static AvroDataSink send(
            Map<String, ?> clientConfig,
            String topic,
            String deploymentId,
            List<Row> rows,
            double validationRate,
            double testRate) {
        AvroDataSink sink = AvroDataSink.builder(clientConfig)
                .topic(topic)
                .deploymentId(deploymentId)
                .dataSchema(DATA_SCHEMA)
                .labelSchema(LABEL_SCHEMA)
                .validationRate(validationRate)
                .testRate(testRate)
                .description("HCOPD (Exasens): Gender, Age, Smoking -> Diagnosis")
                .partitioning(DataSink.Partitioning.ROUND_ROBIN)
                .build();
        for (Row row : rows) {
            GenericRecord data = new GenericData.Record(DATA_SCHEMA);
            data.put("gender", row.gender());
            data.put("age", row.age());
            data.put("smoking", row.smoking());
            GenericRecord label = new GenericData.Record(LABEL_SCHEMA);
            label.put("diagnosis", row.diagnosis());
            sink.send(data, label);
        }
        sink.close();
        return sink;
    }

    /** The paper's model: Dropout 0.2 on the 3 inputs, Dense 4 sigmoid, Dense 2 softmax, Adam. */
    public static MultiLayerConfiguration paperModel(long seed) {
        return new NeuralNetConfiguration.Builder()
                .seed(seed)
                .updater(new Adam(0.01))
                .weightInit(WeightInit.XAVIER)
                .list()
                .layer(new DropoutLayer.Builder(0.8)
                        .nIn(3)
                        .nOut(3)
                        .build()) // DL4J's argument is the retain probability
                .layer(new DenseLayer.Builder()
                        .nIn(3)
                        .nOut(4)
                        .activation(Activation.SIGMOID)
                        .build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                        .nIn(4)
                        .nOut(2)
                        .activation(Activation.SOFTMAX)
                        .build())
                .build();
    }

    /** A wider variant: Dense 16 relu instead of Dense 4 sigmoid. */
    public static MultiLayerConfiguration wideVariant(long seed) {
        return new NeuralNetConfiguration.Builder()
                .seed(seed)
                .updater(new Adam(0.01))
                .weightInit(WeightInit.XAVIER)
                .list()
                .layer(new DenseLayer.Builder()
                        .nIn(3)
                        .nOut(16)
                        .activation(Activation.RELU)
                        .build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                        .nIn(16)
                        .nOut(2)
                        .activation(Activation.SOFTMAX)
                        .build())
                .build();
    }

    /** A deeper variant: two tanh layers of 8. */
    public static MultiLayerConfiguration deepVariant(long seed) {
        return new NeuralNetConfiguration.Builder()
                .seed(seed)
                .updater(new Adam(0.005))
                .weightInit(WeightInit.XAVIER)
                .list()
                .layer(new DenseLayer.Builder()
                        .nIn(3)
                        .nOut(8)
                        .activation(Activation.TANH)
                        .build())
                .layer(new DenseLayer.Builder()
                        .nIn(8)
                        .nOut(8)
                        .activation(Activation.TANH)
                        .build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                        .nIn(8)
                        .nOut(2)
                        .activation(Activation.SOFTMAX)
                        .build())
                .build();
    }

    /** The three models as definitions named {@code prefix-paper}, {@code prefix-wide}, {@code prefix-deep}. */
    public static List<ModelDefinition> models(String prefix, long seed) {
        return List.of(
                ModelDefinition.of(
                        prefix + "-paper",
                        "the paper's model: Dropout 0.2, Dense 4 sigmoid, Dense 2 softmax",
                        paperModel(seed)),
                ModelDefinition.of(prefix + "-wide", "Dense 16 relu, Dense 2 softmax", wideVariant(seed)),
                ModelDefinition.of(prefix + "-deep", "Dense 8 tanh, Dense 8 tanh, Dense 2 softmax", deepVariant(seed)));
    }
}
