package io.kafkaml.benchmarks;

import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.format.RecordDecoder;
import io.kafkaml.inference.InferenceSpec;
import io.kafkaml.inference.ServedModel;
import io.kafkaml.registry.Registry;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The baselines of the separate-process benchmark modes, each in a JVM of its own as {@code kafkaml infer} is:
 * {@code java -cp kafkaml-benchmarks.jar io.kafkaml.benchmarks.BaselineProcess ROLE --config FILE [--OPTION VALUE
 * ...]}. Roles:
 * <ul>
 * <li>{@code passthrough --input-topic IN --output-topic OUT}: the bare at-least-once consume-produce loop with no
 * model (send each poll's records as they are, flush, {@code commitSync}), as
 * {@link InferenceBenchmarks.Passthrough} runs it in process;</li>
 * <li>{@code batched --input-topic IN --output-topic OUT --registry-prefix P --result R}: the idealised batched loop,
 * consume, decode the whole poll, one forward pass, produce, flush, {@code commitSync}, with none of a replica's
 * bookkeeping (no dead letters, no chunks, no supervision);</li>
 * <li>{@code busy --threads N}: a CPU-bound neighbour, N threads spinning on arithmetic;</li>
 * <li>{@code train-memory --epochs N [--data CSV]}: plain DL4J training of the HCOPD model from memory
 * ({@link TrainOverheadBenchmark#trainInMemory}) in this fresh JVM (cold JIT, as a {@code kafkaml train} JVM starts),
 * printing {@value #TRAIN_MEMORY_LINE}{@code SECONDS ACCURACY} on standard output, then exits.</li>
 * </ul>
 * Runs until SIGTERM (exits 0), except {@code train-memory}. Logs go to standard error.
 */
public final class BaselineProcess {

    /** What {@code train-memory} prints before its seconds and test accuracy. */
    static final String TRAIN_MEMORY_LINE = "train-memory seconds and test accuracy: ";

    private BaselineProcess() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            System.err.println("usage: BaselineProcess passthrough|batched|busy --config FILE [--OPTION VALUE ...]");
            System.exit(2);
        }
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 1; i + 1 < args.length; i += 2) {
            options.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        AtomicBoolean stopping = new AtomicBoolean();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            stopping.set(true);
                            try {
                                stopped.await();
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        },
                        "baseline-shutdown"));
        try {
            switch (args[0]) {
                case "passthrough" -> passthrough(settings(options), options, stopping);
                case "batched" -> batched(settings(options), options, stopping);
                case "busy" -> busy(Integer.parseInt(options.getOrDefault("threads", "2")), stopping);
                case "train-memory" -> {
                    String data = options.get("data");
                    double[] result = TrainOverheadBenchmark.trainInMemory(
                            io.kafkaml.samples.hcopd.Hcopd.read(
                                    data != null ? Path.of(data) : io.kafkaml.samples.hcopd.Hcopd.defaultCsv()),
                            Integer.parseInt(required(options, "epochs")));
                    System.out.println(TRAIN_MEMORY_LINE + result[0] + " " + result[1]);
                }
                default -> {
                    System.err.println("Unknown role '" + args[0] + "'");
                    System.exit(2);
                }
            }
        } finally {
            stopped.countDown();
        }
    }

    private static Map<String, Object> settings(Map<String, String> options) throws IOException {
        Map<String, Object> settings = new HashMap<>();
        Properties properties = new Properties();
        try (InputStream in = Files.newInputStream(Path.of(required(options, "config")))) {
            properties.load(in);
        }
        properties.forEach((key, value) -> settings.put(key.toString(), value));
        return settings;
    }

    private static String required(Map<String, String> options, String key) {
        String value = options.get(key);
        if (value == null) {
            throw new IllegalArgumentException("--" + key + " is required");
        }
        return value;
    }

    private static KafkaConsumer<byte[], byte[]> consumer(Map<String, Object> settings, String group) {
        Map<String, Object> config = new KafkaMlConfig(settings).consumerConfig();
        config.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 500);
        config.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 10);
        return new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    private static KafkaProducer<byte[], byte[]> producer(Map<String, Object> settings) {
        Map<String, Object> config = new KafkaMlConfig(settings).producerConfig();
        config.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        return new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer());
    }

    private static void passthrough(Map<String, Object> settings, Map<String, String> options, AtomicBoolean stopping) {
        String in = required(options, "input-topic");
        String out = required(options, "output-topic");
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(settings, "passthrough-process-" + System.nanoTime());
                KafkaProducer<byte[], byte[]> producer = producer(settings)) {
            consumer.subscribe(List.of(in));
            while (!stopping.get()) {
                ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(100));
                if (records.isEmpty()) {
                    continue;
                }
                for (ConsumerRecord<byte[], byte[]> record : records) {
                    producer.send(new ProducerRecord<>(out, record.key(), record.value()));
                }
                producer.flush();
                consumer.commitSync();
            }
        }
    }

    private static void batched(Map<String, Object> settings, Map<String, String> options, AtomicBoolean stopping) {
        String in = required(options, "input-topic");
        String out = required(options, "output-topic");
        try (Registry registry =
                Registry.connect(settings, required(options, "registry-prefix"), Duration.ofSeconds(60))) {
            ServedModel model = ServedModel.load(
                    registry,
                    InferenceSpec.builder(required(options, "result"), in, out).build());
            RecordDecoder decoder = model.decoder();
            int width = decoder.featureCount();
            int outputs = model.outputs();
            float[] features = new float[500 * width];
            try (KafkaConsumer<byte[], byte[]> consumer = consumer(settings, "batched-process-" + System.nanoTime());
                    KafkaProducer<byte[], byte[]> producer = producer(settings)) {
                consumer.subscribe(List.of(in));
                while (!stopping.get()) {
                    ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(100));
                    if (records.isEmpty()) {
                        continue;
                    }
                    int rows = 0;
                    for (ConsumerRecord<byte[], byte[]> record : records) {
                        decoder.decodeFeatures(record.key(), record.value(), features, rows++ * width);
                    }
                    float[] predictions = model.predict(features, rows);
                    int row = 0;
                    for (ConsumerRecord<byte[], byte[]> record : records) {
                        producer.send(
                                new ProducerRecord<>(out, record.key(), model.encode(predictions, row++ * outputs)));
                    }
                    producer.flush();
                    consumer.commitSync();
                }
            }
        }
    }

    private static void busy(int threads, AtomicBoolean stopping) throws InterruptedException {
        Thread[] spinners = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            spinners[t] = new Thread(
                    () -> {
                        double x = 1;
                        while (!stopping.get()) {
                            for (int i = 0; i < 1_000_000; i++) {
                                x = x * 1.000001 + 1e-9;
                            }
                        }
                        if (x == 42) {
                            System.err.println(x); // keeps the loop from being optimised away
                        }
                    },
                    "busy-" + t);
            spinners[t].start();
        }
        for (Thread spinner : spinners) {
            spinner.join();
        }
    }
}
