package io.kafkaml.benchmarks;

import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.stream.StreamSlice;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.LongFunction;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** What several benchmarks share: writing a topic, the bare consumer loop baseline, timing. */
final class BenchmarkSupport {

    /** The consumer settings StreamDataset uses by default, given to like-for-like baselines too. */
    static final Map<String, Object> DATASET_CONSUMER_SETTINGS = Map.of(
            ConsumerConfig.ISOLATION_LEVEL_CONFIG,
            "read_committed",
            ConsumerConfig.MAX_POLL_RECORDS_CONFIG,
            2000,
            ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG,
            4 * 1024 * 1024,
            ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG,
            20);

    private BenchmarkSupport() {}

    /** A record to write: key and value. */
    record KeyValue(byte[] key, byte[] value) {}

    /**
     * Creates a topic and writes {@code records} records round-robin over its partitions.
     *
     * @return one slice per partition covering what was written
     */
    static List<StreamSlice> produce(
            BenchmarkContext context, String topic, int partitions, long records, LongFunction<KeyValue> record)
            throws Exception {
        context.admin()
                .createTopics(List.of(new NewTopic(topic, partitions, (short) 1)))
                .all()
                .get(60, TimeUnit.SECONDS);
        // an idempotent producer's first batches to a new partition can be lost to Kafka bug KAFKA-15591
        io.kafkaml.internals.Topics.awaitWritable(context.admin(), List.of(topic), Duration.ofSeconds(60));
        Map<String, Object> config = context.producerConfig();
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        config.put(ProducerConfig.LINGER_MS_CONFIG, 20);
        config.put(ProducerConfig.BATCH_SIZE_CONFIG, 512 * 1024);
        config.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 8 * 1024 * 1024);
        long start = System.nanoTime();
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (long i = 0; i < records; i++) {
                KeyValue kv = record.apply(i);
                producer.send(new ProducerRecord<>(topic, (int) (i % partitions), kv.key(), kv.value()), (m, e) -> {
                    if (e != null) {
                        System.err.println(topic + ": send failed: " + e);
                    }
                });
            }
            producer.flush();
        }
        List<StreamSlice> slices = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(context.clientConfig())) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int p = 0; p < partitions; p++) {
                tps.add(new TopicPartition(topic, p));
            }
            long total = 0;
            for (Map.Entry<TopicPartition, Long> end :
                    consumer.endOffsets(tps, Duration.ofSeconds(30)).entrySet()) {
                total += end.getValue();
                slices.add(StreamSlice.of(topic, end.getKey().partition(), 0, end.getValue()));
            }
            if (total != records) {
                throw new IllegalStateException("Wrote " + records + " records but the partitions hold " + total);
            }
        }
        slices.sort((a, b) -> Integer.compare(a.partition(), b.partition()));
        System.err.printf(
                "%s: wrote %d records into %d partitions in %.1f s%n",
                topic, records, partitions, (System.nanoTime() - start) / 1e9);
        return slices;
    }

    static KafkaConsumer<byte[], byte[]> consumer(Map<String, Object> config) {
        Map<String, Object> copy = new KafkaMlConfig(config).consumerConfig();
        copy.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        copy.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
        return new KafkaConsumer<>(copy, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /** A consumer with the settings StreamDataset uses. */
    static KafkaConsumer<byte[], byte[]> tunedConsumer(Map<String, Object> config) {
        Map<String, Object> tuned = new HashMap<>(config);
        tuned.putAll(DATASET_CONSUMER_SETTINGS);
        return consumer(tuned);
    }

    /**
     * The baseline loop: assign, seek, poll until every partition reaches its slice's end, touching the first
     * and last byte of every value.
     *
     * @return the number of records read
     */
    static long readBare(KafkaConsumer<byte[], byte[]> consumer, List<StreamSlice> slices, long[] checksum) {
        Map<TopicPartition, Long> ends = new HashMap<>();
        for (StreamSlice slice : slices) {
            ends.put(slice.topicPartition(), slice.endOffset());
        }
        consumer.assign(ends.keySet());
        for (StreamSlice slice : slices) {
            consumer.seek(slice.topicPartition(), slice.startOffset());
        }
        Set<TopicPartition> pending = new HashSet<>(ends.keySet());
        long count = 0;
        while (!pending.isEmpty()) {
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                if (record.offset() < ends.get(new TopicPartition(record.topic(), record.partition()))) {
                    checksum[0] += touch(record.value());
                    count++;
                }
            }
            pending.removeIf(tp -> consumer.position(tp) >= ends.get(tp));
        }
        return count;
    }

    static long touch(byte[] value) {
        return value.length + value[0] + value[value.length - 1];
    }

    /** A measured piece of work that returns how many records it handled. */
    interface Work {
        long run() throws Exception;
    }

    /** Seconds {@code work} took; fails if it did not handle {@code expected} records. */
    static double timed(Work work, long expected) throws Exception {
        long start = System.nanoTime();
        long count = work.run();
        double seconds = (System.nanoTime() - start) / 1e9;
        if (count != expected) {
            throw new IllegalStateException("A round handled " + count + " records, expected " + expected);
        }
        return seconds;
    }

    static double median(List<Double> values) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /**
     * Bytes the broker has served to fetches of {@code topic} so far (its {@code BrokerTopicMetrics} {@code
     * BytesOutPerSec} count, read over JMX), or -1 when no broker runs in this JVM (a benchmark given {@code
     * --bootstrap-servers}) or it has not served the topic yet. With one broker and replication factor 1 this is
     * what consumers fetched.
     */
    static long brokerBytesOut(String topic) {
        try {
            javax.management.ObjectName name = new javax.management.ObjectName(
                    "kafka.server:type=BrokerTopicMetrics,name=BytesOutPerSec,topic=" + topic);
            Object count = java.lang.management.ManagementFactory.getPlatformMBeanServer()
                    .getAttribute(name, "Count");
            return ((Number) count).longValue();
        } catch (javax.management.JMException e) {
            return -1;
        }
    }
}
