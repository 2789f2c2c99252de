package io.kafkaml.benchmarks;

import io.kafkaml.control.ControlMessage;
import io.kafkaml.control.InvalidControlMessageException;
import io.kafkaml.format.RecordDecodeException;
import io.kafkaml.format.RecordDecoder;
import io.kafkaml.format.RecordFormats;
import io.kafkaml.stream.InvalidStreamSliceException;
import io.kafkaml.stream.StreamSlice;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * {@code fuzz}: hostile inputs (random bytes, and valid inputs mutated as a fuzzer does: bits flipped, bytes
 * replaced, inserted, deleted, truncated, the input doubled) through the RAW and JSON decoders, control-message
 * parsing and slice strings. Each case must end in success or the documented exception
 * ({@code RecordDecodeException}, {@code InvalidControlMessageException}, {@code InvalidStreamSliceException});
 * anything else is a failure, counted by kind (target, exception class, throwing frame). Prints the cases run,
 * the distinct failure kinds with one example each, and the slowest input. The build runs a bounded sample of
 * the same properties ({@code HostileInputPropertiesTest}).
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
        return "Random and mutated inputs through the RAW/JSON decoders, control messages and slice strings";
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
        List<Target> targets = List.of(
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
                }));
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
            } catch (RecordDecodeException | InvalidControlMessageException | InvalidStreamSliceException expected) {
                // documented refusal
            } catch (RuntimeException | StackOverflowError | OutOfMemoryError e) {
                failed++;
                StackTraceElement[] frames = e.getStackTrace();
                String kind =
                        target.name() + " " + e.getClass().getName() + (frames.length > 0 ? " at " + frames[0] : "");
                failures.putIfAbsent(kind, preview(input) + " -> " + e.getMessage());
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
