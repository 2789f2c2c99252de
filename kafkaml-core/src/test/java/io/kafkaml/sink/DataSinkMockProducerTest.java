package io.kafkaml.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.config.KafkaClientSupplier;
import io.kafkaml.control.ControlMessage;
import io.kafkaml.stream.StreamSlice;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/** The sink's control message from what the producer acknowledged, against a {@link MockProducer}. */
class DataSinkMockProducerTest {

    private static final Map<String, Object> CLIENT = Map.of("bootstrap.servers", "unused:9092");

    private static KafkaClientSupplier supplying(MockProducer<byte[], byte[]> producer) {
        return new KafkaClientSupplier() {
            @Override
            public Producer<byte[], byte[]> producer(Map<String, Object> config) {
                assertThat(config).containsEntry("acks", "all").containsEntry("enable.idempotence", true);
                return producer;
            }
        };
    }

    private static RecordDataSink.Builder sink(MockProducer<byte[], byte[]> producer) {
        return RecordDataSink.builder(CLIENT)
                .clientSupplier(supplying(producer))
                .format("JSON")
                .inputConfig(Map.of("data_reshape", "2"))
                .topic("data")
                .deploymentId("7")
                .testRate(0.25);
    }

    private static List<ProducerRecord<byte[], byte[]>> sentTo(MockProducer<byte[], byte[]> producer, String topic) {
        return producer.history().stream().filter(r -> r.topic().equals(topic)).toList();
    }

    @Test
    void closeSendsOneControlMessageCoveringTheAcknowledgedOffsets() {
        MockProducer<byte[], byte[]> producer =
                new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer());
        try (RecordDataSink sink = sink(producer).build()) {
            IntStream.range(0, 5).forEach(i -> sink.send(new double[] {i, i * 2}, i % 2));
        }

        assertThat(sentTo(producer, "data")).hasSize(5);
        List<ProducerRecord<byte[], byte[]>> control = sentTo(producer, "KAFKA_ML_CONTROL_TOPIC");
        assertThat(control).hasSize(1);
        ControlMessage message =
                ControlMessage.parse(control.get(0).key(), control.get(0).value());
        assertThat(message.slices()).containsExactly(StreamSlice.of("data", 0, 0, 5));
        assertThat(message.totalMessages()).isEqualTo(5);
        assertThat(message.deploymentId()).isEqualTo("7");
        assertThat(message.inputFormat()).isEqualTo("JSON");
        assertThat(producer.closed()).isTrue();
    }

    @Test
    void anOnlineSinkSendsKafkaMlsOnlineControlMessageBeforeItsFirstRecordAndNothingOnClose() {
        MockProducer<byte[], byte[]> producer =
                new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer());
        try (RecordDataSink sink =
                sink(producer).testRate(0).validationRate(0.1).online(true).build()) {
            IntStream.range(0, 5).forEach(i -> sink.send(new double[] {i, i * 2}, i % 2));
        }
        List<ProducerRecord<byte[], byte[]>> history = producer.history();
        assertThat(history).hasSize(6);
        assertThat(history.get(0).topic()).isEqualTo("KAFKA_ML_CONTROL_TOPIC");
        assertThat(history.subList(1, 6)).allMatch(r -> r.topic().equals("data"));
        ControlMessage message =
                ControlMessage.parse(history.get(0).key(), history.get(0).value());
        assertThat(message.incremental()).isTrue();
        assertThat(message.unboundedTopic()).contains("data");
        assertThat(message.slices()).isEmpty();
        assertThat(message.totalMessages()).isEqualTo(-1);
        assertThat(message.validationRate()).isEqualTo(0.1);
        assertThat(new String(history.get(0).value(), java.nio.charset.StandardCharsets.UTF_8))
                .contains("\"total_msg\":null")
                .contains("\"dataset_restrictions\":{}") // an object, as Kafka-ML's OnlineRawSink sends it
                .contains("\"incremental\":true");
        assertThat(message.datasetRestrictions()).contains("{}");
        assertThat(history.get(0).key()).containsExactly(7); // Kafka-ML's key: the id as one byte
        assertThatThrownBy(() -> sink(producer).online(true).build()) // testRate 0.25
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("testRate must be 0");
    }

    @Test
    void roundRobinSpreadsRecordsOverEveryPartitionAndTheMessageListsEachSlice() {
        Node node = new Node(0, "localhost", 9092);
        List<PartitionInfo> partitions = IntStream.range(0, 3)
                .mapToObj(p -> new PartitionInfo("data", p, node, new Node[] {node}, new Node[] {node}))
                .toList();
        Cluster cluster = new Cluster("c", List.of(node), partitions, java.util.Set.of(), java.util.Set.of());
        MockProducer<byte[], byte[]> producer =
                new MockProducer<>(cluster, true, null, new ByteArraySerializer(), new ByteArraySerializer());
        try (RecordDataSink sink =
                sink(producer).partitioning(DataSink.Partitioning.ROUND_ROBIN).build()) {
            IntStream.range(0, 6).forEach(i -> sink.send(new double[] {i, i}, 1));
        }

        ProducerRecord<byte[], byte[]> control =
                sentTo(producer, "KAFKA_ML_CONTROL_TOPIC").get(0);
        assertThat(ControlMessage.parse(control.key(), control.value()).slices())
                .containsExactlyInAnyOrder(
                        StreamSlice.of("data", 0, 0, 2),
                        StreamSlice.of("data", 1, 0, 2),
                        StreamSlice.of("data", 2, 0, 2));
    }

    @Test
    void aRecordTheBrokerRefusedMeansNoControlMessage() {
        MockProducer<byte[], byte[]> producer =
                new MockProducer<>(false, null, new ByteArraySerializer(), new ByteArraySerializer());
        RecordDataSink sink = sink(producer).build();
        sink.send(new double[] {1, 2}, 1);
        sink.send(new double[] {3, 4}, 0);
        producer.completeNext();
        producer.errorNext(new KafkaException("refused by the broker"));

        assertThatThrownBy(sink::close)
                .isInstanceOf(DataSinkException.class)
                .hasMessageContaining("refused by the broker");
        assertThat(sentTo(producer, "KAFKA_ML_CONTROL_TOPIC")).isEmpty();
        assertThat(producer.closed()).isTrue();
    }
}
