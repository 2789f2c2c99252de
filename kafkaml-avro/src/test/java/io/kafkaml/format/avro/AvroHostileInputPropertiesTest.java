package io.kafkaml.format.avro;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.format.RecordDecodeException;
import io.kafkaml.format.RecordDecoder;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Avro record values anyone who can write to a topic controls — arbitrary bytes and mutations of a valid value
 * (flipped, dropped, inserted bytes, truncation) — never make the AVRO decoder throw anything but
 * {@link RecordDecodeException}; a value it accepts decodes again to the same features after the encoder writes
 * them back. A bounded sample on every build.
 */
class AvroHostileInputPropertiesTest {

    private static final Map<String, Object> CONFIG =
            Map.of("data_scheme", AvroFormatTest.DATA_SCHEME, "label_scheme", AvroFormatTest.LABEL_SCHEME);
    private static final RecordDecoder DECODER = new AvroFormat().newDecoder(CONFIG);
    private static final byte[] VALID = HexFormat.of().parseHex(AvroFormatTest.VALUE_HEX);

    @Property(tries = 2000)
    void arbitraryAndMutatedValuesAreDecodedOrRefusedWithRecordDecodeExceptionOnly(
            @ForAll("hostileAvro") byte[] value) {
        float[] features = new float[DECODER.featureCount()];
        try {
            DECODER.decodeFeatures(null, value, features, 0);
        } catch (RecordDecodeException expected) {
            assertThat(expected.getMessage()).isNotBlank();
            return;
        }
        double[] asDoubles = new double[features.length];
        for (int i = 0; i < features.length; i++) {
            asDoubles[i] = features[i];
        }
        byte[] again = new AvroFormat()
                .newEncoder(CONFIG)
                .encode(asDoubles, new double[] {1})
                .value();
        float[] decodedAgain = new float[features.length];
        DECODER.decodeFeatures(null, again, decodedAgain, 0);
        assertThat(decodedAgain).containsExactly(features);
    }

    @Property(tries = 1000)
    void arbitraryKeysAreLabelsOrRecordDecodeException(@ForAll("hostileAvro") byte[] key) {
        try {
            DECODER.decodeLabels(key, null, new float[DECODER.labelCount()], 0);
        } catch (RecordDecodeException expected) {
            assertThat(expected.getMessage()).isNotBlank();
        }
    }

    @Provide
    Arbitrary<byte[]> hostileAvro() {
        Arbitrary<byte[]> random = Arbitraries.bytes().array(byte[].class).ofMaxSize(64);
        Arbitrary<byte[]> mutated = Combinators.combine(
                        Arbitraries.integers().between(0, 3),
                        Arbitraries.integers().between(0, VALID.length - 1),
                        Arbitraries.bytes())
                .as(AvroHostileInputPropertiesTest::mutate);
        return Arbitraries.oneOf(random, mutated);
    }

    private static byte[] mutate(int kind, int position, byte b) {
        byte[] copy = VALID.clone();
        switch (kind) {
            case 0 -> copy[position] = b; // overwrite
            case 1 -> { // drop one byte
                byte[] shorter = new byte[copy.length - 1];
                System.arraycopy(copy, 0, shorter, 0, position);
                System.arraycopy(copy, position + 1, shorter, position, copy.length - position - 1);
                copy = shorter;
            }
            case 2 -> { // insert one byte
                byte[] longer = new byte[copy.length + 1];
                System.arraycopy(copy, 0, longer, 0, position);
                longer[position] = b;
                System.arraycopy(copy, position, longer, position + 1, copy.length - position);
                copy = longer;
            }
            default -> copy = Arrays.copyOf(copy, position); // truncate
        }
        return copy;
    }
}
