package io.kafkaml.benchmarks;

import static io.kafkaml.benchmarks.BenchmarkSupport.median;
import static io.kafkaml.benchmarks.BenchmarkSupport.timed;

import io.kafkaml.stream.StreamDataset;
import io.kafkaml.stream.StreamPass;
import io.kafkaml.stream.StreamSlice;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.kafka.clients.consumer.KafkaConsumer;

/**
 * {@code stream-read}: a {@link StreamDataset} pass over N records of B bytes in P partitions, against a bare
 * {@link KafkaConsumer} poll loop reading the same slices with the same consumer settings; and, as a second
 * line, against the same loop with Kafka's default consumer settings. Rounds are interleaved after a warm-up;
 * each side reports its median round.
 *
 * <p>Options: {@code --records 1000000 --value-bytes 100 --partitions 3 --rounds 9 --warmup 2}.
 */
final class StreamReadBenchmark implements Benchmark {

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
        Random random = new Random(42);
        List<StreamSlice> slices =
                BenchmarkSupport.produce(context, context.topic("bench-stream-read"), partitions, records, i -> {
                    byte[] value = new byte[valueBytes];
                    random.nextBytes(value);
                    return new BenchmarkSupport.KeyValue(null, value);
                });

        List<Double> ours = new ArrayList<>();
        List<Double> bare = new ArrayList<>();
        List<Double> bareDefaults = new ArrayList<>();
        long[] checksum = new long[1];
        try (StreamDataset dataset = StreamDataset.builder(context.clientConfig())
                        .slices(slices)
                        .build();
                KafkaConsumer<byte[], byte[]> tunedConsumer = BenchmarkSupport.tunedConsumer(context.clientConfig());
                KafkaConsumer<byte[], byte[]> defaultConsumer = BenchmarkSupport.consumer(context.clientConfig())) {
            for (int round = -warmup; round < rounds; round++) {
                double a = timed(() -> readDataset(dataset, checksum), records);
                double b = timed(() -> BenchmarkSupport.readBare(tunedConsumer, slices, checksum), records);
                double c = timed(() -> BenchmarkSupport.readBare(defaultConsumer, slices, checksum), records);
                if (round >= 0) {
                    ours.add(a);
                    bare.add(b);
                    bareDefaults.add(c);
                }
                System.err.printf(
                        "stream-read round %d: dataset %.3f s, bare loop %.3f s, bare loop (Kafka defaults) %.3f s%n",
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
                BenchmarkResult.of(
                        name(),
                        records,
                        median(ours),
                        "KafkaConsumer poll loop, same consumer settings",
                        median(bare),
                        extra),
                BenchmarkResult.of(
                        name(),
                        records,
                        median(ours),
                        "KafkaConsumer poll loop, Kafka default settings",
                        median(bareDefaults),
                        extraDefaults));
    }

    /** Reads one pass through the dataset, touching every value as a decoder would. */
    private static long readDataset(StreamDataset dataset, long[] checksum) {
        long count = 0;
        StreamPass pass = dataset.newPass();
        while (pass.hasNext()) {
            checksum[0] += BenchmarkSupport.touch(pass.next().value());
            count++;
        }
        return count;
    }
}
