package io.kafkaml.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.EpochMetrics;
import io.kafkaml.registry.Registry;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import io.kafkaml.testkit.SharedData;
import io.kafkaml.training.LocalTrainingLauncher;
import io.kafkaml.training.Normalization;
import io.kafkaml.training.TrainingDeployments;
import io.kafkaml.training.TrainingSpec;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.GZIPInputStream;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * Semi-supervised training as Kafka-ML does it (issue 14, item 5): a stream of 10% labelled digits plus the rest
 * unlabelled, announced by Kafka-ML's {@code RawSink} control message with {@code unsupervised_topic}, trained with
 * pseudo-label rounds; its test accuracy is printed beside the labelled-only accuracy on the same test split.
 */
@ExtendWith(EmbeddedKafkaExtension.class)
class SemiSupervisedIT {

    /** Digits rows (64 pixel values, then the digit), shuffled with a fixed seed. */
    static List<float[]> digits() throws Exception {
        List<float[]> rows = new ArrayList<>();
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(
                new GZIPInputStream(Files.newInputStream(SharedData.data("digits", "digits.csv.gz"))),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                String[] cells = line.split(",");
                float[] row = new float[65];
                for (int i = 0; i < 65; i++) {
                    row[i] = Float.parseFloat(cells[i]);
                }
                rows.add(row);
            }
        }
        Collections.shuffle(rows, new Random(3));
        return rows;
    }

    static byte[] pixels(float[] row) {
        ByteBuffer value = ByteBuffer.allocate(64 * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 64; i++) {
            value.putFloat(row[i]);
        }
        return value.array();
    }

    @Test
    void pseudoLabelRoundsOnKafkaMlsUnsupervisedTopicAreComparedWithLabelledOnlyTraining(EmbeddedKafkaBroker kafka)
            throws Exception {
        List<float[]> rows = digits();
        List<float[]> test = rows.subList(0, 300);
        List<float[]> rest = rows.subList(300, rows.size());
        List<float[]> labelled = rest.subList(0, rest.size() / 10); // 10% of the records outside the test split
        List<float[]> unlabelled = rest.subList(rest.size() / 10, rest.size());
        kafka.createTopic("semi-labelled", 1);
        kafka.createTopic("semi-unlabelled", 1);
        String control = "semi-control";
        try (Registry registry = Registry.connect(kafka.clientConfig(), "semi-it", Duration.ofSeconds(30));
                LocalTrainingLauncher launcher = new LocalTrainingLauncher(registry, kafka.clientConfig(), 1, null);
                KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(
                        Map.of("bootstrap.servers", kafka.bootstrapServers()),
                        new ByteArraySerializer(),
                        new ByteArraySerializer())) {
            registry.registerModel(ModelDefinition.of(
                    "digits-mlp",
                    "",
                    new NeuralNetConfiguration.Builder()
                            .seed(9)
                            .updater(new Adam(0.01))
                            .list()
                            .layer(new DenseLayer.Builder()
                                    .nIn(64)
                                    .nOut(32)
                                    .activation(Activation.RELU)
                                    .build())
                            .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                                    .nIn(32)
                                    .nOut(10)
                                    .activation(Activation.SOFTMAX)
                                    .build())
                            .build()));
            registry.createConfiguration(new Configuration("digits", "", List.of("digits-mlp")));
            TrainingDeployments deployments = new TrainingDeployments(registry, launcher, control);
            TrainingSpec.Builder spec = TrainingSpec.builder()
                    .batchSize(16)
                    .epochs(30)
                    .shuffle(true)
                    .seed(7)
                    .normalization(Normalization.MIN_MAX);
            deployments.deploy("digits", spec.semiSupervised(3, 0.9).build(), "61");
            deployments.deploy("digits", spec.semiSupervised(null).build(), "62");

            // Kafka-ML's RawSink: labelled records (key = label uint8), unlabelled ones (key = bytes([0]),
            // unsupervised_send), then on close one control message naming both as slices
            List<float[]> labelledStream = new ArrayList<>(labelled);
            labelledStream.addAll(test);
            for (float[] row : labelledStream) {
                producer.send(new ProducerRecord<>("semi-labelled", new byte[] {(byte) row[64]}, pixels(row)));
            }
            for (float[] row : unlabelled) {
                producer.send(new ProducerRecord<>("semi-unlabelled", new byte[] {0}, pixels(row)));
            }
            producer.flush();
            double testRate = (double) test.size() / labelledStream.size();
            String json = "{\"topic\": \"semi-labelled:0:0:" + labelledStream.size() + "\", \"unsupervised_topic\": "
                    + "\"semi-unlabelled:0:0:" + unlabelled.size() + "\", \"input_format\": \"RAW\", "
                    + "\"description\": \"Digits dataset\", \"dataset_restrictions\": {}, \"input_config\": "
                    + "{\"data_type\": \"float32\", \"label_type\": \"uint8\", \"data_reshape\": \"64\", "
                    + "\"label_reshape\": \"\"}, \"validation_rate\": 0, \"test_rate\": " + testRate
                    + ", \"total_msg\": " + labelledStream.size() + ", \"incremental\": false}";
            for (byte id : new byte[] {61, 62}) {
                producer.send(new ProducerRecord<>(control, new byte[] {id}, json.getBytes(StandardCharsets.UTF_8)))
                        .get();
            }
            for (String id : List.of("61", "62")) {
                assertThat(registry.awaitTerminal(id, Duration.ofMinutes(3))
                                .orElseThrow()
                                .status())
                        .as(id + ": " + registry.results(id))
                        .isEqualTo(DeploymentStatus.FINISHED);
            }
            TrainingResult semi = registry.result("61.digits-mlp").orElseThrow();
            TrainingResult labelledOnly = registry.result("62.digits-mlp").orElseThrow();
            List<EpochMetrics> rounds = registry.epochs("61.digits-mlp").stream()
                    .filter(e -> e.epoch() > 30)
                    .toList();
            System.out.printf(
                    "digits, %d labelled training records + %d unlabelled, test split of %d: accuracy labelled-only "
                            + "%.4f, after %d pseudo-label round(s) %.4f (trained on %s records per round)%n",
                    labelled.size(),
                    unlabelled.size(),
                    test.size(),
                    labelledOnly.testMetrics().get("accuracy"),
                    rounds.size(),
                    semi.testMetrics().get("accuracy"),
                    rounds.stream().map(EpochMetrics::records).toList());
            assertThat(labelledOnly.epochCount()).isEqualTo(30);
            assertThat(rounds).isNotEmpty(); // the rounds ran
            // each round trained on the labelled training records and more than zero pseudo-labelled ones
            assertThat(rounds.get(0).records()).isGreaterThan(labelled.size());
            assertThat(semi.testMetrics()).containsKey("accuracy");
            assertThat(labelledOnly.testMetrics()).containsKey("accuracy");
        }
    }
}
