package io.kafkaml.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.control.ControlMessage;
import io.kafkaml.control.InvalidControlMessageException;
import io.kafkaml.format.JsonFormat;
import io.kafkaml.format.RecordDecodeException;
import io.kafkaml.format.RecordDecoder;
import io.kafkaml.stream.InvalidStreamSliceException;
import io.kafkaml.stream.StreamSlice;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;

/**
 * Inputs anyone who can write to a topic controls — record values, control messages, slice strings — never make
 * kafkaml throw anything but the documented exception types, and round-trip where a round trip is defined. A
 * bounded sample runs on every build; {@code samples/benchmarks} runs many more.
 */
class HostileInputPropertiesTest {

    private static final byte[] VALID_CONTROL = ControlMessage.builder()
            .slices(List.of(StreamSlice.of("hcopd", 0, 0, 120), StreamSlice.of("hcopd", 1, 0, 119)))
            .inputFormat("JSON")
            .inputConfig(Map.of("data_reshape", "3"))
            .validationRate(0.1)
            .testRate(0.1)
            .totalMessages(239)
            .deploymentId("7")
            .build()
            .toJsonBytes();

    private static final RecordDecoder JSON_ARRAY = new JsonFormat().newDecoder(Map.of("data_reshape", "3"));
    private static final RecordDecoder JSON_FIELDS = new JsonFormat()
            .newDecoder(Map.of("data_fields", List.of("Gender", "Age", "Smoking"), "label_field", "Diagnosis"));

    @Property(tries = 2000)
    void jsonDecodersRefuseArbitraryBytesWithRecordDecodeExceptionOnly(@ForAll("hostileJson") byte[] value) {
        for (RecordDecoder decoder : List.of(JSON_ARRAY, JSON_FIELDS)) {
            float[] features = new float[decoder.featureCount()];
            try {
                decoder.decodeFeatures(null, value, features, 0);
            } catch (RecordDecodeException expected) {
                assertThat(expected.getMessage()).isNotBlank();
            }
            if (decoder.labelCount() > 0) {
                try {
                    decoder.decodeLabels(value, value, new float[decoder.labelCount()], 0);
                } catch (RecordDecodeException expected) {
                    assertThat(expected.getMessage()).isNotBlank();
                }
            }
        }
    }

    @Property(tries = 2000)
    void controlMessagesFromArbitraryBytesAreValidOrInvalidControlMessageException(
            @ForAll("hostileKey") byte[] key, @ForAll("hostileControl") byte[] value) {
        try {
            ControlMessage message = ControlMessage.parse(key, value);
            ControlMessage again = ControlMessage.parse(message.keyBytes(), message.toJsonBytes());
            assertThat(again).isEqualTo(message);
        } catch (InvalidControlMessageException expected) {
            assertThat(expected.getMessage()).isNotBlank();
        }
    }

    @Property(tries = 2000)
    void sliceListsFromArbitraryTextAreValidOrInvalidStreamSliceException(@ForAll("hostileSlices") String text) {
        try {
            List<StreamSlice> slices = StreamSlice.parseList(text);
            assertThat(StreamSlice.parseList(StreamSlice.formatList(slices))).isEqualTo(slices);
        } catch (InvalidStreamSliceException expected) {
            assertThat(expected.getMessage()).isNotBlank();
        }
    }

    @Property(tries = 1000)
    void slicesRoundTrip(@ForAll("slices") @Size(max = 8) List<StreamSlice> slices) {
        assertThat(StreamSlice.parseList(StreamSlice.formatList(slices))).isEqualTo(slices);
    }

    // ---- generators: arbitrary bytes, and valid inputs with mutations (the inputs most likely to reach deep) ----

    @Provide
    Arbitrary<byte[]> hostileJson() {
        List<byte[]> valid = List.of(
                utf8("[1, 63, 2]"),
                utf8("[[1.0, 63.0, 2.0]]"),
                utf8("{\"Gender\": 1, \"Age\": 63, \"Smoking\": 2, \"Diagnosis\": 1}"),
                utf8("1e400"),
                utf8("[1, [2, [3, [4]]]]"));
        return Arbitraries.oneOf(bytes(), Mutations.of(valid));
    }

    @Provide
    Arbitrary<byte[]> hostileControl() {
        return Arbitraries.oneOf(bytes(), Mutations.of(List.of(VALID_CONTROL)));
    }

    @Provide
    Arbitrary<byte[]> hostileKey() {
        return Arbitraries.oneOf(
                Arbitraries.just(null),
                Arbitraries.bytes().array(byte[].class).ofMaxSize(16),
                Arbitraries.just(new byte[64 * 1024]));
    }

    @Provide
    Arbitrary<String> hostileSlices() {
        Arbitrary<String> mutated = Mutations.of(List.of(utf8("hcopd:0:0:120,hcopd:1:0:119"), utf8("t:0:5")))
                .map(b -> new String(b, StandardCharsets.UTF_8));
        return Arbitraries.oneOf(
                Arbitraries.strings().ofMaxLength(80),
                mutated,
                Arbitraries.strings().withChars("t:0123456789,- ").ofMaxLength(60));
    }

    @Provide
    Arbitrary<List<StreamSlice>> slices() {
        Arbitrary<String> topics =
                Arbitraries.strings().withChars("abcXYZ09._-").ofMinLength(1).ofMaxLength(20);
        Arbitrary<StreamSlice> slice = Combinators.combine(
                        topics,
                        Arbitraries.integers().between(0, 1000),
                        Arbitraries.longs().between(0, Long.MAX_VALUE / 2),
                        Arbitraries.longs().between(0, 1_000_000))
                .as((topic, partition, start, length) -> StreamSlice.of(topic, partition, start, start + length));
        return slice.list();
    }

    private static Arbitrary<byte[]> bytes() {
        return Arbitraries.bytes().array(byte[].class).ofMaxSize(256);
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
