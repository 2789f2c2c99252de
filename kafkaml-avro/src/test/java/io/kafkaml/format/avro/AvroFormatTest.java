package io.kafkaml.format.avro;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.format.InvalidFormatConfigException;
import io.kafkaml.format.RecordDecodeException;
import io.kafkaml.format.RecordDecoder;
import io.kafkaml.format.RecordEncoder;
import io.kafkaml.format.RecordFormats;
import java.io.ByteArrayOutputStream;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.junit.jupiter.api.Test;

/**
 * Golden Avro binary written by hand from the Avro 1.12 specification: ints and longs are zig-zag varints,
 * floats and doubles little-endian IEEE 754, booleans one byte, enums and union branches their index as an
 * int, arrays blocks of (count, items) ended by a 0 count, records their fields in order.
 */
class AvroFormatTest {

    static final String DATA_SCHEME = """
            {"type": "record", "name": "Patient", "fields": [
              {"name": "gender", "type": "int"},
              {"name": "age", "type": "float"},
              {"name": "smoking", "type": {"type": "enum", "name": "Smoking", "symbols": ["NEVER", "FORMER", "CURRENT"]}},
              {"name": "vitals", "type": {"type": "array", "items": "float", "length": 2}},
              {"name": "sensor", "type": {"type": "record", "name": "Sensor", "fields": [
                {"name": "ok", "type": "boolean"},
                {"name": "reading", "type": ["null", "double"]},
                {"name": "steps", "type": "long"}]}}]}""";
    static final String LABEL_SCHEME = """
            {"type": "record", "name": "Label", "fields": [{"name": "diagnosis", "type": "int"}]}""";

    static final String VALUE_HEX = String.join(
            "",
            "02", // gender = 1 (zig-zag 2)
            "00007e42", // age = 63.5f
            "04", // smoking = CURRENT, index 2
            "04",
            "66661242",
            "0000003f",
            "00", // vitals: block of 2 items [36.6f, 0.5f], end
            "01", // sensor.ok = true
            "02",
            "0000000000000240", // sensor.reading: branch 1 (double) = 2.25
            "8001"); // sensor.steps = 64L (zig-zag 128 = 0x80 0x01)
    static final float[] VALUE_FEATURES = {1f, 63.5f, 2f, 36.6f, 0.5f, 1f, 2.25f, 64f};

    static Map<String, Object> config() {
        return Map.of("data_scheme", DATA_SCHEME, "label_scheme", LABEL_SCHEME);
    }

    @Test
    void flattensNestedRecordsEnumsArraysAndUnionsInSchemaOrder() {
        RecordDecoder decoder = RecordFormats.forName("AVRO").newDecoder(config());
        assertThat(decoder.featureCount()).isEqualTo(8);
        assertThat(decoder.labelCount()).isEqualTo(1);
        float[] features = new float[8];
        decoder.decodeFeatures(null, HexFormat.of().parseHex(VALUE_HEX), features, 0);
        assertThat(features).containsExactly(VALUE_FEATURES);
        float[] label = new float[1];
        decoder.decodeLabels(HexFormat.of().parseHex("02"), null, label, 0);
        assertThat(label).containsExactly(1f);
        decoder.decodeLabels(HexFormat.of().parseHex("01"), null, label, 0);
        assertThat(label).containsExactly(-1f);
    }

    @Test
    void encoderAndAvrosOwnWriterProduceTheGoldenBytes() throws Exception {
        RecordEncoder.EncodedRecord record = new AvroFormat()
                .newEncoder(config())
                .encode(new double[] {1, 63.5, 2, 36.6f, 0.5, 1, 2.25, 64}, new double[] {1});
        assertThat(HexFormat.of().formatHex(record.value())).isEqualTo(VALUE_HEX);
        assertThat(record.key()).containsExactly(0x02);

        Schema schema = new Schema.Parser().parse(DATA_SCHEME);
        GenericRecord sensor = new GenericData.Record(schema.getField("sensor").schema());
        sensor.put("ok", true);
        sensor.put("reading", 2.25);
        sensor.put("steps", 64L);
        GenericRecord patient = new GenericData.Record(schema);
        patient.put("gender", 1);
        patient.put("age", 63.5f);
        patient.put(
                "smoking", new GenericData.EnumSymbol(schema.getField("smoking").schema(), "CURRENT"));
        patient.put("vitals", List.of(36.6f, 0.5f));
        patient.put("sensor", sensor);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(schema).write(patient, encoder);
        encoder.flush();
        assertThat(HexFormat.of().formatHex(out.toByteArray())).isEqualTo(VALUE_HEX);
    }

    @Test
    void aNullIsAnErrorUnlessADefaultIsConfigured() {
        String nullReading = VALUE_HEX.replace("01" + "02" + "0000000000000240", "01" + "00");
        byte[] value = HexFormat.of().parseHex(nullReading);
        float[] features = new float[8];
        assertThatThrownBy(() -> new AvroFormat().newDecoder(config()).decodeFeatures(null, value, features, 0))
                .isInstanceOf(RecordDecodeException.class)
                .hasMessageContaining("field 'sensor.reading' is null and no default is configured");
        new AvroFormat()
                .newDecoder(Map.of("data_scheme", DATA_SCHEME, "null_defaults", Map.of("sensor.reading", -1)))
                .decodeFeatures(null, value, features, 0);
        assertThat(features[6]).isEqualTo(-1f);
        new AvroFormat()
                .newDecoder(Map.of("data_scheme", DATA_SCHEME, "null_default", 0))
                .decodeFeatures(null, value, features, 0);
        assertThat(features[6]).isZero();
    }

    @Test
    void truncatedTrailingAndMiscountedBinaryAreDecodeErrors() {
        RecordDecoder decoder = new AvroFormat().newDecoder(config());
        float[] features = new float[8];
        byte[] full = HexFormat.of().parseHex(VALUE_HEX);
        assertThatThrownBy(
                        () -> decoder.decodeFeatures(null, java.util.Arrays.copyOf(full, full.length - 3), features, 0))
                .isInstanceOf(RecordDecodeException.class)
                .hasMessageContaining("ends early");
        assertThatThrownBy(
                        () -> decoder.decodeFeatures(null, java.util.Arrays.copyOf(full, full.length + 2), features, 0))
                .hasMessageContaining("bytes left over");
        String threeVitals = VALUE_HEX.replace(
                "04" + "66661242" + "0000003f" + "00", "06" + "66661242" + "0000003f" + "0000803f" + "00");
        assertThatThrownBy(() -> decoder.decodeFeatures(null, HexFormat.of().parseHex(threeVitals), features, 0))
                .hasMessageContaining("array 'vitals' has more than its declared 2 elements");
        assertThatThrownBy(() -> decoder.decodeLabels(null, null, features, 0)).hasMessageContaining("no key");
    }

    @Test
    void schemasThatCannotBeFeaturesAreRejectedWithTheField() {
        assertThatThrownBy(
                        () -> new AvroFormat()
                                .newDecoder(
                                        Map.of(
                                                "data_scheme",
                                                "{\"type\":\"record\",\"name\":\"r\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"}]}")))
                .isInstanceOf(InvalidFormatConfigException.class)
                .hasMessageContaining("field 'id' is of type string");
        assertThatThrownBy(
                        () -> new AvroFormat()
                                .newDecoder(
                                        Map.of(
                                                "data_scheme",
                                                "{\"type\":\"record\",\"name\":\"r\",\"fields\":[{\"name\":\"xs\",\"type\":{\"type\":\"array\",\"items\":\"int\"}}]}")))
                .hasMessageContaining("array 'xs' has no declared length");
        assertThat(new AvroFormat()
                        .newDecoder(Map.of(
                                "data_scheme",
                                "{\"type\":\"record\",\"name\":\"r\",\"fields\":[{\"name\":\"xs\",\"type\":{\"type\":\"array\",\"items\":\"int\"}}]}",
                                "array_lengths",
                                Map.of("xs", 5)))
                        .featureCount())
                .isEqualTo(5);
        assertThatThrownBy(() -> new AvroFormat().newDecoder(Map.of("data_scheme", "{\"type\": \"recrd\"}")))
                .hasMessageContaining("'data_scheme' is not a valid Avro schema");
        assertThatThrownBy(() -> new AvroFormat().newDecoder(Map.of("label_scheme", LABEL_SCHEME)))
                .hasMessageContaining("needs 'data_scheme'");
    }
}
