package io.kafkaml.format.raw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.format.InvalidFormatConfigException;
import io.kafkaml.format.RecordDecodeException;
import io.kafkaml.format.RecordDecoder;
import io.kafkaml.format.RecordEncoder;
import io.kafkaml.format.RecordFormats;
import java.util.HexFormat;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Golden byte vectors: each hex string is what numpy's {@code np.array(values, dtype=TYPE).tobytes()} returns
 * on a little-endian machine, written out by hand from the IEEE 754 / two's complement encodings.
 */
class RawFormatTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                // type    | numpy bytes (hex)                                  | values
                "float32   | 0000803f 000020c0 00000000 0000c07f                 | 1.0 -2.5 0.0 NaN",
                "float     | 0000803f                                           | 1.0",
                "float64   | 000000000000f03f 000000000000f8bf                   | 1.0 -1.5",
                "double    | 182d4454fb210940                                   | 3.141592653589793",
                "float16   | 003c 00c0 0038 ff7b 0100 0000 007c                   | 1.0 -2.0 0.5 65504 5.9604645E-8 0.0 Infinity",
                "half      | 003c                                               | 1.0",
                "int8      | ff 7f 80                                           | -1 127 -128",
                "uint8     | ff 00 07                                           | 255 0 7",
                "int16     | feff 0201 0080                                     | -2 258 -32768",
                "uint16    | ffff 0100                                          | 65535 1",
                "int32     | ffffffff 04030201                                  | -1 16909060",
                "uint32    | ffffffff                                           | 4294967295",
                "int64     | feffffffffffffff 0000000000010000                   | -2 1099511627776",
                "uint64    | 0100000000000000                                   | 1",
                "bool      | 01 00 01                                           | 1 0 1",
            })
    void decodesAndEncodesNumpyBytes(String type, String hex, String values) {
        byte[] bytes = HexFormat.of().parseHex(hex.replace(" ", ""));
        String[] expected = values.trim().split(" ");
        RecordDecoder decoder =
                new RawFormat().newDecoder(Map.of("data_type", type, "data_reshape", String.valueOf(expected.length)));
        float[] row = new float[expected.length + 1];
        decoder.decodeFeatures(null, bytes, row, 1);
        double[] doubles = new double[expected.length];
        for (int i = 0; i < expected.length; i++) {
            doubles[i] = Double.parseDouble(expected[i]);
            assertThat(Float.valueOf(row[i + 1])).as("element %d", i).isEqualTo(Float.valueOf((float) doubles[i]));
        }
        if (!values.contains("NaN")) {
            RecordEncoder encoder = new RawFormat()
                    .newEncoder(Map.of("data_type", type, "data_reshape", String.valueOf(expected.length)));
            assertThat(HexFormat.of().formatHex(encoder.encode(doubles, null).value()))
                    .isEqualTo(hex.replace(" ", ""));
        }
    }

    @Test
    void labelsComeFromTheKeyWithTheirOwnTypeAndShape() {
        RecordDecoder decoder = RecordFormats.forName("raw")
                .newDecoder(Map.of(
                        "data_type", "float32", "label_type", "uint8", "data_reshape", "2 2", "label_reshape", ""));
        assertThat(decoder.featureCount()).isEqualTo(4);
        assertThat(decoder.featureShape()).containsExactly(2, 2);
        assertThat(decoder.labelCount()).isEqualTo(1);
        assertThat(decoder.labelShape()).isEmpty();
        float[] labels = new float[1];
        decoder.decodeLabels(new byte[] {(byte) 200}, null, labels, 0);
        assertThat(labels).containsExactly(200f);
        RecordEncoder.EncodedRecord record = new RawFormat()
                .newEncoder(Map.of("data_type", "float32", "label_type", "uint8", "data_reshape", "2 2"))
                .encode(new double[] {1, 2, 3, 4}, new double[] {9});
        assertThat(record.key()).containsExactly(9);
        assertThat(record.value()).hasSize(16);
    }

    @Test
    void aValueOfTheWrongLengthIsADecodeErrorWithBothLengths() {
        RecordDecoder decoder =
                new RawFormat().newDecoder(Map.of("data_type", "float32", "data_reshape", "3", "label_type", "int16"));
        float[] row = new float[3];
        assertThatThrownBy(() -> decoder.decodeFeatures(null, new byte[10], row, 0))
                .isInstanceOf(RecordDecodeException.class)
                .hasMessage("the value has 10 bytes, expected 12 (3 × float32, shape [3])");
        assertThatThrownBy(() -> decoder.decodeLabels(new byte[3], null, row, 0))
                .hasMessage("the key (label) has 3 bytes, expected 2 (1 × int16, shape [])");
        assertThatThrownBy(() -> decoder.decodeLabels(null, new byte[12], row, 0))
                .hasMessage("the record has no key, so no label");
        RecordDecoder unlabelled = new RawFormat().newDecoder(Map.of("data_type", "uint8"));
        assertThat(unlabelled.labelCount()).isZero();
        assertThatThrownBy(() -> unlabelled.decodeLabels(new byte[1], new byte[1], row, 0))
                .hasMessageContaining("declares no label_type");
    }

    @Test
    void badConfigsListWhatIsKnownAndHugeShapesAreRefusedBeforeAllocating() {
        assertThatThrownBy(() -> new RawFormat().newDecoder(Map.of("data_type", "float24")))
                .isInstanceOf(InvalidFormatConfigException.class)
                .hasMessageContaining("'float24' is not a RAW type")
                .hasMessageContaining("float32 (float, single)")
                .hasMessageContaining("uint16")
                .hasMessageContaining("bool");
        assertThatThrownBy(() -> new RawFormat().newDecoder(Map.of("data_reshape", "3")))
                .hasMessageContaining("RAW input_config needs 'data_type'");
        assertThatThrownBy(() -> new RawFormat().newDecoder(Map.of("data_type", "uint8", "shape", "3")))
                .hasMessageContaining("unknown setting [shape]")
                .hasMessageContaining("data_reshape");
        assertThatThrownBy(() ->
                        new RawFormat().newDecoder(Map.of("data_type", "float64", "data_reshape", "65536 65536 65536")))
                .hasMessageContaining("refusing to allocate");
        assertThatThrownBy(() -> new RawFormat().newDecoder(Map.of("data_type", "float64", "data_reshape", "0 4")))
                .hasMessageContaining("'data_reshape' = \"0 4\" is not valid");
    }

    @Test
    void valuesThatDoNotFitTheTypeAreRefusedWhenEncoding() {
        RecordEncoder encoder = new RawFormat().newEncoder(Map.of("data_type", "uint8", "data_reshape", "2"));
        assertThatThrownBy(() -> encoder.encode(new double[] {1, 256}, null))
                .hasMessageContaining("256.0 does not fit uint8");
        assertThatThrownBy(() -> encoder.encode(new double[] {1, 1.5}, null))
                .hasMessageContaining("1.5 does not fit uint8");
        assertThatThrownBy(() -> encoder.encode(new double[] {1}, null)).hasMessageContaining("has 2 elements, got 1");
    }

    @Test
    void numpyTypeCodesAndAliasesAreAccepted() {
        assertThat(RawType.of("<f4")).isEqualTo(RawType.FLOAT32);
        assertThat(RawType.of("|u1")).isEqualTo(RawType.UINT8);
        assertThat(RawType.of("Double")).isEqualTo(RawType.FLOAT64);
        assertThat(RawType.of("half")).isEqualTo(RawType.FLOAT16);
    }

    @Test
    void halfPrecisionRoundTripsEveryValue() {
        for (int bits = 0; bits < 0x10000; bits++) {
            float value = RawType.halfToFloat((short) bits);
            if (Float.isNaN(value)) {
                continue;
            }
            assertThat(RawType.floatToHalf(value) & 0xffff)
                    .as("half 0x%04x = %s", bits, value)
                    .isEqualTo(bits);
        }
    }
}
