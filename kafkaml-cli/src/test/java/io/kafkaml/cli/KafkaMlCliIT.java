package io.kafkaml.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import io.kafkaml.testkit.SharedData;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The CLI driven in-process: register, configure, train with --wait, send a CSV, list and export results. */
@ExtendWith(EmbeddedKafkaExtension.class)
class KafkaMlCliIT {

    record Run(int status, String out, String err) {}

    static Run run(EmbeddedKafkaBroker kafka, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        List<String> all = new ArrayList<>(List.of(args));
        all.add("--bootstrap-servers");
        all.add(kafka.bootstrapServers());
        int status = KafkaMlCli.commandLine(new PrintWriter(out, true), new PrintWriter(err, true))
                .execute(all.toArray(String[]::new));
        return new Run(status, out.toString(), err.toString());
    }

    /**
     * The share of the most frequent diagnosis in the test split a deployment tests on when the HCOPD table is sent
     * round-robin over {@code partitions} partitions (row {@code i} to partition {@code i % partitions}, the stream
     * read partition after partition) and split by kafkaml's seeded assignment: what always predicting one class
     * scores, the floor a trained model must beat.
     */
    static double majorityRateOfTestSplit(Path csv, int partitions, double validationRate, double testRate, long seed)
            throws java.io.IOException {
        List<String> labels = new ArrayList<>();
        try (java.io.Reader in = Files.newBufferedReader(csv)) {
            org.apache.commons.csv.CSVFormat.DEFAULT
                    .builder()
                    .setHeader()
                    .setSkipHeaderRecord(true)
                    .get()
                    .parse(in)
                    .forEach(record -> labels.add(record.get("Diagnosis").strip()));
        }
        List<String> streamOrder = new ArrayList<>();
        for (int partition = 0; partition < partitions; partition++) {
            for (int i = partition; i < labels.size(); i += partitions) {
                streamOrder.add(labels.get(i));
            }
        }
        io.kafkaml.dataset.DataSplit[] splits = io.kafkaml.dataset.StreamDataSets.splitAssignment(
                streamOrder.size(), validationRate, testRate, io.kafkaml.dataset.SplitOrder.SHUFFLED, seed);
        java.util.Map<String, Integer> counts = new java.util.HashMap<>();
        int test = 0;
        for (int i = 0; i < splits.length; i++) {
            if (splits[i] == io.kafkaml.dataset.DataSplit.TEST) {
                test++;
                counts.merge(streamOrder.get(i), 1, Integer::sum);
            }
        }
        assertThat(test).as("test split size").isPositive();
        return counts.values().stream().mapToInt(Integer::intValue).max().orElseThrow() / (double) test;
    }

    static Path hcopdCsv() {
        return SharedData.data("hcopd", "HCOPD_Dataset.csv");
    }

    @Test
    void registerConfigureTrainSendAndReadResults(EmbeddedKafkaBroker kafka, @TempDir Path dir) throws Exception {
        Path model = CliFixture.mlpFile(dir.resolve("hcopd.json"), 3);
        Run registered = run(
                kafka,
                "models",
                "register",
                "--name",
                "hcopd",
                "--file",
                model.toString(),
                "--description",
                "from the CLI");
        assertThat(registered.status()).as(registered.err()).isZero();
        assertThat(registered.out()).startsWith("registered model hcopd: ");
        Run duplicate = run(kafka, "models", "register", "--name", "hcopd", "--file", model.toString());
        assertThat(duplicate.status()).isEqualTo(1);
        assertThat(duplicate.err()).isEqualTo("kafkaml models register: A model named 'hcopd' already exists\n");
        Path limits = dir.resolve("limits.properties");
        Files.writeString(limits, "kafkaml.max.artifact.bytes=100\n");
        Run tooLarge = run(
                kafka,
                "models",
                "register",
                "--name",
                "hcopd-large",
                "--file",
                model.toString(),
                "--config",
                limits.toString());
        assertThat(tooLarge.status()).isEqualTo(1);
        assertThat(tooLarge.err())
                .isEqualTo("kafkaml models register: The model file " + model + " holds " + Files.size(model)
                        + " bytes, over the limit of 100 bytes (kafkaml.max.artifact.bytes): raise kafkaml.max.artifact.bytes "
                        + "to register it\n");

        JsonNode models =
                Output.JSON.readTree(run(kafka, "models", "list", "--json").out());
        assertThat(models.get(0).get("summary").get("parameterCount").asInt()).isEqualTo(CliFixture.mlpParameters(3));
        assertThat(run(kafka, "models", "list").out()).contains("hcopd").contains("MULTI_CLASS");
        assertThat(run(kafka, "configurations", "create", "--name", "c1", "--models", "hcopd")
                        .status())
                .isZero();
        assertThat(run(kafka, "configurations", "list", "--json").out()).contains("\"models\":[\"hcopd\"]");

        CompletableFuture<Run> training = CompletableFuture.supplyAsync(() -> run(
                kafka,
                CliFixture.trainAndWait("c1", 20, "--deployment-id", "5", "--normalize", "standardize", "--shuffle")));
        kafka.createTopic("cli-hcopd", 2);
        Run sent = run(
                kafka,
                "send",
                "--file",
                hcopdCsv().toString(),
                "--label",
                "Diagnosis",
                "--format",
                "AVRO",
                "--topic",
                "cli-hcopd",
                "--deployment-id",
                "5",
                "--validation-rate",
                "0.1",
                "--test-rate",
                "0.1");
        assertThat(sent.status()).as(sent.err()).isZero();
        assertThat(sent.out()).contains("sent 239 records cli-hcopd:0:0:120,cli-hcopd:1:0:119 for deployment 5");
        Run trained = training.get(3, TimeUnit.MINUTES);
        assertThat(trained.status()).as(trained.out() + trained.err()).isZero();
        assertThat(trained.out())
                .contains("deployment 5 waiting for data")
                .contains("hcopd epoch 20/20")
                .contains("deployment 5 FINISHED")
                .containsPattern("deployment 5 FINISHED \\(data stream cataloged as datasource [^)]+\\)");

        JsonNode results = Output.JSON.readTree(
                run(kafka, "results", "list", "--deployment-id", "5", "--json").out());
        assertThat(results).hasSize(1);
        assertThat(results.get(0).get("status").asText()).isEqualTo("FINISHED");
        assertThat(results.get(0).get("testMetrics").get("accuracy").asDouble())
                .isGreaterThan(majorityRateOfTestSplit(hcopdCsv(), 2, 0.1, 0.1, 42));
        assertThat(run(kafka, "deployments", "list").out()).contains("5").contains("FINISHED");

        Path exported = dir.resolve("model.zip");
        assertThat(run(kafka, "results", "export", "5.hcopd", "--out", exported.toString())
                        .status())
                .isZero();
        MultiLayerNetwork restored = ModelSerializer.restoreMultiLayerNetwork(exported.toFile());
        assertThat(restored.numParams()).isEqualTo(CliFixture.mlpParameters(3));

        Path chart = dir.resolve("curves.png");
        assertThat(run(kafka, "results", "chart", "5.hcopd", "--out", chart.toString())
                        .status())
                .isZero();
        java.awt.image.BufferedImage image = javax.imageio.ImageIO.read(chart.toFile());
        assertThat(image.getWidth()).isEqualTo(1000);
        assertThat(image.getHeight()).isEqualTo(640);

        Run rendered = run(
                kafka,
                "k8s",
                "render",
                "training",
                "--deployment-id",
                "5",
                "--namespace",
                "ml",
                "--client-secret",
                "kafka-creds",
                "--kafka",
                "kafka.ml:9092");
        assertThat(rendered.status()).as(rendered.err()).isZero();
        assertThat(rendered.out())
                .contains("kind: \"Job\"")
                .contains("name: \"kafkaml-train-5-hcopd\"")
                .contains("name: \"kafka-creds\"")
                .contains("value: \"kafka.ml:9092\"");
        assertThat(run(kafka, "k8s", "render", "rbac", "--namespace", "ml").out())
                .contains("kind: \"RoleBinding\"");

        // in this process, train waits for its deployment whatever --wait says: a FAILED one is exit status 1
        CompletableFuture<Run> failing = CompletableFuture.supplyAsync(
                () -> run(kafka, "train", "--configuration", "c1", "--epochs", "2", "--deployment-id", "6"));
        org.awaitility.Awaitility.await()
                .atMost(60, TimeUnit.SECONDS)
                .until(() -> run(kafka, "deployments", "list").out().lines().anyMatch(l -> l.matches("6\\s.*")));
        try (var producer = new org.apache.kafka.clients.producer.KafkaProducer<byte[], byte[]>(
                kafka.clientConfig(),
                new org.apache.kafka.common.serialization.ByteArraySerializer(),
                new org.apache.kafka.common.serialization.ByteArraySerializer())) {
            producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(
                            "KAFKA_ML_CONTROL_TOPIC",
                            "6".getBytes(java.nio.charset.StandardCharsets.UTF_8),
                            ("{\"deployment_id\": 6, \"topic\": \"x\", \"validation_rate\": 7, "
                                            + "\"input_format\": \"BOGUS\"}")
                                    .getBytes(java.nio.charset.StandardCharsets.UTF_8)))
                    .get(30, TimeUnit.SECONDS);
        }
        Run failed = failing.get(3, TimeUnit.MINUTES);
        assertThat(failed.out()).as(failed.err()).contains("deployment 6 FAILED");
        assertThat(failed.status()).as(failed.out()).isEqualTo(1);

        Run datasources = run(kafka, "datasources", "list", "--json");
        assertThat(Output.JSON
                        .readTree(datasources.out())
                        .get(0)
                        .get("available")
                        .asBoolean())
                .isTrue();
    }

    @Test
    void badUsageAndMissingThingsAreOneLineErrorsWithExitCodes(EmbeddedKafkaBroker kafka) {
        Run missing = run(kafka, "models", "show", "nope");
        assertThat(missing.status()).isEqualTo(1);
        assertThat(missing.err()).isEqualTo("kafkaml models show: No model named 'nope' exists\n");
        Run usage = run(kafka, "configurations", "create", "--name", "x");
        assertThat(usage.status()).isEqualTo(2);
        assertThat(usage.err()).contains("Missing required option: '--models=a,b,c'");
        Run help = run(kafka, "train", "--help");
        assertThat(help.status()).isZero();
        assertThat(help.out()).contains("--configuration=C").contains("--normalize");
    }

    /** Case {@code csv-bom} ({@code ../shared/cases/csv-bom}): Excel's UTF-8 byte order mark and CRLF. */
    @Test
    void aCsvWithAByteOrderMarkIsSentWithItsLabelColumn(EmbeddedKafkaBroker kafka) {
        Path bom = SharedData.cases("csv-bom", "bom.csv");
        kafka.createTopic("cli-bom", 1);
        Run sent = run(
                kafka,
                "send",
                "--file",
                bom.toString(),
                "--label",
                "Diagnosis",
                "--format",
                "JSON",
                "--topic",
                "cli-bom",
                "--deployment-id",
                "88");
        assertThat(sent.status()).as(sent.err()).isZero();
        assertThat(sent.out()).contains("sent 3 records cli-bom:0:0:3 for deployment 88");
        try (io.kafkaml.control.ControlChannel control =
                io.kafkaml.control.ControlChannel.create(kafka.clientConfig())) {
            io.kafkaml.control.ControlMessage message = control.await("88", java.time.Duration.ofSeconds(10));
            assertThat(message.inputConfig())
                    .containsEntry("data_fields", List.of("Gender", "Age", "Smoking"))
                    .containsEntry("label_field", "Diagnosis");
            try (io.kafkaml.dataset.StreamDataSets data = io.kafkaml.dataset.StreamDataSets.builder(
                            kafka.clientConfig(), message)
                    .batchSize(3)
                    .build()) {
                org.nd4j.linalg.dataset.DataSet all = data.train().next();
                assertThat(all.getFeatures().toFloatMatrix())
                        .isEqualTo(new float[][] {{0, 77, 2}, {1, 22, 1}, {0, 55, 3}});
                assertThat(all.getLabels().toFloatVector()).containsExactly(1, 0, 0);
            }
        }
    }
}
