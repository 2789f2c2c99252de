package io.kafkaml.sink;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.control.ControlMessage;
import io.kafkaml.stream.StreamSlice;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A sink that sends at once to a topic created a moment before (or created by its first send) gets every record
 * acknowledged: many small batches in flight per partition ({@code max.in.flight.requests.per.connection} 5,
 * {@code linger.ms} 0, small {@code batch.size}) is the shape that meets Kafka bug KAFKA-15591 (the first batch
 * refused with {@code NOT_LEADER_OR_FOLLOWER} by a leader that has not applied the partition yet, the next accepted,
 * then every retry of the first {@code OUT_OF_ORDER_SEQUENCE_NUMBER}). The sink waits until the topic takes writes
 * before its first send. The race is timing-dependent: without that wait this test failed on a 2-core machine
 * (round 3 of 4: {@code OUT_OF_ORDER_SEQUENCE_NUMBER} until the delivery timeout), but it can pass without it on a
 * machine fast enough to apply the partition before the first batch arrives.
 */
@ExtendWith(EmbeddedKafkaExtension.class)
class DataSinkNewTopicIT {

    private static final int RECORDS = 4_000;
    private static final int PARTITIONS = 4;

    private static Map<String, Object> eager(EmbeddedKafkaBroker kafka) {
        Map<String, Object> config = new HashMap<>(kafka.clientConfig());
        config.put("producer." + ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 5);
        config.put("producer." + ProducerConfig.LINGER_MS_CONFIG, 0);
        config.put("producer." + ProducerConfig.BATCH_SIZE_CONFIG, 1024);
        // a lost first batch fails the sink after 15 s rather than the default 120 s
        config.put("producer." + ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        config.put("producer." + ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 15_000);
        return config;
    }

    private static ControlMessage sendAll(EmbeddedKafkaBroker kafka, String topic) {
        try (RecordDataSink sink = RecordDataSink.builder(eager(kafka))
                .format("JSON")
                .inputConfig(Map.of("data_reshape", "4"))
                .controlTopic("new-topic-control")
                .topic(topic)
                .deploymentId(topic)
                .partitioning(DataSink.Partitioning.ROUND_ROBIN)
                .build()) {
            for (int i = 0; i < RECORDS; i++) {
                sink.send(new double[] {i, i + 1, i + 2, i + 3}, i % 3);
            }
            sink.close();
            return sink.controlMessage();
        }
    }

    @Test
    void everyRecordSentAtOnceToAJustCreatedTopicIsAcknowledged(EmbeddedKafkaBroker kafka) throws Exception {
        for (int round = 0; round < 4; round++) {
            String topic = "fresh-" + round;
            kafka.admin()
                    .createTopics(List.of(new NewTopic(topic, PARTITIONS, (short) 1)))
                    .all()
                    .get(30, TimeUnit.SECONDS);

            ControlMessage stream = sendAll(kafka, topic); // no wait in between: the sink does it

            assertThat(stream.totalMessages()).as("round %d", round).isEqualTo(RECORDS);
            assertThat(stream.slices()).as("round %d", round).hasSize(PARTITIONS);
            assertThat(stream.slices().stream().mapToLong(StreamSlice::size).sum())
                    .as("round %d: the slices hold exactly the records sent", round)
                    .isEqualTo(RECORDS);
            long written = IntStream.range(0, PARTITIONS)
                    .mapToLong(p -> kafka.logEndOffset(new TopicPartition(topic, p)))
                    .sum();
            assertThat(written)
                    .as("round %d: records in the topic's log", round)
                    .isEqualTo(RECORDS);
        }
    }

    @Test
    void aTopicTheBrokerCreatesOnTheFirstSendIsAwaitedToo(EmbeddedKafkaBroker kafka) {
        String topic = "auto-created"; // the test broker has auto.create.topics.enable=true

        ControlMessage stream = sendAll(kafka, topic);

        assertThat(stream.totalMessages()).isEqualTo(RECORDS);
        long written = stream.slices().stream()
                .mapToLong(s -> kafka.logEndOffset(new TopicPartition(topic, s.partition())))
                .sum();
        assertThat(written).isEqualTo(RECORDS);
    }
}
