package io.kafkaml.format.raw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kafkaml.format.InvalidFormatConfigException;
import io.kafkaml.format.RecordDecoder;
import io.kafkaml.format.RecordEncoder;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteOrder;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every dtype spelling against what numpy itself says about it, and decoding/encoding against bytes numpy wrote.
 * The fixture {@code numpy-dtypes.json} is made by {@code src/test/python/numpy_dtypes.py} (numpy 1.24, Debian);
 * rerun it to refresh.
 */
class RawDtypeTest {

    private static final JsonNode FIXTURE = load();

    private static JsonNode load() {
        try (InputStream in = RawDtypeTest.class.getResourceAsStream("/numpy-dtypes.json")) {
            return new ObjectMapper().readTree(in);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static Stream<Arguments> spellings() {
        List<Arguments> out = new java.util.ArrayList<>();
        FIXTURE.get("spellings")
                .forEach(e -> out.add(Arguments.of(e.get("spelling").asText(), e)));
        return out.stream();
    }

    static Stream<Arguments> vectors() {
        List<Arguments> out = new java.util.ArrayList<>();
        FIXTURE.get("vectors")
                .forEach(v -> out.add(Arguments.of(
                        v.has("dtypeStr")
                                ? v.get("dtypeStr").asText()
                                : v.get("dtype").asText(),
                        v)));
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("spellings")
    void understandsWhatNumpyUnderstandsAndRefusesTheRestSayingWhy(String spelling, JsonNode expected) {
        switch (expected.get("expect").asText()) {
            case "accept" -> {
                RawDtype dtype = RawDtype.parse(spelling);
                assertThat(dtype.type().numpyName())
                        .isEqualTo(expected.get("type").asText());
                assertThat(dtype.order())
                        .isEqualTo(
                                ">".equals(expected.get("order").asText())
                                        ? ByteOrder.BIG_ENDIAN
                                        : ByteOrder.LITTLE_ENDIAN);
                if (expected.hasNonNull("numpy") && !expected.has("override")) {
                    assertThat(dtype.size())
                            .isEqualTo(expected.get("numpy").get("itemsize").asInt());
                }
            }
            case "not-numeric" ->
                assertThatThrownBy(() -> RawDtype.parse(spelling))
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessageStartingWith("'" + spelling + "' is ")
                        .hasMessageContaining("not a number")
                        .hasMessageContaining("RAW data and labels are numeric");
            case "platform" ->
                assertThatThrownBy(() -> RawDtype.parse(spelling))
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("depends on the platform")
                        .hasMessageContaining("name the size");
            case "unknown" ->
                assertThatThrownBy(() -> RawDtype.parse(spelling))
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessage("'" + spelling + "' is not a RAW type; the known types are " + RawType.known()
                                + ", also as numpy's dtype.str with a byte order ('<f4', '>i8', '|u1', '|b1') or "
                                + "dtype.char ('f', 'd', 'B', '?')");
            default -> throw new IllegalStateException(expected.toString());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("vectors")
    void decodesAndEncodesTheBytesNumpyWroteInEitherByteOrder(String dtype, JsonNode vector) {
        byte[] bytes = HexFormat.of().parseHex(vector.get("hex").asText());
        double[] values = new double[vector.get("values").size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = vector.get("values").get(i).asDouble();
        }
        Map<String, String> config =
                Map.of("data_type", dtype, "data_reshape", String.valueOf(values.length), "label_type", dtype);
        RecordDecoder decoder = new RawFormat().newDecoder(config);
        float[] row = new float[values.length];
        decoder.decodeFeatures(null, bytes, row, 0);
        float[] labels = new float[values.length];
        RecordDecoder labelled = new RawFormat()
                .newDecoder(
                        Map.of("data_type", "u1", "label_type", dtype, "label_reshape", String.valueOf(values.length)));
        labelled.decodeLabels(bytes, new byte[1], labels, 0);
        for (int i = 0; i < values.length; i++) {
            assertThat(row[i]).as("%s element %d", dtype, i).isEqualTo((float) values[i]);
            assertThat(labels[i]).as("%s label element %d", dtype, i).isEqualTo((float) values[i]);
        }
        RecordEncoder encoder = new RawFormat().newEncoder(config);
        assertThat(HexFormat.of().formatHex(encoder.encode(values, null).value()))
                .isEqualTo(vector.get("hex").asText());
    }

    @Test
    void theFixtureCoversWhatItClaims() {
        assertThat(FIXTURE.get("numpy").asText()).startsWith("1.");
        assertThat(FIXTURE.get("spellings").size()).isGreaterThan(200);
        assertThat(FIXTURE.get("vectors").size()).isEqualTo(11 * 5 + 3);
    }

    @Test
    void numpyUnicodeIsNoLongerReadAsUint8AndBadConfigsNameTheKey() {
        assertThatThrownBy(() -> new RawFormat().newDecoder(Map.of("data_type", "<U1")))
                .isInstanceOf(InvalidFormatConfigException.class)
                .hasMessageStartingWith(
                        "RAW input_config 'data_type': '<U1' is numpy's unicode string type, not a number");
        assertThatThrownBy(() -> new RawFormat().newDecoder(Map.of("data_type", "float32", "label_type", "|S3")))
                .hasMessageStartingWith(
                        "RAW input_config 'label_type': '|S3' is numpy's byte string type, not a number");
        assertThatThrownBy(() -> new RawFormat().newDecoder(Map.of("data_type", "<M8[ns]")))
                .hasMessageContaining("numpy's datetime64 type, not a number");
        assertThatThrownBy(() -> new RawFormat().newDecoder(Map.of("data_type", "string")))
                .hasMessageContaining("'string' is a string, bytes or object type, not a number");
        assertThatThrownBy(() -> new RawFormat().newDecoder(Map.of("data_type", "int")))
                .hasMessageContaining("'int' has a size that depends on the platform");
    }

    @Test
    void bigEndianIsWrittenAndAnnouncedAsNumpyDoesAndRoundTrips() {
        RawDtype big = RawDtype.parse(">f4");
        assertThat(big.spelling()).isEqualTo(">f4");
        assertThat(RawDtype.parse("<f4").spelling()).isEqualTo("float32");
        assertThat(RawDtype.parse(">u1")).isEqualTo(RawDtype.of(RawType.UINT8));
        assertThat(RawDtype.parse("bool_").spelling()).isEqualTo("bool");
        assertThat(HexFormat.of().formatHex(big.write(new double[] {1.0}))).isEqualTo("3f800000");
        float[] back = new float[1];
        big.read(big.write(new double[] {-2.5}), 1, back, 0);
        assertThat(back).containsExactly(-2.5f);
    }

    @Test
    void uint64ValuesAboveLongMaxAreWrittenAndReadBack() {
        RawDtype u64 = RawDtype.parse("<u8");
        byte[] bytes = u64.write(new double[] {0x1p63, 0x1.fffffffffffffp63});
        assertThat(HexFormat.of().formatHex(bytes)).isEqualTo("0000000000000080" + "00f8ffffffffffff");
        float[] back = new float[2];
        u64.read(bytes, 2, back, 0);
        assertThat(back).containsExactly(0x1p63f, (float) 0x1.fffffffffffffp63);
        assertThatThrownBy(() -> u64.write(new double[] {0x1p64})).hasMessageContaining("does not fit uint64");
    }
}
