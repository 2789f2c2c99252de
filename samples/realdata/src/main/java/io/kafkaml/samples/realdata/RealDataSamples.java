package io.kafkaml.samples.realdata;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kafkaml.control.ControlMessage;
import io.kafkaml.dataset.DataSplit;
import io.kafkaml.dataset.SplitOrder;
import io.kafkaml.dataset.StreamDataSets;
import io.kafkaml.format.RecordEncoder;
import io.kafkaml.format.RecordFormats;
import io.kafkaml.format.raw.RawDataSink;
import io.kafkaml.format.raw.RawFormat;
import io.kafkaml.inference.InferenceSpec;
import io.kafkaml.inference.LocalInference;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.Registry;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.training.LocalTrainingLauncher;
import io.kafkaml.training.TrainingDeployments;
import io.kafkaml.training.TrainingHandle;
import io.kafkaml.training.TrainingSpec;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Runs the real-data samples end to end, each the way a user of kafkaml would:
 * <ol>
 *   <li>register the sample's model and a configuration of it, and deploy it for training (batch, epochs, seed,
 *       normalization; no reshuffling, since the rows are sent in a seeded random order);</li>
 *   <li>stream the data set through Kafka with {@link RawDataSink} (its RAW types and {@code data_reshape}), one
 *       partition, validation rate 0.1 and test rate 0.2; closing the sink sends the control message that starts
 *       the training;</li>
 *   <li>wait for the training result, then deploy the trained model for inference, send the test split's rows to
 *       its input topic (encoded as the stream was) and read the predictions back from its output topic;</li>
 *   <li>train plain DL4J from memory on the same split ({@link StreamDataSets#splitAssignment}) with the same model,
 *       seed, batches and epochs ({@link PlainDl4j});</li>
 *   <li>report the four sets of test metrics side by side ({@link Report}).</li>
 * </ol>
 * An instance holds one registry (topic prefix {@code realdata-<millis>}) and its own control topic, so runs against
 * a shared cluster never see each other's deployments or control messages.
 *
 * <pre>
 * java -jar samples/realdata/target/kafkaml-realdata.jar [--sample all|digits-cnn|digits-lstm|no3|breast-cancer]
 *     [--data ../shared/data] [--epochs N] [--rows N] [--bootstrap-servers HOST:PORT]
 * </pre>
 *
 * <p>Not thread-safe: run one sample at a time. {@link #close()} closes the launcher and the registry.
 */
public final class RealDataSamples implements AutoCloseable {

    /** The stream's {@code validation_rate}. */
    public static final double VALIDATION_RATE = 0.1;
    /** The stream's {@code test_rate}. */
    public static final double TEST_RATE = 0.2;
    /** The seed of the split, the weights and the deployment (both sides). */
    public static final long SEED = 42;
    /**
     * The seed of the order the rows are sent in. Not {@link #SEED}: a shuffle with the split's seed makes the same
     * swaps as the split assignment, and the test split would be a block of the file (NO3's last months).
     */
    public static final long SEND_ORDER_SEED = 2026;

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, Object> kafka;
    private final String run;
    private final String controlTopic;
    private final Duration timeout;
    private final Registry registry;
    private final LocalTrainingLauncher launcher;
    private final TrainingDeployments deployments;

    /**
     * Connects a registry and starts a launcher of one trainer thread.
     *
     * @param clientConfig {@code bootstrap.servers} and any client settings
     * @param timeout how long one sample's training, and then its serving, may take
     */
    public RealDataSamples(Map<String, ?> clientConfig, Duration timeout) {
        this.kafka = Map.copyOf(clientConfig);
        this.run = "realdata-" + System.currentTimeMillis();
        this.controlTopic = run + ".control";
        this.timeout = timeout;
        this.registry = Registry.connect(kafka, run, Duration.ofSeconds(60));
        LocalTrainingLauncher started = null;
        try {
            started = new LocalTrainingLauncher(registry, kafka, 1, null);
        } finally {
            if (started == null) {
                registry.close();
            }
        }
        this.launcher = started;
        this.deployments = new TrainingDeployments(registry, launcher, controlTopic);
    }

    /**
     * Runs one sample on {@code table} (its rows are sent in a seeded random order).
     *
     * @param epochs the epochs of both the deployment and plain DL4J
     * @return the report; a deployment that did not finish is reported with its status and error, unserved
     */
    public Report run(Sample sample, Table table, int epochs) {
        String name = run + "-" + sample.id();
        String model = sample.id();
        Table stream = RealData.shuffled(table, SEND_ORDER_SEED);
        createTopics(name + "-data", name + "-in", name + "-out");
        registry.registerModel(ModelDefinition.of(model, sample.description(), sample.model(SEED)));
        registry.createConfiguration(new Configuration(model, sample.description(), List.of(model)));
        TrainingHandle handle = deployments.deploy(
                model,
                TrainingSpec.builder()
                        .batchSize(sample.batchSize())
                        .epochs(epochs)
                        .shuffle(false)
                        .seed(SEED)
                        .normalization(sample.normalization())
                        .controlTimeout(timeout)
                        .build());

        RawDataSink.Builder builder = RawDataSink.builder(kafka)
                .topic(name + "-data")
                .deploymentId(handle.deploymentId())
                .controlTopic(controlTopic)
                .validationRate(VALIDATION_RATE)
                .testRate(TEST_RATE)
                .description(sample.description());
        sample.configure(builder);
        ControlMessage message;
        try (RawDataSink sink = builder.build()) {
            for (int i = 0; i < stream.rows(); i++) {
                float label = stream.labels()[i];
                sink.send(
                        stream.features()[i],
                        sample.labelKind() == Sample.LabelKind.REGRESSION ? (Object) label : (Object) (int) label);
            }
            sink.close();
            message = sink.controlMessage();
        }
        DeploymentStatus status = handle.await(timeout).orElse(null);
        TrainingResult result = registry.result(TrainingResult.idOf(handle.deploymentId(), model))
                .orElse(null);
        String error = status == DeploymentStatus.FINISHED
                ? null
                : status == null
                        ? "did not end within " + timeout
                        : registry.deployment(handle.deploymentId())
                                .map(d -> d.error())
                                .orElse(null);

        DataSplit[] splits =
                StreamDataSets.splitAssignment(stream.rows(), VALIDATION_RATE, TEST_RATE, SplitOrder.SHUFFLED, SEED);
        int[] trainRows = PlainDl4j.rowsOf(splits, DataSplit.TRAIN);
        int[] testRows = PlainDl4j.rowsOf(splits, DataSplit.TEST);
        Map<String, Double> served = Map.of();
        int predictions = 0;
        if (status == DeploymentStatus.FINISHED && result != null) {
            Map<Integer, JsonNode> outputs = serve(name, result.id(), message, stream, testRows);
            predictions = outputs.size();
            served = score(sample, stream, testRows, outputs);
        }
        PlainDl4j.Outcome memory = PlainDl4j.train(sample, stream, splits, epochs, sample.batchSize(), SEED);
        return new Report(
                sample,
                stream.rows(),
                trainRows.length,
                testRows.length,
                epochs,
                sample.batchSize(),
                handle.deploymentId(),
                status,
                error,
                result == null ? Map.of() : result.testMetrics(),
                result == null ? 0 : result.trainingMillis(),
                served,
                predictions,
                memory.test(),
                memory.millis(),
                trivial(sample, stream, trainRows, testRows));
    }

    /**
     * Serves the trained model, sends the test rows (keyed by their row number, encoded as the stream's records
     * were) and reads the predictions back until each has come or the timeout has passed.
     *
     * @return each answered row's prediction, {@code {"values": [...], "class": k}}
     */
    private Map<Integer, JsonNode> serve(
            String name, String resultId, ControlMessage message, Table stream, int[] rows) {
        RecordEncoder encoder = RecordFormats.forName(RawFormat.NAME).newEncoder(message.inputConfig());
        Map<Integer, JsonNode> outputs = new HashMap<>();
        try (LocalInference inference = LocalInference.start(
                        registry,
                        kafka,
                        name + "-serving",
                        InferenceSpec.builder(resultId, name + "-in", name + "-out")
                                .build());
                KafkaProducer<byte[], byte[]> producer =
                        new KafkaProducer<>(kafka, new ByteArraySerializer(), new ByteArraySerializer());
                KafkaConsumer<byte[], byte[]> consumer =
                        new KafkaConsumer<>(kafka, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<java.util.concurrent.Future<?>> sends = new ArrayList<>();
            for (int row : rows) {
                float[] features = stream.features()[row];
                double[] values = new double[features.length];
                for (int i = 0; i < values.length; i++) {
                    values[i] = features[i];
                }
                sends.add(producer.send(new ProducerRecord<>(
                        name + "-in",
                        String.valueOf(row).getBytes(StandardCharsets.UTF_8),
                        encoder.encode(values, null).value())));
            }
            producer.flush();
            for (java.util.concurrent.Future<?> send : sends) {
                send.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            }
            TopicPartition out = new TopicPartition(name + "-out", 0);
            consumer.assign(List.of(out));
            consumer.seekToBeginning(List.of(out));
            long deadline = System.nanoTime() + timeout.toNanos();
            while (outputs.size() < rows.length && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    outputs.put(
                            Integer.valueOf(new String(record.key(), StandardCharsets.UTF_8)),
                            JSON.readTree(record.value()));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("A prediction is not JSON", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("An inference input could not be sent to " + name + "-in: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while sending inference inputs", e);
        }
        return outputs;
    }

    /** The metrics of the predictions that came back (a missing one counts as wrong: the class -1, a NaN value). */
    private static Map<String, Double> score(Sample sample, Table stream, int[] rows, Map<Integer, JsonNode> outputs) {
        if (sample.labelKind() == Sample.LabelKind.REGRESSION) {
            float[] predicted = new float[rows.length];
            for (int i = 0; i < rows.length; i++) {
                JsonNode output = outputs.get(rows[i]);
                predicted[i] = output == null
                        ? Float.NaN
                        : (float) output.get("values").get(0).asDouble();
            }
            return Metrics.regression(PlainDl4j.targets(stream, rows), predicted);
        }
        int[] predicted = new int[rows.length];
        for (int i = 0; i < rows.length; i++) {
            JsonNode output = outputs.get(rows[i]);
            if (output != null && !output.has("class")) {
                throw new IllegalStateException("The served classifier's prediction has no \"class\": " + output);
            }
            predicted[i] = output == null ? -1 : output.get("class").asInt();
        }
        int classes = sample.labelKind() == Sample.LabelKind.BINARY ? 2 : stream.classes();
        return Metrics.classification(PlainDl4j.classes(stream, rows), predicted, classes);
    }

    /** The training split's majority class (or mean target) predicted for every test row. */
    static Map<String, Double> trivial(Sample sample, Table stream, int[] trainRows, int[] testRows) {
        if (sample.labelKind() == Sample.LabelKind.REGRESSION) {
            double mean = 0;
            for (int row : trainRows) {
                mean += stream.labels()[row];
            }
            float[] predicted = new float[testRows.length];
            java.util.Arrays.fill(predicted, (float) (mean / trainRows.length));
            return Metrics.regression(PlainDl4j.targets(stream, testRows), predicted);
        }
        int classes = sample.labelKind() == Sample.LabelKind.BINARY ? 2 : stream.classes();
        int[] counts = new int[classes];
        for (int row : trainRows) {
            counts[(int) stream.labels()[row]]++;
        }
        int majority = 0;
        for (int c = 1; c < classes; c++) {
            if (counts[c] > counts[majority]) {
                majority = c;
            }
        }
        int[] predicted = new int[testRows.length];
        java.util.Arrays.fill(predicted, majority);
        return Metrics.classification(PlainDl4j.classes(stream, testRows), predicted, classes);
    }

    private void createTopics(String... names) {
        List<NewTopic> topics = new ArrayList<>();
        for (String topic : names) {
            topics.add(new NewTopic(topic, Optional.of(1), Optional.empty()));
        }
        try (Admin admin = Admin.create(kafka)) {
            admin.createTopics(topics).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            // an idempotent producer's first batches to a new partition can be lost to Kafka bug KAFKA-15591
            io.kafkaml.internals.Topics.awaitWritable(admin, List.of(names), timeout);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("Cannot create the topics " + List.of(names) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while creating topics", e);
        }
    }

    /** Closes the launcher (cancelling a deployment still running) and the registry. */
    @Override
    public void close() {
        try {
            launcher.close();
        } finally {
            registry.close();
        }
    }

    /**
     * Runs the samples; exits 0 when every deployment finished, every test input was answered and the served
     * predictions score what the deployment's test evaluation scored, 1 otherwise, 2 for bad arguments.
     */
    public static void main(String[] args) {
        String usage = "Usage: kafkaml-realdata.jar [--sample all|digits-cnn|digits-lstm|no3|breast-cancer]"
                + " [--data DIR] [--epochs N] [--rows N] [--bootstrap-servers HOST:PORT]";
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 == args.length) {
                System.err.println(usage);
                System.exit(2);
            }
            options.put(args[i].substring(2), args[++i]);
        }
        List<Sample> samples;
        Integer epochs;
        int rows;
        try {
            samples = options.getOrDefault("sample", "all").equals("all")
                    ? List.of(Sample.values())
                    : List.of(Sample.of(options.get("sample")));
            epochs = options.containsKey("epochs") ? Integer.valueOf(options.get("epochs")) : null;
            rows = Integer.parseInt(options.getOrDefault("rows", "0"));
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage() + "\n" + usage);
            System.exit(2);
            return;
        }
        Path data = options.containsKey("data") ? Path.of(options.get("data")) : RealData.defaultDirectory();
        List<Report> reports = run(options.get("bootstrap-servers"), samples, data, epochs, rows, System.out);
        System.exit(reports.stream().allMatch(r -> r.complete() && r.servedAgrees()) ? 0 : 1);
    }

    /**
     * Runs {@code samples} one after the other and prints each report.
     *
     * @param bootstrapServers a Kafka cluster, or {@code null} for an in-process broker
     * @param epochs epochs for every sample, or {@code null} for each sample's own
     * @param maxRows rows read from each data set, or 0 for all
     */
    public static List<Report> run(
            String bootstrapServers, List<Sample> samples, Path data, Integer epochs, int maxRows, PrintStream out) {
        EmbeddedKafkaBroker broker =
                bootstrapServers == null ? EmbeddedKafkaBroker.builder().build().start() : null;
        try {
            Map<String, Object> kafka =
                    Map.of("bootstrap.servers", broker != null ? broker.bootstrapServers() : bootstrapServers);
            out.println("kafkaml real-data samples on " + kafka.get("bootstrap.servers")
                    + (broker != null ? " (an in-process broker)" : ""));
            List<Report> reports = new ArrayList<>();
            try (RealDataSamples runner = new RealDataSamples(kafka, Duration.ofHours(2))) {
                for (Sample sample : samples) {
                    Report report =
                            runner.run(sample, sample.load(data, maxRows), epochs != null ? epochs : sample.epochs());
                    report.print(out);
                    reports.add(report);
                }
            }
            return reports;
        } finally {
            if (broker != null) {
                broker.close();
            }
        }
    }
}
