package io.kafkaml.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(EmbeddedKafkaExtension.class)
class StreamDatasetIT {

    /** Writes {@code count} records to one partition: value = (partition, index), key = index as a byte. */
    static List<StreamSlice> produce(EmbeddedKafkaBroker kafka, String topic, int partition, int count) {
        try (KafkaProducer<byte[], byte[]> producer = producer(kafka, false)) {
            List<Future<RecordMetadata>> sent = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                sent.add(producer.send(
                        new ProducerRecord<>(topic, partition, new byte[] {(byte) i}, value(partition, i))));
            }
            producer.flush();
            long first = sent.get(0).get().offset();
            long last = sent.get(count - 1).get().offset();
            assertThat(last - first).isEqualTo(count - 1);
            return List.of(StreamSlice.of(topic, partition, first, last + 1));
        } catch (InterruptedException | ExecutionException e) {
            throw new AssertionError(e);
        }
    }

    static KafkaProducer<byte[], byte[]> producer(EmbeddedKafkaBroker kafka, boolean transactional) {
        Map<String, Object> config = kafka.clientConfig();
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        if (transactional) {
            config.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "stream-dataset-test");
        }
        return new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer());
    }

    static long send(KafkaProducer<byte[], byte[]> producer, String topic, int partition, int index) {
        try {
            return producer.send(
                            new ProducerRecord<>(topic, partition, new byte[] {(byte) index}, value(partition, index)))
                    .get(10, TimeUnit.SECONDS)
                    .offset();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    static byte[] value(int partition, int index) {
        return ByteBuffer.allocate(8).putInt(partition).putInt(index).array();
    }

    static List<long[]> readPass(StreamDataset dataset) {
        List<long[]> seen = new ArrayList<>();
        dataset.readPass(r -> {
            ByteBuffer value = ByteBuffer.wrap(r.value());
            seen.add(new long[] {r.partition(), r.offset(), value.getInt(), value.getInt()});
        });
        return seen;
    }

    /**
     * The documented order, computed independently of StreamPass's incremental merge: group the slices by
     * partition (lanes, in order of first appearance), give each offset its lane's progress fraction after
     * it, and sort stably by (fraction, lane).
     */
    static List<long[]> expectedOrder(List<StreamSlice> slices) {
        Map<TopicPartition, List<StreamSlice>> lanes = new LinkedHashMap<>();
        slices.forEach(s -> lanes.computeIfAbsent(s.topicPartition(), tp -> new ArrayList<>())
                .add(s));
        List<double[]> keyed = new ArrayList<>();
        int laneIndex = 0;
        for (List<StreamSlice> lane : lanes.values()) {
            long span = lane.stream().mapToLong(StreamSlice::size).sum();
            long before = 0;
            for (StreamSlice slice : lane) {
                for (long o = slice.startOffset(); o < slice.endOffset(); o++) {
                    keyed.add(new double[] {
                        (before + o - slice.startOffset()) / (double) span, laneIndex, slice.partition(), o
                    });
                }
                before += slice.size();
            }
            laneIndex++;
        }
        keyed.sort(Comparator.<double[]>comparingDouble(k -> k[0]).thenComparingDouble(k -> k[1]));
        List<long[]> expected = new ArrayList<>();
        for (double[] k : keyed) {
            expected.add(new long[] {(long) k[2], (long) k[3], (long) k[2], (long) k[3]});
        }
        return expected;
    }

    @Test
    void readsExactlyTheSlicesAcrossThreePartitionsInTheDocumentedOrderEveryEpoch(EmbeddedKafkaBroker kafka) {
        kafka.createTopic("three", 3);
        for (int p = 0; p < 3; p++) {
            produce(kafka, "three", p, 3000);
        }
        // Slices in a chosen order, of different sizes, each leaving records out at both ends.
        List<StreamSlice> slices = StreamSlice.parseList("three:2:5:2995,three:0:0:3000,three:1:10:1010");
        List<long[]> expected = expectedOrder(slices);
        assertThat(expected).hasSize(2990 + 3000 + 1000);
        try (StreamDataset dataset =
                StreamDataset.builder(kafka.clientConfig()).slices(slices).build()) {
            assertThat(dataset.offsetCount()).isEqualTo(6990);
            for (int epoch = 1; epoch <= 2; epoch++) {
                List<long[]> seen = readPass(dataset);
                assertThat(seen).as("epoch %d", epoch).hasSize(6990);
                assertThat(seen).as("epoch %d", epoch).containsExactlyElementsOf(expected);
            }
            assertThat(dataset.passes()).isEqualTo(2);
        }
        // A tiny per-partition buffer pauses and resumes partitions all the time: same records, same order.
        try (StreamDataset dataset = StreamDataset.builder(kafka.clientConfig())
                .slices(slices)
                .bufferRecordsPerPartition(7)
                .build()) {
            assertThat(readPass(dataset)).containsExactlyElementsOf(expected);
        }
    }

    @Test
    void severalSlicesOfOnePartitionAreReadInTheOrderGiven(EmbeddedKafkaBroker kafka) {
        kafka.createTopic("lanes", 2);
        produce(kafka, "lanes", 0, 100);
        produce(kafka, "lanes", 1, 100);
        List<StreamSlice> slices =
                StreamSlice.parseList("lanes:0:60:70,lanes:1:0:30,lanes:0:10:20,lanes:0:20:25,lanes:1:90:90");
        try (StreamDataset dataset =
                StreamDataset.builder(kafka.clientConfig()).slices(slices).build()) {
            List<long[]> seen = readPass(dataset);
            assertThat(seen).containsExactlyElementsOf(expectedOrder(slices));
            assertThat(seen.stream().filter(r -> r[0] == 0).map(r -> r[1]).toList())
                    .containsExactly(
                            60L, 61L, 62L, 63L, 64L, 65L, 66L, 67L, 68L, 69L, 10L, 11L, 12L, 13L, 14L, 15L, 16L, 17L,
                            18L, 19L, 20L, 21L, 22L, 23L, 24L);
        }
    }

    @Test
    void iteratorPassesAreSupersededByNewerOnes(EmbeddedKafkaBroker kafka) {
        kafka.createTopic("supersede", 1);
        List<StreamSlice> slices = produce(kafka, "supersede", 0, 5);
        try (StreamDataset dataset =
                StreamDataset.builder(kafka.clientConfig()).slices(slices).build()) {
            StreamPass first = dataset.newPass();
            assertThat(first.next().offset()).isZero();
            StreamPass second = dataset.newPass();
            assertThatThrownBy(first::hasNext)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("superseded");
            int count = 0;
            while (second.hasNext()) {
                assertThat(second.next().offset()).isEqualTo(count++);
            }
            assertThat(count).isEqualTo(5);
            assertThat(second.recordsRead()).isEqualTo(5);
        }
    }

    @Test
    void anExpiredSliceFailsBeforeAnyRecordIsRead(EmbeddedKafkaBroker kafka) {
        kafka.createTopic("expiring", 2);
        List<StreamSlice> slices = new ArrayList<>(produce(kafka, "expiring", 0, 20));
        slices.addAll(produce(kafka, "expiring", 1, 20));
        try (StreamDataset dataset =
                StreamDataset.builder(kafka.clientConfig()).slices(slices).build()) {
            assertThat(readPass(dataset)).hasSize(40);
            kafka.deleteRecordsBefore(new TopicPartition("expiring", 1), 7);
            List<StreamRecord> handed = new ArrayList<>();
            assertThatThrownBy(() -> dataset.readPass(handed::add))
                    .isInstanceOf(DataStreamExpiredException.class)
                    .hasMessageContaining("expiring:1:0:20 has expired")
                    .hasMessageContaining("now starts at offset 7")
                    .satisfies(e -> {
                        DataStreamExpiredException expired = (DataStreamExpiredException) e;
                        assertThat(expired.logStartOffset()).isEqualTo(7);
                        assertThat(expired.slice()).isEqualTo(slices.get(1));
                    });
            assertThat(handed)
                    .as("nothing read partially, not even the intact first slice")
                    .isEmpty();
        }
    }

    @Test
    void aSliceBeyondTheLogEndWaitsForItsRecordsThenTimesOut(EmbeddedKafkaBroker kafka) throws Exception {
        kafka.createTopic("growing", 1);
        produce(kafka, "growing", 0, 10);
        try (StreamDataset dataset = StreamDataset.builder(kafka.clientConfig())
                .slices("growing:0:0:15")
                .endTimeout(Duration.ofSeconds(20))
                .build()) {
            var reading = CompletableFuture.supplyAsync(() -> readPass(dataset));
            // it cannot end with 10 of its 15 records: it waits (and is still waiting after 500 ms)
            org.awaitility.Awaitility.await()
                    .during(Duration.ofMillis(500))
                    .atMost(Duration.ofSeconds(10))
                    .until(() -> !reading.isDone());
            try (KafkaProducer<byte[], byte[]> producer = producer(kafka, false)) {
                for (int i = 10; i < 15; i++) {
                    send(producer, "growing", 0, i);
                }
            }
            assertThat(reading.get(30, TimeUnit.SECONDS)).hasSize(15);
        }
        try (StreamDataset dataset = StreamDataset.builder(kafka.clientConfig())
                .slices("growing:0:0:20")
                .endTimeout(Duration.ofMillis(800))
                .build()) {
            assertThatThrownBy(() -> readPass(dataset))
                    .isInstanceOf(DataStreamTimeoutException.class)
                    .hasMessageContaining("growing:0:0:20 is incomplete: read up to offset 15")
                    .hasMessageContaining("ends at offset 15")
                    .hasMessageContaining("no record arrived for 800 ms");
        }
    }

    @Test
    void openEndedSlicesAreFixedAtTheirFirstPass(EmbeddedKafkaBroker kafka) {
        kafka.createTopic("open", 1);
        produce(kafka, "open", 0, 8);
        try (StreamDataset dataset =
                StreamDataset.builder(kafka.clientConfig()).slices("open:0:3").build()) {
            assertThat(readPass(dataset)).hasSize(5);
            assertThat(dataset.resolvedSlices()).containsExactly(StreamSlice.of("open", 0, 3, 8));
            produce(kafka, "open", 0, 4);
            assertThat(readPass(dataset))
                    .as("the second epoch reads the same records")
                    .hasSize(5);
        }
    }

    @Test
    void transactionMarkersAndAbortedRecordsAreSkipped(EmbeddedKafkaBroker kafka) {
        kafka.createTopic("tx", 1);
        try (KafkaProducer<byte[], byte[]> producer = producer(kafka, true)) {
            producer.initTransactions();
            producer.beginTransaction();
            for (int i = 0; i < 3; i++) {
                send(producer, "tx", 0, i);
            }
            producer.commitTransaction();
            producer.beginTransaction();
            send(producer, "tx", 0, 100);
            producer.abortTransaction();
            producer.beginTransaction();
            for (int i = 3; i < 6; i++) {
                send(producer, "tx", 0, i);
            }
            producer.commitTransaction();
        }
        // commitTransaction returns once the coordinator has decided; the markers reach the partition after it
        org.awaitility.Awaitility.await()
                .atMost(Duration.ofSeconds(10))
                .untilAsserted(() -> assertThat(kafka.logEndOffset(new TopicPartition("tx", 0)))
                        .as("3 + marker + 1 aborted + marker + 3 + marker")
                        .isEqualTo(10));
        long end = kafka.logEndOffset(new TopicPartition("tx", 0));
        try (StreamDataset dataset = StreamDataset.builder(kafka.clientConfig())
                .slices("tx:0:0:" + end)
                .build()) {
            assertThat(readPass(dataset)).extracting(r -> r[3]).containsExactly(0L, 1L, 2L, 3L, 4L, 5L);
        }
    }

    @Test
    void missingTopicsAndPartitionsAreClearErrors(EmbeddedKafkaBroker kafka) {
        kafka.createTopic("twoparts", 2);
        try (StreamDataset dataset = StreamDataset.builder(kafka.clientConfig())
                .slices("twoparts:5:0:10")
                .build()) {
            assertThatThrownBy(dataset::newPass)
                    .isInstanceOf(DataStreamException.class)
                    .hasMessageContaining("names partition 5 but topic 'twoparts' has 2 partitions");
        }
        try (StreamDataset dataset = StreamDataset.builder(kafka.clientConfig())
                .slices("nosuchtopic:0:0:10")
                .metadataTimeout(Duration.ofSeconds(5))
                .build()) {
            assertThatThrownBy(dataset::newPass)
                    .isInstanceOf(DataStreamException.class)
                    .hasMessageContaining("'nosuchtopic', which does not exist");
        }
    }

    @Test
    void settingsAreCheckedWhenBuilt(EmbeddedKafkaBroker kafka) {
        assertThatThrownBy(() -> StreamDataset.builder(Map.of())).hasMessageContaining("bootstrap.servers");
        assertThatThrownBy(() -> StreamDataset.builder(kafka.clientConfig()).build())
                .hasMessageContaining("at least one slice");
        assertThatThrownBy(() -> StreamDataset.builder(kafka.clientConfig()).endTimeout(Duration.ZERO))
                .hasMessageContaining("endTimeout must be positive");
        StreamDataset dataset =
                StreamDataset.builder(kafka.clientConfig()).slices("x:0:0:1").build();
        dataset.close();
        dataset.close();
        assertThatThrownBy(dataset::newPass)
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
    }
}
