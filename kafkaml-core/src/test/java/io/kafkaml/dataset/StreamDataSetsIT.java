package io.kafkaml.dataset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.control.ControlChannel;
import io.kafkaml.control.ControlMessage;
import io.kafkaml.format.RecordDecodeException;
import io.kafkaml.sink.DataSink;
import io.kafkaml.sink.DataSinkException;
import io.kafkaml.sink.RecordDataSink;
import io.kafkaml.stream.DataStreamException;
import io.kafkaml.stream.StreamDataset;
import io.kafkaml.stream.StreamSlice;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

@ExtendWith(EmbeddedKafkaExtension.class)
class StreamDataSetsIT {

    static final int N = 300;
    static final Map<String, Object> JSON_CONFIG = Map.of("data_reshape", "2");
    static ControlMessage stream;

    /** Row i: features (i, i + 0.5), label i % 3. */
    static List<String> sentRows() {
        List<String> rows = new ArrayList<>();
        for (int i = 0; i < N; i++) {
            rows.add(row(i, i + 0.5f, i % 3));
        }
        return rows;
    }

    static String row(float a, float b, float label) {
        return a + "," + b + "->" + label;
    }

    @BeforeAll
    static void sendStream(EmbeddedKafkaBroker kafka) {
        kafka.createTopic("rows", 3);
        RecordDataSink sink = RecordDataSink.builder(kafka.clientConfig())
                .format("JSON")
                .inputConfig(JSON_CONFIG)
                .topic("rows")
                .deploymentId("rows-1")
                .validationRate(0.1)
                .testRate(0.2)
                .description("rows")
                .partitioning(DataSink.Partitioning.ROUND_ROBIN)
                .build();
        for (int i = 0; i < N; i++) {
            sink.send(new double[] {i, i + 0.5}, i % 3);
        }
        sink.close();
        stream = sink.controlMessage();
    }

    static List<String> readAll(DataSetIterator iterator) {
        List<String> rows = new ArrayList<>();
        while (iterator.hasNext()) {
            rows.addAll(rows(iterator.next()));
        }
        return rows;
    }

    static List<String> rows(DataSet batch) {
        List<String> rows = new ArrayList<>();
        float[] f = batch.getFeatures().dup().data().asFloat();
        float[] l = batch.getLabels().dup().data().asFloat();
        int labelWidth = (int) batch.getLabels().size(1);
        for (int r = 0; r < batch.numExamples(); r++) {
            float label = labelWidth == 1 ? l[r] : argmax(l, r * labelWidth, labelWidth);
            rows.add(row(f[r * 2], f[r * 2 + 1], label));
        }
        return rows;
    }

    static float argmax(float[] values, int offset, int width) {
        int best = 0;
        for (int i = 1; i < width; i++) {
            if (values[offset + i] > values[offset + best]) {
                best = i;
            }
        }
        return best;
    }

    @Test
    void theSinksControlMessageIsPublishedAndDescribesTheStream(EmbeddedKafkaBroker kafka) {
        try (ControlChannel control = ControlChannel.create(kafka.clientConfig())) {
            ControlMessage published = control.await("rows-1", Duration.ofSeconds(10));
            assertThat(published).isEqualTo(stream);
        }
        assertThat(stream.slices()).hasSize(3).allSatisfy(s -> {
            assertThat(s.topic()).isEqualTo("rows");
            assertThat(s.size()).isEqualTo(N / 3);
        });
        assertThat(stream.totalMessages()).isEqualTo(N);
        assertThat(stream.slices().stream().mapToLong(StreamSlice::size).sum()).isEqualTo(N);
        assertThat(stream.inputFormat()).isEqualTo("JSON");
        assertThat(stream.inputConfig()).isEqualTo(JSON_CONFIG);
        assertThat(stream.validationRate()).isEqualTo(0.1);
        assertThat(stream.testRate()).isEqualTo(0.2);
        assertThat(stream.toJson())
                .contains("\"unsupervised_topic\":null")
                .contains("\"dataset_restrictions\":{}") // an object, as Kafka-ML's sinks send it (json.dumps of {})
                .contains("\"incremental\":false");
    }

    @Test
    void theThreeSplitsHoldExactlyTheSentRowsInTheirProportions(EmbeddedKafkaBroker kafka) {
        for (long budget : new long[] {256L << 20, 0}) {
            try (StreamDataSets data = StreamDataSets.builder(kafka.clientConfig(), stream)
                    .batchSize(32)
                    .cacheBudgetBytes(budget)
                    .build()) {
                List<String> train = readAll(data.train());
                List<String> validation = readAll(data.validation());
                List<String> test = readAll(data.test());
                assertThat(data.cached()).isEqualTo(budget > 0);
                assertThat(train).hasSize(210);
                assertThat(validation).hasSize(30);
                assertThat(test).hasSize(60);
                List<String> all = new ArrayList<>(train);
                all.addAll(validation);
                all.addAll(test);
                assertThat(all).containsExactlyInAnyOrderElementsOf(sentRows());
                assertThat(data.splitSize(DataSplit.TRAIN)).isEqualTo(210);
            }
        }
    }

    @Test
    void cachedAndStreamedEpochsGiveTheSameBatchesAndResetRepeatsThem(EmbeddedKafkaBroker kafka) {
        List<String> cachedEpochs = new ArrayList<>();
        List<String> streamedEpochs = new ArrayList<>();
        for (long budget : new long[] {256L << 20, 0}) {
            try (StreamDataSets data = StreamDataSets.builder(kafka.clientConfig(), stream)
                    .batchSize(7)
                    .cacheBudgetBytes(budget)
                    .build()) {
                StreamDataSetIterator train = data.train();
                List<String> first = readAll(train);
                train.reset();
                List<String> second = readAll(train);
                assertThat(second).isEqualTo(first);
                assertThat(train.epoch()).isEqualTo(2);
                (budget > 0 ? cachedEpochs : streamedEpochs).addAll(first);

                // a second iterator of the split, and an epoch of mixed batch sizes, read the same rows
                StreamDataSetIterator other = data.train();
                assertThat(readAll(other)).isEqualTo(first);
                train.reset();
                List<String> mixed = new ArrayList<>();
                for (int i = 0; train.hasNext(); i++) {
                    mixed.addAll(rows(i % 3 == 1 ? train.next(3) : train.next()));
                }
                assertThat(mixed).isEqualTo(first);
                if (budget > 0) {
                    // cached, unshuffled: the batches are built once and shared (one copy, counted in the budget)
                    train.reset();
                    other.reset();
                    DataSet a = train.next();
                    assertThat(other.next()).isSameAs(a);
                    assertThat(other.next()).isSameAs(train.next());
                }
            }
        }
        assertThat(streamedEpochs).isEqualTo(cachedEpochs);
    }

    @Test
    void shufflingIsSeededPerEpochAndKeepsTheRows(EmbeddedKafkaBroker kafka) {
        for (long budget : new long[] {256L << 20, 0}) {
            List<List<String>> runs = new ArrayList<>();
            for (int run = 0; run < 2; run++) {
                try (StreamDataSets data = StreamDataSets.builder(kafka.clientConfig(), stream)
                        .batchSize(16)
                        .shuffle(true)
                        .seed(7)
                        .shuffleBufferRows(50)
                        .cacheBudgetBytes(budget)
                        .build()) {
                    StreamDataSetIterator train = data.train();
                    List<String> epoch1 = readAll(train);
                    train.reset();
                    List<String> epoch2 = readAll(train);
                    assertThat(epoch2).isNotEqualTo(epoch1).containsExactlyInAnyOrderElementsOf(epoch1);
                    runs.add(epoch1);
                    runs.add(epoch2);
                    try (StreamDataSets unshuffled = StreamDataSets.builder(kafka.clientConfig(), stream)
                            .seed(7)
                            .cacheBudgetBytes(budget)
                            .build()) {
                        List<String> plain = readAll(unshuffled.train());
                        assertThat(epoch1).isNotEqualTo(plain).containsExactlyInAnyOrderElementsOf(plain);
                    }
                }
            }
            assertThat(runs.get(2)).as("same seed, same order").isEqualTo(runs.get(0));
            assertThat(runs.get(3)).isEqualTo(runs.get(1));
        }
    }

    @Test
    void normalizationAppliesToEveryEpochAfterItIsSetCachedOrStreamed(EmbeddedKafkaBroker kafka) {
        for (long budget : new long[] {256L << 20, 0}) {
            try (StreamDataSets data = StreamDataSets.builder(kafka.clientConfig(), stream)
                    .batchSize(16)
                    .cacheBudgetBytes(budget)
                    .build()) {
                StreamDataSetIterator train = data.train();
                org.nd4j.linalg.dataset.api.preprocessor.NormalizerStandardize normalizer =
                        new org.nd4j.linalg.dataset.api.preprocessor.NormalizerStandardize();
                normalizer.fit(train); // a whole epoch read before the normalizer exists
                data.normalize(normalizer);
                for (int epoch = 0; epoch < 2; epoch++) {
                    train.reset();
                    List<DataSet> batches = new ArrayList<>();
                    while (train.hasNext()) {
                        batches.add(train.next());
                    }
                    DataSet all = DataSet.merge(batches);
                    assertThat(all.getFeatures().mean(0).toDoubleVector())
                            .as("budget %d epoch %d", budget, epoch)
                            .containsExactly(new double[] {0, 0}, org.assertj.core.data.Offset.offset(1e-3));
                    assertThat(all.getFeatures().std(0).toDoubleVector())
                            .containsExactly(new double[] {1, 1}, org.assertj.core.data.Offset.offset(0.01));
                }
                DataSet validation = data.validation().next();
                assertThat(validation.getFeatures().maxNumber().doubleValue()).isLessThan(5);
            }
        }
    }

    @Test
    void kafkaMlOrderTakesTrainThenTestThenValidationFromTheStream(EmbeddedKafkaBroker kafka) {
        List<String> passOrder = new ArrayList<>();
        try (StreamDataset dataset = StreamDataset.builder(kafka.clientConfig())
                .slices(stream.slices())
                .build()) {
            dataset.readPass(r -> {
                String[] value = new String(r.value(), StandardCharsets.UTF_8)
                        .replace("[", "")
                        .replace("]", "")
                        .split(",");
                passOrder.add(row(
                        Float.parseFloat(value[0]),
                        Float.parseFloat(value[1]),
                        Float.parseFloat(new String(r.key(), StandardCharsets.UTF_8))));
            });
        }
        try (StreamDataSets data = StreamDataSets.builder(kafka.clientConfig(), stream)
                .splitOrder(SplitOrder.KAFKA_ML)
                .build()) {
            // Kafka-ML (model_training/tensorflow/mainTraining.py split_dataset, lines 227-264):
            // train int((1 - (0.1 + 0.2)) * 300) = 210, test int(0.2 * 300) = 60, validation the remaining 30
            int train = (int) ((1 - (0.1 + 0.2)) * N);
            int test = (int) (0.2 * N);
            assertThat(train).isEqualTo(210);
            assertThat(readAll(data.train())).isEqualTo(passOrder.subList(0, train));
            assertThat(readAll(data.test())).isEqualTo(passOrder.subList(train, train + test));
            assertThat(readAll(data.validation())).isEqualTo(passOrder.subList(train + test, N));
        }
    }

    @Test
    void oneHotLabelsFeedASoftmaxNetworkThatDl4jFits(EmbeddedKafkaBroker kafka) {
        try (StreamDataSets data = StreamDataSets.builder(kafka.clientConfig(), stream)
                .batchSize(20)
                .oneHotLabels(3)
                .build()) {
            StreamDataSetIterator train = data.train();
            DataSet first = train.next();
            assertThat(first.getLabels().shape()).containsExactly(20, 3);
            assertThat(first.getLabels().sum(1).toFloatVector()).containsOnly(1f);
            assertThat(train.getLabels()).containsExactly("0", "1", "2");
            assertThat(train.inputColumns()).isEqualTo(2);
            assertThat(train.totalOutcomes()).isEqualTo(3);
            train.reset();
            MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                    .seed(1)
                    .updater(new Adam(0.01))
                    .list()
                    .layer(new DenseLayer.Builder()
                            .nIn(2)
                            .nOut(4)
                            .activation(Activation.RELU)
                            .build())
                    .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT)
                            .nIn(4)
                            .nOut(3)
                            .activation(Activation.SOFTMAX)
                            .build())
                    .build();
            MultiLayerNetwork network = new MultiLayerNetwork(conf);
            network.init();
            network.fit(train, 2);
            assertThat(train.epoch()).isGreaterThanOrEqualTo(2);
            assertThat(network.evaluate(data.test()).getNumRowCounter()).isEqualTo(60);
        }
        try (StreamDataSets data = StreamDataSets.builder(kafka.clientConfig(), stream)
                .oneHotLabels(2)
                .build()) {
            assertThatThrownBy(() -> readAll(data.train()))
                    .isInstanceOf(RecordDecodeException.class)
                    .hasMessageContaining("Cannot decode record rows-")
                    .hasMessageContaining("label 2.0 is not a class index in [0, 2)");
        }
    }

    @Test
    void aStreamThatDoesNotHoldTotalMsgRecordsIsAnErrorUnlessLenient(EmbeddedKafkaBroker kafka) {
        ControlMessage fewer = stream.toBuilder().totalMessages(250).build();
        try (StreamDataSets data =
                StreamDataSets.builder(kafka.clientConfig(), fewer).build()) {
            assertThatThrownBy(() -> readAll(data.train()))
                    .isInstanceOf(DataStreamException.class)
                    .hasMessageContaining("hold more than 250 records, but the control message says total_msg = 250");
        }
        // Transaction markers and an aborted record leave offsets without readable records.
        kafka.createTopic("tx-rows", 1);
        Map<String, Object> config = kafka.clientConfig();
        config.put("transactional.id", "tx-rows");
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.initTransactions();
            for (int t = 0; t < 2; t++) {
                producer.beginTransaction();
                for (int i = 0; i < 10; i++) {
                    producer.send(new ProducerRecord<>("tx-rows", b("1"), b("[" + i + ", " + t + "]")));
                }
                producer.commitTransaction();
            }
            producer.beginTransaction();
            producer.send(new ProducerRecord<>("tx-rows", b("1"), b("[99, 99]")));
            producer.abortTransaction();
        }
        long end = kafka.logEndOffset(new org.apache.kafka.common.TopicPartition("tx-rows", 0));
        ControlMessage missing = ControlMessage.builder()
                .slices(List.of(StreamSlice.of("tx-rows", 0, 0, end)))
                .inputFormat("JSON")
                .inputConfig(JSON_CONFIG)
                .totalMessages(22)
                .testRate(0.5)
                .deploymentId("tx")
                .build();
        try (StreamDataSets data = StreamDataSets.builder(kafka.clientConfig(), missing)
                .cacheBudgetBytes(0)
                .build()) {
            assertThatThrownBy(() -> readAll(data.test()))
                    .isInstanceOf(DataStreamException.class)
                    .hasMessageContaining("hold 20 records, but the control message says total_msg = 22");
        }
        try (StreamDataSets data = StreamDataSets.builder(kafka.clientConfig(), missing)
                .strictRecordCount(false)
                .build()) {
            assertThat(data.recordCount()).isEqualTo(20);
            assertThat(readAll(data.train())).hasSize(10).doesNotContain(row(99, 99, 1));
            assertThat(readAll(data.test())).hasSize(10);
        }
    }

    @Test
    void badRecordsFailWithTheirLocationOrAreSkippedAndCounted(EmbeddedKafkaBroker kafka) throws Exception {
        kafka.createTopic("dirty", 1);
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(kafka.clientConfig(), new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = 0; i < 50; i++) {
                String value = i % 10 == 3 ? "[" + i + ", \"oops\"]" : "[" + i + ", " + i + "]";
                producer.send(new ProducerRecord<>("dirty", b(String.valueOf(i % 2)), b(value)))
                        .get(10, TimeUnit.SECONDS);
            }
        }
        ControlMessage dirty = ControlMessage.builder()
                .slices(List.of(StreamSlice.of("dirty", 0, 0, 50)))
                .inputFormat("JSON")
                .inputConfig(JSON_CONFIG)
                .totalMessages(50)
                .deploymentId("dirty")
                .build();
        try (StreamDataSets data =
                StreamDataSets.builder(kafka.clientConfig(), dirty).build()) {
            assertThatThrownBy(() -> readAll(data.train()))
                    .isInstanceOf(RecordDecodeException.class)
                    .hasMessage("Cannot decode record dirty-0@3: the value element 1 must be a number or a boolean, "
                            + "was the string \"oops\"");
        }
        try (StreamDataSets data = StreamDataSets.builder(kafka.clientConfig(), dirty)
                .badRecordPolicy(BadRecordPolicy.SKIP)
                .cacheBudgetBytes(0)
                .build()) {
            List<String> rows = readAll(data.train());
            assertThat(rows).hasSize(45);
            assertThat(data.skippedRecords()).isEqualTo(5);
            Set<String> seen = new HashSet<>(rows);
            assertThat(seen).doesNotContain(row(3, 3, 1)).contains(row(4, 4, 0));
        }
        // kafkaml.max.record.bytes: a record over it is a bad record, refused before it is parsed
        Map<String, Object> limited = kafka.clientConfig();
        limited.put("kafkaml.max.record.bytes", "8"); // key "0"/"1" + "[9, 9]" is 7 bytes, + "[10, 10]" is 9
        try (StreamDataSets data = StreamDataSets.builder(limited, dirty).build()) {
            assertThatThrownBy(() -> readAll(data.train()))
                    .isInstanceOf(RecordDecodeException.class)
                    .hasMessage("Cannot decode record dirty-0@3: the record holds 12 bytes, over the limit of 8 bytes "
                            + "per record (kafkaml.max.record.bytes): raise kafkaml.max.record.bytes if such records "
                            + "are meant");
        }
        try (StreamDataSets data = StreamDataSets.builder(limited, dirty)
                .badRecordPolicy(BadRecordPolicy.SKIP)
                .cacheBudgetBytes(0)
                .build()) {
            assertThat(readAll(data.train())).hasSize(9).doesNotContain(row(3, 3, 1));
            assertThat(data.skippedRecords()).isEqualTo(41);
        }
    }

    @Test
    void aSinkWhoseRecordsFailSendsNoControlMessage(EmbeddedKafkaBroker kafka) {
        Map<String, Object> config = kafka.clientConfig();
        config.put("producer.max.request.size", 200);
        RecordDataSink sink = RecordDataSink.builder(config)
                .format("JSON")
                .inputConfig(Map.of("data_reshape", "40"))
                .topic("too-large")
                .deploymentId("failing")
                .build();
        double[] big = new double[40];
        java.util.Arrays.fill(big, 123456.789);
        assertThatThrownBy(() -> {
                    sink.send(big, 1);
                    sink.flush();
                })
                .isInstanceOf(DataSinkException.class)
                .hasMessageContaining("too-large")
                .hasMessageContaining("no control message");
        assertThatThrownBy(sink::close).isInstanceOf(DataSinkException.class);
        assertThatThrownBy(sink::controlMessage).isInstanceOf(IllegalStateException.class);
        try (ControlChannel control = ControlChannel.create(kafka.clientConfig())) {
            assertThatThrownBy(() -> control.await("failing", Duration.ofSeconds(2)))
                    .hasMessageContaining("No control message for deployment 'failing'");
        }
    }

    private static byte[] b(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
