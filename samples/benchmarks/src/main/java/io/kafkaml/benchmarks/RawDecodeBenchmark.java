package io.kafkaml.benchmarks;

import static io.kafkaml.benchmarks.BenchmarkSupport.median;
import static io.kafkaml.benchmarks.BenchmarkSupport.timed;

import io.kafkaml.control.ControlMessage;
import io.kafkaml.dataset.StreamDataSetIterator;
import io.kafkaml.dataset.StreamDataSets;
import io.kafkaml.stream.StreamSlice;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.nd4j.linalg.dataset.DataSet;

/**
 * {@code raw-decode}: RAW float32 records of F features (MNIST-sized by default) with a uint8 label, decoded
 * into DL4J {@code DataSet} batches by a {@link StreamDataSets} iterator reading Kafka on every epoch (no
 * cache), against a bare consumer loop that only touches the bytes of the same slices with the same consumer
 * settings. Rounds are interleaved after a warm-up; each side reports its median round.
 *
 * <p>Options: {@code --records 200000 --features 784 --batch 128 --partitions 3 --rounds 7 --warmup 2}.
 */
final class RawDecodeBenchmark implements Benchmark {

    @Override
    public String name() {
        return "raw-decode";
    }

    @Override
    public String description() {
        return "RAW float32 records decoded into DataSet batches vs a bare consumer loop touching the bytes";
    }

    @Override
    public List<BenchmarkResult> run(BenchmarkContext context) throws Exception {
        long records = context.longOption("records", 200_000);
        int features = (int) context.longOption("features", 784);
        int batch = (int) context.longOption("batch", 128);
        int partitions = (int) context.longOption("partitions", 3);
        int rounds = (int) context.longOption("rounds", 7);
        int warmup = (int) context.longOption("warmup", 2);
        Random random = new Random(42);
        byte[][] templates = new byte[64][];
        for (int t = 0; t < templates.length; t++) {
            ByteBuffer buffer = ByteBuffer.allocate(features * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (int f = 0; f < features; f++) {
                buffer.putFloat(random.nextFloat());
            }
            templates[t] = buffer.array();
        }
        List<StreamSlice> slices = BenchmarkSupport.produce(
                context,
                context.topic("bench-raw-decode"),
                partitions,
                records,
                i -> new BenchmarkSupport.KeyValue(new byte[] {(byte) (i % 10)}, templates[(int) (i % 64)]));
        ControlMessage message = ControlMessage.builder()
                .slices(slices)
                .inputFormat("RAW")
                .inputConfig(Map.of(
                        "data_type",
                        "float32",
                        "label_type",
                        "uint8",
                        "data_reshape",
                        String.valueOf(features),
                        "label_reshape",
                        ""))
                .totalMessages(records)
                .deploymentId("bench-raw-decode")
                .build();

        List<Double> ours = new ArrayList<>();
        List<Double> bare = new ArrayList<>();
        long[] checksum = new long[1];
        try (StreamDataSets data = StreamDataSets.builder(context.clientConfig(), message)
                        .batchSize(batch)
                        .cacheBudgetBytes(0)
                        .build();
                KafkaConsumer<byte[], byte[]> consumer = BenchmarkSupport.tunedConsumer(context.clientConfig())) {
            StreamDataSetIterator iterator = data.train();
            for (int round = -warmup; round < rounds; round++) {
                double a = timed(() -> decodeEpoch(iterator, checksum), records);
                double b = timed(() -> BenchmarkSupport.readBare(consumer, slices, checksum), records);
                if (round >= 0) {
                    ours.add(a);
                    bare.add(b);
                }
                System.err.printf("raw-decode round %d: DataSet batches %.3f s, bare loop %.3f s%n", round, a, b);
            }
        }
        double megabytes = records * (features * 4.0 + 1) / 1e6;
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("features", features);
        extra.put("batch", batch);
        extra.put("partitions", partitions);
        extra.put("rounds", rounds);
        extra.put("megabytesPerSecond", BenchmarkResult.round(megabytes / median(ours)));
        extra.put("baselineMegabytesPerSecond", BenchmarkResult.round(megabytes / median(bare)));
        extra.put("roundSeconds", ours);
        extra.put("baselineRoundSeconds", bare);
        return List.of(BenchmarkResult.of(
                name(),
                records,
                median(ours),
                "KafkaConsumer poll loop touching the bytes, same consumer settings",
                median(bare),
                extra));
    }

    /** One epoch of DataSet batches; returns the rows seen. */
    private static long decodeEpoch(StreamDataSetIterator iterator, long[] checksum) {
        iterator.reset();
        long rows = 0;
        while (iterator.hasNext()) {
            DataSet batch = iterator.next();
            checksum[0] += (long) batch.getFeatures().getFloat(0L)
                    + (long) batch.getLabels().getFloat(0L);
            rows += batch.numExamples();
        }
        return rows;
    }
}
