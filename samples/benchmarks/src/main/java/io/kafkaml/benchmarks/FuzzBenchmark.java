package io.kafkaml.benchmarks;

import io.kafkaml.control.ControlMessage;
import io.kafkaml.control.InvalidControlMessageException;
import io.kafkaml.format.RecordDecodeException;
import io.kafkaml.format.RecordDecoder;
import io.kafkaml.format.RecordEncoder.EncodedRecord;
import io.kafkaml.format.RecordFormats;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.ArtifactRef;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.Datasource;
import io.kafkaml.registry.Deployment;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.EpochMetrics;
import io.kafkaml.registry.Inference;
import io.kafkaml.registry.InvalidRegistryRecordException;
import io.kafkaml.registry.MetricsPosition;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.registry.internals.RegistryRecords;
import io.kafkaml.stream.InvalidStreamSliceException;
import io.kafkaml.stream.StreamSlice;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * {@code fuzz}: hostile inputs (random bytes, and valid inputs mutated as a fuzzer does: bits flipped, bytes
 * replaced, inserted, deleted, truncated, the input doubled) through the RAW, JSON and AVRO decoders (AVRO values
 * and label keys), control-message parsing, slice strings, and the JSON records the registry reads from its
 * compacted topics (models, configurations, deployments, results, datasources, inferences, artifact manifests).
 * Each case must end in success or the documented exception ({@code RecordDecodeException},
 * {@code InvalidControlMessageException}, {@code InvalidStreamSliceException},
 * {@code InvalidRegistryRecordException}); anything else is a failure, counted by kind (target, exception class,
 * throwing frame), and so is an accepted input that does not round-trip (control messages, slices, AVRO values
 * re-encoded, registry records written back). Prints the cases run, the distinct failure kinds with one example
 * each, and the slowest input. The build runs a bounded sample of the same properties
 * ({@code HostileInputPropertiesTest}, {@code AvroHostileInputPropertiesTest}, {@code RegistryRecordPropertiesTest}).
 *
 * <p>Options: {@code --cases 1000000 --seed 42}. No broker is used.
 */
final class FuzzBenchmark implements Benchmark {

    @Override
    public String name() {
        return "fuzz";
    }

    @Override
    public String description() {
        return "Random and mutated inputs through the RAW/JSON/AVRO decoders, control messages, slice strings and "
                + "registry records";
    }

    private record Target(String name, List<byte[]> seeds, Case run) {}

    @FunctionalInterface
    private interface Case {
        void run(byte[] input);
    }

    @Override
    public List<BenchmarkResult> run(BenchmarkContext context) {
        long cases = context.longOption("cases", 1_000_000);
        Random random = new Random(context.longOption("seed", 42));
        RecordDecoder raw = RecordFormats.forName("RAW")
                .newDecoder(Map.of(
                        "data_type", "float32", "label_type", "uint8", "data_reshape", "3", "label_reshape", ""));
        RecordDecoder jsonArray = RecordFormats.forName("JSON").newDecoder(Map.of("data_reshape", "3"));
        RecordDecoder jsonFields = RecordFormats.forName("JSON")
                .newDecoder(Map.of("data_fields", List.of("Gender", "Age", "Smoking"), "label_field", "Diagnosis"));
        byte[] rawSeed = ByteBuffer.allocate(12)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putFloat(1f)
                .putFloat(63f)
                .putFloat(2f)
                .array();
        byte[] control = ControlMessage.builder()
                .slices(List.of(StreamSlice.of("hcopd", 0, 0, 120), StreamSlice.of("hcopd", 1, 0, 119)))
                .inputFormat("JSON")
                .inputConfig(Map.of("data_reshape", "3"))
                .validationRate(0.1)
                .testRate(0.1)
                .totalMessages(239)
                .deploymentId("7")
                .build()
                .toJsonBytes();
        Map<String, Object> avroConfig = Map.of("data_scheme", AVRO_DATA_SCHEME, "label_scheme", AVRO_LABEL_SCHEME);
        RecordDecoder avro = RecordFormats.forName("AVRO").newDecoder(avroConfig);
        EncodedRecord avroSeed = RecordFormats.forName("AVRO")
                .newEncoder(avroConfig)
                .encode(new double[] {1, 63.5, 2, 36.6, 0.5, 1, 2.25, 64}, new double[] {1});
        List<Target> targets = new ArrayList<>(List.of(
                new Target("raw-decoder", List.of(rawSeed), input -> {
                    raw.decodeFeatures(new byte[] {1}, input, new float[raw.featureCount()], 0);
                    raw.decodeLabels(input, input, new float[raw.labelCount()], 0);
                }),
                new Target(
                        "json-decoder",
                        List.of(utf8("[1, 63, 2]"), utf8("[[1.0, 63.0, 2.0]]"), utf8("1e400")),
                        input -> jsonArray.decodeFeatures(null, input, new float[jsonArray.featureCount()], 0)),
                new Target(
                        "json-fields-decoder",
                        List.of(utf8("{\"Gender\": 1, \"Age\": 63, \"Smoking\": 2, \"Diagnosis\": 1}")),
                        input -> {
                            jsonFields.decodeFeatures(null, input, new float[jsonFields.featureCount()], 0);
                            jsonFields.decodeLabels(null, input, new float[jsonFields.labelCount()], 0);
                        }),
                new Target("control-message", List.of(control), input -> {
                    ControlMessage message =
                            ControlMessage.parse(Arrays.copyOf(input, Math.min(input.length, 9)), input);
                    if (!ControlMessage.parse(message.keyBytes(), message.toJsonBytes())
                            .equals(message)) {
                        throw new IllegalStateException("control message did not round-trip: " + message);
                    }
                }),
                new Target("slice-list", List.of(utf8("hcopd:0:0:120,hcopd:1:0:119"), utf8("t:0:5")), input -> {
                    List<StreamSlice> slices = StreamSlice.parseList(new String(input, StandardCharsets.UTF_8));
                    if (!StreamSlice.parseList(StreamSlice.formatList(slices)).equals(slices)) {
                        throw new IllegalStateException("slices did not round-trip: " + slices);
                    }
                }),
                new Target("avro-decoder", List.of(avroSeed.value(), avroSeed.key()), input -> {
                    float[] features = new float[avro.featureCount()];
                    try {
                        avro.decodeLabels(input, null, new float[avro.labelCount()], 0);
                    } catch (RecordDecodeException expected) {
                        // a label key refused; the value is tried next
                    }
                    avro.decodeFeatures(null, input, features, 0);
                    double[] asDoubles = new double[features.length];
                    for (int i = 0; i < features.length; i++) {
                        asDoubles[i] = features[i];
                    }
                    byte[] again = RecordFormats.forName("AVRO")
                            .newEncoder(avroConfig)
                            .encode(asDoubles, new double[] {1})
                            .value();
                    float[] decodedAgain = new float[features.length];
                    avro.decodeFeatures(null, again, decodedAgain, 0);
                    if (!Arrays.equals(decodedAgain, features)) {
                        throw new IllegalStateException("AVRO value did not round-trip: " + Arrays.toString(features)
                                + " -> " + Arrays.toString(decodedAgain));
                    }
                })));
        registrySeeds(control).forEach((type, seed) -> targets.add(registryTarget(type, seed)));
        Map<String, String> failures = new TreeMap<>();
        long failed = 0;
        long slowestNanos = -1;
        String slowest = "";
        long begin = System.nanoTime();
        for (long i = 0; i < cases; i++) {
            Target target = targets.get((int) (i % targets.size()));
            byte[] input = random.nextInt(4) == 0
                    ? randomBytes(random)
                    : mutate(target.seeds().get(random.nextInt(target.seeds().size())), random);
            long start = System.nanoTime();
            try {
                target.run().run(input);
            } catch (RecordDecodeException
                    | InvalidControlMessageException
                    | InvalidStreamSliceException
                    | InvalidRegistryRecordException expected) {
                // documented refusal
            } catch (RuntimeException | StackOverflowError | OutOfMemoryError e) {
                failed++;
                StackTraceElement[] frames = e.getStackTrace();
                String kind =
                        target.name() + " " + e.getClass().getName() + (frames.length > 0 ? " at " + frames[0] : "");
                Throwable root = e;
                while (root.getCause() != null && root.getCause() != root) {
                    root = root.getCause();
                }
                failures.putIfAbsent(
                        kind,
                        preview(input) + " -> " + e.getMessage()
                                + (root == e ? "" : " (cause: " + root + " at " + firstFrame(root) + ")"));
            }
            long took = System.nanoTime() - start;
            if (took > slowestNanos) {
                slowestNanos = took;
                slowest = target.name() + " " + preview(input);
            }
        }
        double seconds = (System.nanoTime() - begin) / 1e9;
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("casesRun", cases);
        extra.put("failedCases", failed);
        extra.put("failureKinds", failures.size());
        extra.put("failures", failures);
        extra.put("slowestMicros", slowestNanos / 1000);
        extra.put("slowestInput", slowest);
        return List.of(BenchmarkResult.of("fuzz", cases, seconds, "none (cases per second only)", seconds, extra));
    }

    /** A registry topic's record: decoded, written back, decoded again, the same JSON both times. */
    private static <T> Target registryTarget(Class<T> type, byte[] seed) {
        String topic = "kafkaml." + type.getSimpleName();
        return new Target("registry-" + type.getSimpleName(), List.of(seed), input -> {
            T entity = RegistryRecords.decode(topic, 0, 1, "key", input, type);
            byte[] written = RegistryRecords.encode(entity);
            byte[] again = RegistryRecords.encode(RegistryRecords.decode(topic, 0, 1, "key", written, type));
            if (!sameJson(written, again)) {
                throw new IllegalStateException(
                        type.getSimpleName() + " did not round-trip: " + new String(written, StandardCharsets.UTF_8));
            }
        });
    }

    /** Equal as JSON trees (a map's keys are written in its iteration order, which {@code Map.copyOf} does not fix). */
    private static boolean sameJson(byte[] a, byte[] b) {
        try {
            return RegistryRecords.mapper()
                    .readTree(a)
                    .equals(RegistryRecords.mapper().readTree(b));
        } catch (java.io.IOException e) {
            return false;
        }
    }

    private static String firstFrame(Throwable e) {
        StackTraceElement[] frames = e.getStackTrace();
        return frames.length > 0 ? frames[0].toString() : "?";
    }

    /** One valid record of each registry topic, as kafkaml writes it. */
    static Map<Class<?>, byte[]> registrySeeds(byte[] controlMessage) {
        Instant at = Instant.parse("2026-11-30T10:00:00Z");
        Map<Class<?>, byte[]> seeds = new LinkedHashMap<>();
        seeds.put(
                ModelDefinition.class,
                RegistryRecords.encode(ModelDefinition.fromJson("hcopd", "the paper's model", HCOPD_MLP)));
        seeds.put(
                Configuration.class,
                RegistryRecords.encode(new Configuration("hcopd-all", "", List.of("hcopd", "hcopd-wide"))));
        seeds.put(
                Deployment.class,
                RegistryRecords.encode(new Deployment(
                        "7",
                        "hcopd-all",
                        DeploymentStatus.TRAINING,
                        null,
                        Map.of("batchSize", 10, "epochs", 5),
                        at,
                        at,
                        new String(controlMessage, StandardCharsets.UTF_8))));
        EpochMetrics epoch = new EpochMetrics(5, 0.41, Map.of("loss", 0.45, "accuracy", 0.83), 120);
        seeds.put(
                TrainingResult.class,
                RegistryRecords.encode(new TrainingResult(
                        "7.hcopd",
                        "7",
                        "hcopd",
                        DeploymentStatus.FINISHED,
                        List.of(),
                        Map.of("loss", 0.44, "accuracy", 0.82),
                        new long[][] {{30, 3}, {5, 10}},
                        900,
                        "result.7.hcopd",
                        null,
                        null,
                        at,
                        5,
                        epoch,
                        epoch,
                        new MetricsPosition(0, 10),
                        new MetricsPosition(0, 14))));
        seeds.put(
                Datasource.class,
                RegistryRecords.encode(new Datasource(
                        "KAFKA_ML_CONTROL_TOPIC-0-3",
                        "7",
                        "KAFKA_ML_CONTROL_TOPIC",
                        at,
                        new String(controlMessage, StandardCharsets.UTF_8))));
        seeds.put(
                Inference.class,
                RegistryRecords.encode(new Inference(
                        "serve-7", "7.hcopd", "in", "out", 2, "RUNNING", null, Map.of(), at, at, 0, at, 10_000)));
        seeds.put(
                ArtifactRef.class,
                RegistryRecords.encode(new ArtifactRef("result.7.hcopd", 5000, 1, "ab".repeat(32), at)));
        return seeds;
    }

    /** The paper's HCOPD network: 3 inputs, 2 hidden layers, 2 classes (DL4J JSON, as registered). */
    private static final String HCOPD_MLP = new org.deeplearning4j.nn.conf.NeuralNetConfiguration.Builder()
            .seed(7)
            .list()
            .layer(new org.deeplearning4j.nn.conf.layers.DenseLayer.Builder()
                    .nIn(3)
                    .nOut(8)
                    .activation(org.nd4j.linalg.activations.Activation.RELU)
                    .build())
            .layer(new org.deeplearning4j.nn.conf.layers.OutputLayer.Builder(
                            org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction.MCXENT)
                    .nIn(8)
                    .nOut(2)
                    .activation(org.nd4j.linalg.activations.Activation.SOFTMAX)
                    .build())
            .build()
            .toJson();

    static final String AVRO_DATA_SCHEME = """
            {"type": "record", "name": "Patient", "fields": [
              {"name": "gender", "type": "int"},
              {"name": "age", "type": "float"},
              {"name": "smoking", "type": {"type": "enum", "name": "Smoking", "symbols": ["NEVER", "FORMER", "CURRENT"]}},
              {"name": "vitals", "type": {"type": "array", "items": "float", "length": 2}},
              {"name": "sensor", "type": {"type": "record", "name": "Sensor", "fields": [
                {"name": "ok", "type": "boolean"},
                {"name": "reading", "type": ["null", "double"]},
                {"name": "steps", "type": "long"}]}}]}""";
    static final String AVRO_LABEL_SCHEME = """
            {"type": "record", "name": "Label", "fields": [{"name": "diagnosis", "type": "int"}]}""";

    private static byte[] randomBytes(Random random) {
        byte[] bytes = new byte[random.nextInt(257)];
        random.nextBytes(bytes);
        return bytes;
    }

    /** One to eight mutations of a valid input. */
    static byte[] mutate(byte[] seed, Random random) {
        byte[] data = seed.clone();
        int count = 1 + random.nextInt(8);
        for (int i = 0; i < count; i++) {
            int at = data.length == 0 ? 0 : random.nextInt(data.length);
            switch (random.nextInt(6)) {
                case 0 -> {
                    if (data.length > 0) {
                        data[at] ^= (byte) (1 << random.nextInt(8));
                    }
                }
                case 1 -> {
                    if (data.length > 0) {
                        data[at] = (byte) "{}[],:\"0123456789-.eE \\".charAt(random.nextInt(23));
                    }
                }
                case 2 -> {
                    byte[] grown = new byte[data.length + 1];
                    System.arraycopy(data, 0, grown, 0, at);
                    grown[at] = (byte) random.nextInt(256);
                    System.arraycopy(data, at, grown, at + 1, data.length - at);
                    data = grown;
                }
                case 3 -> {
                    if (data.length > 0) {
                        byte[] shrunk = new byte[data.length - 1];
                        System.arraycopy(data, 0, shrunk, 0, at);
                        System.arraycopy(data, at + 1, shrunk, at, data.length - at - 1);
                        data = shrunk;
                    }
                }
                case 4 -> data = Arrays.copyOf(data, at);
                default -> {
                    if (data.length < 64 * 1024) {
                        byte[] doubled = Arrays.copyOf(data, data.length * 2);
                        System.arraycopy(data, 0, doubled, data.length, data.length);
                        data = doubled;
                    }
                }
            }
        }
        return data;
    }

    /** The first 120 bytes, printable ASCII as is and the rest as \xNN, with the length. */
    private static String preview(byte[] input) {
        StringBuilder text = new StringBuilder("(" + input.length + " bytes) ");
        for (int i = 0; i < Math.min(input.length, 120); i++) {
            int b = input[i] & 0xff;
            if (b >= 0x20 && b < 0x7f && b != '\\') {
                text.append((char) b);
            } else {
                text.append(String.format("\\x%02x", b));
            }
        }
        return text.toString();
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
