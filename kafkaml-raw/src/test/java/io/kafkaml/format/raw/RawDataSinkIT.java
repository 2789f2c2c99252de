package io.kafkaml.format.raw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.control.ControlChannel;
import io.kafkaml.control.ControlMessage;
import io.kafkaml.dataset.StreamDataSets;
import io.kafkaml.sink.DataSink;
import io.kafkaml.stream.StreamSlice;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;

@ExtendWith(EmbeddedKafkaExtension.class)
class RawDataSinkIT {

    static List<String> rows(DataSetIterator iterator) {
        List<String> rows = new ArrayList<>();
        while (iterator.hasNext()) {
            DataSet batch = iterator.next();
            int width = (int) batch.getFeatures().size(1);
            float[] f = batch.getFeatures().dup().data().asFloat();
            float[] l = batch.getLabels().dup().data().asFloat();
            for (int r = 0; r < batch.numExamples(); r++) {
                rows.add(Arrays.toString(Arrays.copyOfRange(f, r * width, (r + 1) * width)) + "->" + l[r]);
            }
        }
        return rows;
    }

    @Test
    void threePartitionRoundTripFromSinkThroughControlMessageToIterator(EmbeddedKafkaBroker kafka) {
        kafka.createTopic("raw-matrices", 3);
        List<String> sent = new ArrayList<>();
        RawDataSink sink = RawDataSink.builder(kafka.clientConfig())
                .topic("raw-matrices")
                .deploymentId("31")
                .validationRate(0.1)
                .testRate(0.1)
                .partitioning(DataSink.Partitioning.ROUND_ROBIN)
                .build();
        for (int i = 0; i < 120; i++) {
            float[][] matrix = {{i, -i}, {i / 4f, 1e-3f * i}};
            sink.send(matrix, (byte) (i % 4 - 1));
            sent.add(Arrays.toString(new float[] {i, -i, i / 4f, 1e-3f * i}) + "->" + (float) (i % 4 - 1));
        }
        sink.close();

        ControlMessage message;
        try (ControlChannel control = ControlChannel.create(kafka.clientConfig())) {
            message = control.await("31", Duration.ofSeconds(10));
        }
        assertThat(message).isEqualTo(sink.controlMessage());
        assertThat(message.keyBytes()).containsExactly(31);
        assertThat(message.inputFormat()).isEqualTo("RAW");
        assertThat(message.inputConfig())
                .containsExactlyInAnyOrderEntriesOf(Map.of(
                        "data_type", "float32", "label_type", "int8", "data_reshape", "2 2", "label_reshape", ""));
        assertThat(message.slices()).extracting(StreamSlice::partition).containsExactly(0, 1, 2);
        assertThat(message.totalMessages()).isEqualTo(120);
        assertThat(message.extraFields()).isEmpty();

        try (StreamDataSets data = StreamDataSets.builder(kafka.clientConfig(), message)
                .batchSize(25)
                .build()) {
            List<String> all = new ArrayList<>(rows(data.train()));
            assertThat(all).hasSize(96);
            all.addAll(rows(data.validation()));
            all.addAll(rows(data.test()));
            assertThat(all).containsExactlyInAnyOrderElementsOf(sent);
        }
    }

    @Test
    void declaredTypesConvertValuesAndRecordsThatDoNotFitAreRefused(EmbeddedKafkaBroker kafka) {
        kafka.createTopic("raw-typed", 1);
        try (RawDataSink sink = RawDataSink.builder(kafka.clientConfig())
                .topic("raw-typed")
                .deploymentId("typed")
                .dataType(RawType.UINT8)
                .labelType(RawType.UINT8)
                .build()) {
            sink.send(new int[] {0, 128, 255}, 2);
            assertThatThrownBy(() -> sink.send(new int[] {0, 1}, 1))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("Record 2 does not fit this RAW sink (data uint8 [3], label uint8 [])")
                    .hasMessageContaining("has 3 elements, got 2");
            assertThatThrownBy(() -> sink.send(new int[] {0, 1, 256}, 1))
                    .hasMessageContaining("256.0 does not fit uint8");
            assertThatThrownBy(() -> sink.send(new int[][] {{1, 2}, {3}}, 1)).hasMessageContaining("ragged");
            assertThatThrownBy(() -> sink.send("text", 1)).hasMessageContaining("primitive array or a boxed number");
            sink.sendValue(new double[] {1, 2, 3});
        }
        try (ControlChannel control = ControlChannel.create(kafka.clientConfig())) {
            ControlMessage message = control.await("typed", Duration.ofSeconds(10));
            assertThat(message.inputConfig())
                    .containsEntry("data_type", "uint8")
                    .containsEntry("label_type", "uint8")
                    .containsEntry("data_reshape", "3");
            assertThat(message.totalMessages()).isEqualTo(2);
        }
    }

    @Test
    void aBigEndianSinkWritesAndAnnouncesNumpysByteOrderAndReadsBackTheSameValues(EmbeddedKafkaBroker kafka) {
        kafka.createTopic("raw-big", 1);
        try (RawDataSink sink = RawDataSink.builder(kafka.clientConfig())
                .topic("raw-big")
                .deploymentId("big")
                .dataType(RawDtype.parse(">f4"))
                .labelType(RawDtype.parse(">i2"))
                .build()) {
            sink.send(new float[] {1.5f, -2f}, (short) 258);
            sink.send(new float[] {3f, 1e-3f}, (short) -1);
        }
        try (ControlChannel control = ControlChannel.create(kafka.clientConfig())) {
            ControlMessage message = control.await("big", Duration.ofSeconds(10));
            assertThat(message.inputConfig()).containsEntry("data_type", ">f4").containsEntry("label_type", ">i2");
            try (StreamDataSets data =
                    StreamDataSets.builder(kafka.clientConfig(), message).build()) {
                assertThat(rows(data.train())).containsExactlyInAnyOrder("[1.5, -2.0]->258.0", "[3.0, 0.001]->-1.0");
            }
        }
        try (org.apache.kafka.clients.consumer.KafkaConsumer<byte[], byte[]> consumer =
                new org.apache.kafka.clients.consumer.KafkaConsumer<>(
                        kafka.clientConfig(),
                        new org.apache.kafka.common.serialization.ByteArrayDeserializer(),
                        new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
            org.apache.kafka.common.TopicPartition partition = new org.apache.kafka.common.TopicPartition("raw-big", 0);
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            List<org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (records.size() < 2 && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
            // what numpy writes: np.array([1.5, -2], '>f4').tobytes(), np.array(258, '>i2').tobytes()
            assertThat(java.util.HexFormat.of().formatHex(records.get(0).value()))
                    .isEqualTo("3fc00000c0000000");
            assertThat(java.util.HexFormat.of().formatHex(records.get(0).key())).isEqualTo("0102");
        }
    }
}
