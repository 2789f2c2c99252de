package io.kafkaml.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonFormatTest {

    private static byte[] b(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void isFoundByNameIgnoringCaseAndUnknownNamesListWhatIsKnown() {
        assertThat(RecordFormats.forName("json")).isInstanceOf(JsonFormat.class);
        assertThatThrownBy(() -> RecordFormats.forName("XML"))
                .isInstanceOf(UnknownFormatException.class)
                .hasMessageContaining("Unknown input format 'XML'")
                .hasMessageContaining("JSON")
                .hasMessageContaining("kafkaml-raw");
    }

    @Test
    void decodesArraysNestedArraysAndKeyLabels() {
        RecordDecoder decoder = new JsonFormat().newDecoder(Map.of("data_reshape", "2 2"));
        assertThat(decoder.featureCount()).isEqualTo(4);
        assertThat(decoder.featureShape()).containsExactly(2, 2);
        float[] features = new float[6];
        decoder.decodeFeatures(null, b("[[1, 2.5], [true, -4e-1]]"), features, 2);
        assertThat(features).containsExactly(0f, 0f, 1f, 2.5f, 1f, -0.4f);
        float[] labels = new float[1];
        decoder.decodeLabels(b("3"), null, labels, 0);
        assertThat(labels).containsExactly(3f);
    }

    @Test
    void decodesObjectsByFieldNameInTheListedOrderWithALabelField() {
        RecordDecoder decoder = new JsonFormat()
                .newDecoder(Map.of("data_fields", List.of("gender", "age", "smoking"), "label_field", "diagnosis"));
        float[] features = new float[3];
        byte[] value =
                b("{\"smoking\": 2, \"id\": \"x-1\", \"age\": 63, \"gender\": 1, \"diagnosis\": 1, \"extra\": [1]}");
        decoder.decodeFeatures(null, value, features, 0);
        assertThat(features).containsExactly(1f, 63f, 2f);
        float[] labels = new float[1];
        decoder.decodeLabels(null, value, labels, 0);
        assertThat(labels).containsExactly(1f);
    }

    @Test
    void badRecordsSayWhatIsWrong() {
        RecordDecoder array = new JsonFormat().newDecoder(Map.of("data_reshape", "3"));
        float[] row = new float[3];
        assertThatThrownBy(() -> array.decodeFeatures(null, b("[1, 2]"), row, 0))
                .isInstanceOf(RecordDecodeException.class)
                .hasMessage(
                        "the value holds 2 numbers in an array of shape [2], expected 3 numbers (data_reshape [3])");
        assertThatThrownBy(() -> array.decodeFeatures(null, b("[1, null, 3]"), row, 0))
                .hasMessageContaining("element 1 must be a number or a boolean, was null");
        assertThatThrownBy(() -> array.decodeFeatures(null, b("[1, 2, 3"), row, 0))
                .hasMessageContaining("not valid JSON");
        // one line for a dead-letter header: Jackson's text without its source excerpt, with the position
        assertThatThrownBy(() -> array.decodeFeatures(null, b("not json"), row, 0))
                .hasMessageStartingWith("the value is not valid JSON: Unrecognized token 'not'")
                .hasMessageEndingWith("(line 1, column 1)")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n").doesNotContain("Source"));
        assertThatThrownBy(() -> array.decodeFeatures(null, b("{\"a\": 1}"), row, 0))
                .hasMessageContaining("must be a JSON array of 3 numbers");
        assertThatThrownBy(() -> array.decodeLabels(null, b("[1,2,3]"), row, 0))
                .hasMessageContaining("no key, so no label");
        RecordDecoder object = new JsonFormat().newDecoder(Map.of("data_fields", "a, b", "label_field", "y"));
        assertThatThrownBy(() -> object.decodeFeatures(null, b("{\"a\": 1}"), row, 0))
                .hasMessageContaining("lacks feature field(s) b");
        assertThatThrownBy(() -> object.decodeFeatures(null, b("{\"a\": 1, \"b\": \"two\"}"), row, 0))
                .hasMessageContaining("field 'b' must be a number or a boolean, was the string \"two\"");
        assertThatThrownBy(() -> object.decodeLabels(null, b("{\"a\": 1, \"b\": 2}"), row, 0))
                .hasMessageContaining("no label field 'y'");
    }

    @Test
    void locatingAnErrorKeepsTheReason() {
        RecordDecodeException e = new RecordDecodeException("the value has 3 bytes");
        RecordDecodeException located = e.at("hcopd", 2, 17);
        assertThat(located).hasMessage("Cannot decode record hcopd-2@17: the value has 3 bytes");
        assertThat(located.reason()).isEqualTo("the value has 3 bytes");
        assertThat(located.topic()).isEqualTo("hcopd");
        assertThat(located.partition()).isEqualTo(2);
        assertThat(located.offset()).isEqualTo(17);
    }

    @Test
    void badConfigsNameTheSettingAndWhatIsAllowed() {
        JsonFormat format = new JsonFormat();
        assertThatThrownBy(() -> format.newDecoder(Map.of()))
                .isInstanceOf(InvalidFormatConfigException.class)
                .hasMessageContaining("needs 'data_fields'");
        assertThatThrownBy(() -> format.newDecoder(Map.of("data_reshape", "3", "dtype", "float")))
                .hasMessageContaining("unknown setting [dtype]")
                .hasMessageContaining("data_fields");
        assertThatThrownBy(() -> format.newDecoder(Map.of("data_reshape", "3 x")))
                .hasMessageContaining("'data_reshape' = \"3 x\" is not valid");
        assertThatThrownBy(() -> format.newDecoder(Map.of("data_reshape", "100000 100000")))
                .hasMessageContaining("refusing to allocate");
        assertThatThrownBy(() -> format.newDecoder(Map.of("data_reshape", "3", "label_field", "y")))
                .hasMessageContaining("'label_field'");
    }

    @Test
    void encoderWritesWhatTheDecoderReads() {
        Map<String, Object> config = Map.of("data_fields", List.of("x", "y"), "label_field", "label");
        RecordEncoder.EncodedRecord record =
                new JsonFormat().newEncoder(config).encode(new double[] {1.5, -2}, new double[] {1});
        assertThat(new String(record.value(), StandardCharsets.UTF_8)).isEqualTo("{\"x\":1.5,\"y\":-2,\"label\":1}");
        assertThat(record.key()).isNull();
        float[] row = new float[2];
        new JsonFormat().newDecoder(config).decodeFeatures(record.key(), record.value(), row, 0);
        assertThat(row).containsExactly(1.5f, -2f);
        RecordEncoder.EncodedRecord keyed =
                new JsonFormat().newEncoder(Map.of("data_reshape", "2")).encode(new double[] {3, 4}, new double[] {0});
        assertThat(new String(keyed.key(), StandardCharsets.UTF_8)).isEqualTo("0");
        assertThat(new String(keyed.value(), StandardCharsets.UTF_8)).isEqualTo("[3,4]");
    }

    @Test
    void aModelTrainedFromObjectsAlsoTakesTheArrayFormsKafkaMlClientsSend() {
        RecordDecoder decoder = new JsonFormat()
                .newDecoder(Map.of("data_fields", List.of("Gender", "Age", "Smoking"), "label_field", "Diagnosis"));
        for (String form : List.of(
                "{\"Smoking\": 2, \"Age\": 63, \"Gender\": 1}",
                "[1.0, 63.0, 2.0]",
                "[[1.0, 63.0, 2.0]]",
                "[[[1, 63, 2]]]",
                "[[1], [63], [2]]",
                " [1,63,2] ")) {
            float[] row = new float[4];
            decoder.decodeFeatures(null, b(form), row, 1);
            assertThat(row).as(form).containsExactly(0f, 1f, 63f, 2f);
        }
        float[] row = new float[3];
        assertThatThrownBy(() -> decoder.decodeFeatures(null, b("[1.0, 63.0]"), row, 0))
                .isInstanceOf(RecordDecodeException.class)
                .hasMessage("the value holds 2 numbers in an array of shape [2], expected 3 numbers (the fields "
                        + "[Gender, Age, Smoking] in that order)");
        assertThatThrownBy(() -> decoder.decodeFeatures(null, b("[[1, 63, 2], [0, 70, 1]]"), row, 0))
                .hasMessageEndingWith("it looks like a batch of 2 examples: send one example per record");
        assertThatThrownBy(() -> decoder.decodeFeatures(null, b("[[1, 63], 2]"), row, 0))
                .hasMessageContaining("ragged array");
        assertThatThrownBy(() -> decoder.decodeFeatures(null, b("[[1, 63], [2]]"), row, 0))
                .hasMessageContaining("ragged array");
        assertThatThrownBy(() -> decoder.decodeLabels(null, b("[1.0, 63.0, 2.0]"), row, 0))
                .hasMessageContaining("must be a JSON object with label field 'Diagnosis'");
    }

    @Test
    void arrayValuesMayBeFlatShapedOrABatchOfOneButNotReshaped() {
        RecordDecoder image = new JsonFormat().newDecoder(Map.of("data_reshape", "2 2"));
        for (String form : List.of(
                "[1, 2, 3, 4]",
                "[[1, 2], [3, 4]]",
                "[[[1, 2], [3, 4]]]",
                "[[[1], [2]], [[3], [4]]]",
                "[[1, 2, 3, 4]]")) {
            float[] row = new float[4];
            image.decodeFeatures(null, b(form), row, 0);
            assertThat(row).as(form).containsExactly(1f, 2f, 3f, 4f);
        }
        RecordDecoder flat = new JsonFormat().newDecoder(Map.of("data_reshape", "4"));
        assertThatThrownBy(() -> flat.decodeFeatures(null, b("[[1, 2], [3, 4]]"), new float[4], 0))
                .hasMessage("the value is an array of shape [2, 2], which does not say how its numbers map onto 4 "
                        + "numbers (data_reshape [4]); send them flat, in that shape, or as a batch of one");
        RecordDecoder wide = new JsonFormat().newDecoder(Map.of("data_reshape", "3 2"));
        assertThatThrownBy(() -> wide.decodeFeatures(null, b("[[1, 2, 3], [4, 5, 6]]"), new float[6], 0))
                .hasMessageContaining("array of shape [2, 3], which does not say how");
    }
}
