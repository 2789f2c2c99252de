package io.kafkaml.samples.pipeline;

import io.kafkaml.KafkaMl;
import io.kafkaml.Training;
import io.kafkaml.inference.InferenceSpec;
import io.kafkaml.inference.LocalInference;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.sink.RecordDataSink;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.training.Normalization;
import io.kafkaml.training.TrainingSpec;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * The paper's whole pipeline through {@link KafkaMl}, on the paper's own validation data (the Exasens HCOPD table):
 * register a model, put it in a configuration, deploy it for training, stream the table through Kafka with a data
 * sink, read the trained model's test metrics, serve it, send patients and read their predicted diagnoses.
 * {@link #run} is the pipeline; the rest reads the table and prints.
 *
 * <pre>
 * java -jar samples/pipeline/target/kafkaml-pipeline.jar --data ../shared/data/hcopd/HCOPD_Dataset.csv
 *     [--bootstrap-servers HOST:PORT] [--epochs 60]
 * </pre>
 * Without {@code --bootstrap-servers} it starts an in-process broker ({@code kafkaml-testkit}).
 */
public final class Pipeline {

    /**
     * What a run produced.
     *
     * @param result the trained model's result (status, test metrics)
     * @param predictions per patient sent, {@code "<inputs> -> <prediction JSON>"}
     * @param serving the inference deployment's counters when it stopped
     */
    public record Outcome(TrainingResult result, List<String> predictions, String serving) {}

    private Pipeline() {}

    /**
     * The pipeline.
     *
     * @param settings {@code bootstrap.servers} and any other setting ({@code KafkaMlConfig})
     * @param rows the table: diagnosis (1 COPD, 0 healthy), gender, age, smoking (1-3) per row
     * @param patients the inputs to predict: gender, age, smoking
     */
    public static Outcome run(Map<String, ?> settings, List<double[]> rows, List<double[]> patients, int epochs) {
        // spotless:off (the README copy keeps the sample compact)
        // readme:begin (README.md shows these lines; PipelineReadmeTest keeps them equal)
        try (KafkaMl ml = KafkaMl.connect(settings)) {
            ml.models().register(ModelDefinition.of("hcopd", "the paper's model", new NeuralNetConfiguration.Builder()
                    .seed(42).updater(new Adam(0.01)).list()
                    .layer(new DenseLayer.Builder().nIn(3).nOut(16).activation(Activation.RELU).build())
                    .layer(new OutputLayer.Builder(LossFunction.MCXENT).nIn(16).nOut(2).activation(Activation.SOFTMAX)
                            .build()).build()));
            ml.configurations().create("hcopd-only", "hcopd");
            Training training = ml.train("hcopd-only", TrainingSpec.builder().epochs(epochs).batchSize(10).seed(42)
                    .normalization(Normalization.STANDARDIZE).build());
            try (RecordDataSink sink = ml.sink().format("JSON").inputConfig(Map.of("data_reshape", "3"))
                    .topic("hcopd").deploymentId(training.deploymentId()).validationRate(0.1).testRate(0.1).build()) {
                rows.forEach(row -> sink.send(new double[] {row[1], row[2], row[3]}, row[0]));
            } // closing the sink announces the stream: training starts
            training.await(Duration.ofMinutes(10));
            TrainingResult result = training.results().get(0);
            List<String> predictions = new ArrayList<>();
            try (LocalInference serving = ml.serve(InferenceSpec.builder(result.id(), "patients", "diagnoses").build());
                    var producer = new KafkaProducer<>(ml.config().producerConfig(), new StringSerializer(),
                            new StringSerializer());
                    var consumer = new KafkaConsumer<>(reader(ml), new StringDeserializer(), new StringDeserializer())) {
                patients.forEach(p -> producer.send(new ProducerRecord<>("patients", p[0] + "," + p[1] + "," + p[2],
                        "[" + p[0] + ", " + p[1] + ", " + p[2] + "]")));
                consumer.subscribe(List.of("diagnoses"));
                for (Instant until = Instant.now().plusSeconds(60);
                        predictions.size() < patients.size() && Instant.now().isBefore(until); ) {
                    consumer.poll(Duration.ofMillis(200)).forEach(r -> predictions.add(r.key() + " -> " + r.value()));
                }
                return new Outcome(result, predictions, serving.stats().toString());
            }
        }
        // readme:end
        // spotless:on
    }

    private static Map<String, Object> reader(KafkaMl ml) {
        Map<String, Object> config = ml.config().consumerConfig();
        config.put(ConsumerConfig.GROUP_ID_CONFIG, "pipeline-sample-reader");
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        return config;
    }

    /**
     * Reads {@code HCOPD_Dataset.csv} (header {@code Diagnosis,Gender,Age,Smoking}) with Commons CSV.
     *
     * @return per row {diagnosis, gender, age, smoking}
     * @throws UncheckedIOException if the file cannot be read
     * @throws IllegalArgumentException naming the line whose fields are not numbers
     */
    public static List<double[]> readHcopd(Path csv) {
        List<double[]> rows = new ArrayList<>();
        try (Reader in = Files.newBufferedReader(csv, StandardCharsets.UTF_8)) {
            for (CSVRecord record : CSVFormat.DEFAULT
                    .builder()
                    .setHeader()
                    .setSkipHeaderRecord(true)
                    .setIgnoreSurroundingSpaces(true)
                    .get()
                    .parse(in)) {
                try {
                    rows.add(new double[] {
                        Double.parseDouble(record.get("Diagnosis")),
                        Double.parseDouble(record.get("Gender")),
                        Double.parseDouble(record.get("Age")),
                        Double.parseDouble(record.get("Smoking"))
                    });
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(
                            csv + " line " + (record.getRecordNumber() + 1) + ": " + e.getMessage(), e);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + csv + ": " + e.getMessage(), e);
        }
        return rows;
    }

    public static void main(String[] args) {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            options.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        Path csv = Path.of(options.getOrDefault("data", "../shared/data/hcopd/HCOPD_Dataset.csv"));
        List<double[]> patients = List.of(new double[] {1, 70, 3}, new double[] {0, 30, 1}, new double[] {1, 45, 2});
        EmbeddedKafkaBroker broker = options.containsKey("bootstrap-servers")
                ? null
                : EmbeddedKafkaBroker.builder().build().start();
        int exit;
        try {
            String servers = broker != null ? broker.bootstrapServers() : options.get("bootstrap-servers");
            Outcome outcome = run(
                    Map.of("bootstrap.servers", servers),
                    readHcopd(csv),
                    patients,
                    Integer.parseInt(options.getOrDefault("epochs", "60")));
            print(outcome, System.out);
            exit = outcome.predictions().size() == patients.size() ? 0 : 1;
        } finally {
            if (broker != null) {
                broker.close();
            }
        }
        System.exit(exit);
    }

    static void print(Outcome outcome, PrintStream out) {
        TrainingResult result = outcome.result();
        out.printf(
                "%s %s: test %s (%d epochs, %.1f s)%n",
                result.id(),
                result.status(),
                result.testMetrics(),
                result.epochCount(),
                result.trainingMillis() / 1000.0);
        outcome.predictions().forEach(p -> out.println("  " + p));
        out.println("  serving: " + outcome.serving());
    }
}
