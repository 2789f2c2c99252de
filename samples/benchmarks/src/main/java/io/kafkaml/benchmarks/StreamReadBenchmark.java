package io.kafkaml.benchmarks;

import io.kafkaml.stream.StreamDataset;
import io.kafkaml.stream.StreamPass;
import io.kafkaml.stream.StreamRecord;
import io.kafkaml.stream.StreamSlice;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
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

/**
 * {@code stream-read}: a {@link StreamDataset} pass over N records of B bytes in P partitions, against a bare
 * {@link KafkaConsumer} poll loop reading the same slices with the same consumer settings; and, as a second
 * line, against the same loop with Kafka's default consumer settings. Rounds are interleaved after a warm-up;
 * each side reports its median round.
 *
 * <p>Options: {@code --records 1000000 --value-bytes 100 --partitions 3 --rounds 9 --warmup 2}.
 */
final class StreamReadBenchmark implements Benchmark {

    /** The consumer settings StreamDataset uses by default, given to the like-for-like baseline too. */
    private static final Map<String, Object> DATASET_DEFAULTS = Map.of(
            ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
            ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2000,
            ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 4 * 1024 * 1024,
            ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 20);

    @Override
    public String name() {
        return "stream-read";
    }

    @Override
    public String description() {
        return "StreamDataset pass vs a bare KafkaConsumer poll loop over the same slices";
    }

    @Override
    public List<BenchmarkResult> run(BenchmarkContext context) throws Exception {
        long records = context.longOption("records", 1_000_000);
        int valueBytes = (int) context.longOption("value-bytes", 100);
        int partitions = (int) context.longOption("partitions", 3);
        int rounds = (int) context.longOption("rounds", 9);
        int warmup = (int) context.longOption("warmup", 2);
        String topic = context.topic("bench-stream-read");
        context.admin().createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(60, TimeUnit.SECONDS);

        long produceStart = System.nanoTime();
        List<StreamSlice> slices = produce(context.clientConfig(), topic, partitions, records, valueBytes);
        double produceSeconds = (System.nanoTime() - produceStart) / 1e9;
        System.err.printf("stream-read: produced %d records of %d bytes into %d partitions in %.1f s%n",
                records, valueBytes, partitions, produceSeconds);

        Map<String, Object> tuned = new HashMap<>(context.clientConfig());
        tuned.putAll(DATASET_DEFAULTS);
        List<Double> ours = new ArrayList<>();
        List<Double> bare = new ArrayList<>();
        List<Double> bareDefaults = new ArrayList<>();
        try (StreamDataset dataset = StreamDataset.builder(context.clientConfig()).slices(slices).build();
                KafkaConsumer<byte[], byte[]> tunedConsumer = consumer(tuned);
                KafkaConsumer<byte[], byte[]> defaultConsumer = consumer(context.clientConfig())) {
            for (int round = -warmup; round < rounds; round++) {
                double a = timed(() -> readDataset(dataset), records);
                double b = timed(() -> readBare(tunedConsumer, slices), records);
                double c = timed(() -> readBare(defaultConsumer, slices), records);
                if (round >= 0) {
                    ours.add(a);
                    bare.add(b);
                    bareDefaults.add(c);
                }
                System.err.printf("stream-read round %d: dataset %.3f s, bare loop %.3f s, bare loop (Kafka defaults) %.3f s%n",
                        round, a, b, c);
            }
        }
        double megabytes = records * (double) valueBytes / 1e6;
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("valueBytes", valueBytes);
        extra.put("partitions", partitions);
        extra.put("rounds", rounds);
        extra.put("megabytesPerSecond", BenchmarkResult.round(megabytes / median(ours)));
        extra.put("baselineMegabytesPerSecond", BenchmarkResult.round(megabytes / median(bare)));
        extra.put("roundSeconds", ours);
        extra.put("baselineRoundSeconds", bare);
        Map<String, Object> extraDefaults = new LinkedHashMap<>(extra);
        extraDefaults.put("baselineMegabytesPerSecond", BenchmarkResult.round(megabytes / median(bareDefaults)));
        extraDefaults.put("baselineRoundSeconds", bareDefaults);
        return List.of(
                BenchmarkResult.of(name(), records, median(ours), "KafkaConsumer poll loop, same consumer settings",
                        median(bare), extra),
                BenchmarkResult.of(name(), records, median(ours), "KafkaConsumer poll loop, Kafka default settings",
                        median(bareDefaults), extraDefaults));
    }

    private static List<StreamSlice> produce(Map<String, Object> clientConfig, String topic, int partitions,
            long records, int valueBytes) throws Exception {
        Map<String, Object> config = new HashMap<>(clientConfig);
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        config.put(ProducerConfig.LINGER_MS_CONFIG, 20);
        config.put(ProducerConfig.BATCH_SIZE_CONFIG, 512 * 1024);
        Random random = new Random(42);
        long[] ends = new long[partitions];
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (long i = 0; i < records; i++) {
                byte[] value = new byte[valueBytes];
                random.nextBytes(value);
                int partition = (int) (i % partitions);
                producer.send(new ProducerRecord<>(topic, partition, null, value), (metadata, error) -> {
                    if (error != null) {
                        System.err.println("stream-read: send failed: " + error);
                    }
                });
            }
            producer.flush();
        }
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(clientConfig)) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int p = 0; p < partitions; p++) {
                tps.add(new TopicPartition(topic, p));
            }
            Map<TopicPartition, Long> endOffsets = consumer.endOffsets(tps, Duration.ofSeconds(30));
            List<StreamSlice> slices = new ArrayList<>();
            long total = 0;
            for (TopicPartition tp : tps) {
                ends[tp.partition()] = endOffsets.get(tp);
                total += ends[tp.partition()];
                slices.add(StreamSlice.of(topic, tp.partition(), 0, ends[tp.partition()]));
            }
            if (total != records) {
                throw new IllegalStateException("Produced " + records + " records but the partitions hold " + total);
            }
            return slices;
        }
    }

    private static KafkaConsumer<byte[], byte[]> consumer(Map<String, Object> config) {
        Map<String, Object> copy = new HashMap<>(config);
        copy.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        copy.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
        return new KafkaConsumer<>(copy, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /** Reads one pass through the dataset, touching every byte array as a decoder would. */
    private static long readDataset(StreamDataset dataset) {
        long checksum = 0;
        long count = 0;
        StreamPass pass = dataset.newPass();
        while (pass.hasNext()) {
            StreamRecord record = pass.next();
            checksum += touch(record.value());
            count++;
        }
        return count ^ (checksum << 32);
    }

    /** The baseline: assign, seek, poll until every partition reaches its slice's end. */
    private static long readBare(KafkaConsumer<byte[], byte[]> consumer, List<StreamSlice> slices) {
        Map<TopicPartition, Long> ends = new HashMap<>();
        for (StreamSlice slice : slices) {
            ends.put(slice.topicPartition(), slice.endOffset());
        }
        consumer.assign(ends.keySet());
        for (StreamSlice slice : slices) {
            consumer.seek(slice.topicPartition(), slice.startOffset());
        }
        Set<TopicPartition> pending = new HashSet<>(ends.keySet());
        long checksum = 0;
        long count = 0;
        while (!pending.isEmpty()) {
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                if (record.offset() < ends.get(new TopicPartition(record.topic(), record.partition()))) {
                    checksum += touch(record.value());
                    count++;
                }
            }
            pending.removeIf(tp -> consumer.position(tp) >= ends.get(tp));
        }
        return count ^ (checksum << 32);
    }

    private static long touch(byte[] value) {
        return value.length + value[0] + value[value.length - 1];
    }

    private interface Pass {
        long read();
    }

    private static double timed(Pass pass, long expectedRecords) {
        long start = System.nanoTime();
        long result = pass.read();
        double seconds = (System.nanoTime() - start) / 1e9;
        long count = result & 0xFFFFFFFFL;
        if (count != (expectedRecords & 0xFFFFFFFFL)) {
            throw new IllegalStateException("A pass read " + count + " records, expected " + expectedRecords);
        }
        return seconds;
    }

    static double median(List<Double> values) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
