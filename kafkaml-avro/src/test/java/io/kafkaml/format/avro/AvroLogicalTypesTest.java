package io.kafkaml.format.avro;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.format.InvalidFormatConfigException;
import io.kafkaml.format.RecordDecoder;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import org.apache.avro.Conversions;
import org.apache.avro.Schema;
import org.apache.avro.data.TimeConversions;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.junit.jupiter.api.Test;

/** Avro logical types, written and read by Avro itself with its logical-type conversions. */
class AvroLogicalTypesTest {

    static final String SCHEMA = """
            {"type": "record", "name": "Trade", "fields": [
              {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}},
              {"name": "quantity", "type": {"type": "fixed", "name": "Q", "size": 5, "logicalType": "decimal",
                                            "precision": 10, "scale": 3}},
              {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
              {"name": "atMicros", "type": {"type": "long", "logicalType": "timestamp-micros"}},
              {"name": "local", "type": {"type": "long", "logicalType": "local-timestamp-millis"}},
              {"name": "day", "type": {"type": "int", "logicalType": "date"}},
              {"name": "time", "type": {"type": "int", "logicalType": "time-millis"}},
              {"name": "timeMicros", "type": {"type": "long", "logicalType": "time-micros"}},
              {"name": "maybe", "type": ["null", {"type": "bytes", "logicalType": "decimal", "precision": 4, "scale": 1}]}
            ]}""";
    static final String LABEL = """
            {"type": "record", "name": "Label", "fields": [{"name": "y", "type": "int"}]}""";

    static GenericData withConversions() {
        GenericData model = new GenericData();
        model.addLogicalTypeConversion(new Conversions.DecimalConversion());
        model.addLogicalTypeConversion(new TimeConversions.TimestampMillisConversion());
        model.addLogicalTypeConversion(new TimeConversions.TimestampMicrosConversion());
        model.addLogicalTypeConversion(new TimeConversions.LocalTimestampMillisConversion());
        model.addLogicalTypeConversion(new TimeConversions.DateConversion());
        model.addLogicalTypeConversion(new TimeConversions.TimeMillisConversion());
        model.addLogicalTypeConversion(new TimeConversions.TimeMicrosConversion());
        return model;
    }

    static byte[] write(Schema schema, GenericRecord record) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(schema, withConversions()).write(record, encoder);
        encoder.flush();
        return out.toByteArray();
    }

    @Test
    void logicalTypesWrittenByAvroAreReadAsDocumented() throws IOException {
        Schema schema = new Schema.Parser().parse(SCHEMA);
        Instant at = Instant.parse("2026-11-30T10:15:30.123Z");
        Instant atMicros = Instant.parse("1970-01-01T00:00:01.000002Z");
        LocalDateTime local = LocalDateTime.of(1970, 1, 2, 0, 0, 0, 5_000_000);
        GenericRecord record = new GenericData.Record(schema);
        record.put("price", new BigDecimal("-1234567.89"));
        record.put("quantity", new BigDecimal("0.125"));
        record.put("at", at);
        record.put("atMicros", atMicros);
        record.put("local", local);
        record.put("day", LocalDate.of(2026, 11, 30));
        record.put("time", LocalTime.of(1, 2, 3, 4_000_000));
        record.put("timeMicros", LocalTime.of(0, 0, 0, 7_000));
        record.put("maybe", new BigDecimal("-12.5"));
        RecordDecoder decoder = new AvroFormat().newDecoder(Map.of("data_scheme", SCHEMA, "label_scheme", LABEL));
        assertThat(decoder.featureCount()).isEqualTo(9);
        float[] row = new float[9];
        decoder.decodeFeatures(null, write(schema, record), row, 0);
        assertThat(row)
                .containsExactly(
                        (float) -1234567.89,
                        0.125f,
                        (float) at.toEpochMilli(), // 1.7964e12 ms: float32 keeps it to about ±65 s
                        1_000_002f, // microseconds since the epoch
                        (float) (ChronoUnit.DAYS.getDuration().toMillis() + 5),
                        (float) LocalDate.of(2026, 11, 30).toEpochDay(), // 20787 days
                        (float) ((3600 + 2 * 60 + 3) * 1000 + 4),
                        7f,
                        -12.5f);
        assertThat(LocalDate.of(2026, 11, 30).toEpochDay()).isEqualTo(20787);
        assertThat(local.toInstant(ZoneOffset.UTC).toEpochMilli()).isEqualTo(86_400_005L);

        record.put("maybe", null);
        RecordDecoder withDefault =
                new AvroFormat().newDecoder(Map.of("data_scheme", SCHEMA, "label_scheme", LABEL, "null_default", -1));
        withDefault.decodeFeatures(null, write(schema, record), row, 0);
        assertThat(row[8]).isEqualTo(-1f);
    }

    @Test
    void theEncoderWritesDecimalsAndTimestampsAvroReadsBack() throws IOException {
        Schema schema = new Schema.Parser().parse(SCHEMA);
        Map<String, Object> config = Map.of("data_scheme", SCHEMA, "label_scheme", LABEL);
        byte[] value = new AvroFormat()
                .newEncoder(config)
                .encode(
                        new double[] {-1234567.89, -0.125, 1.5e12, 42, 86_400_005, 20787, 3_723_004, 7, 99.9},
                        new double[] {1})
                .value();
        GenericRecord back = new GenericDatumReader<GenericRecord>(schema, schema, withConversions())
                .read(null, DecoderFactory.get().binaryDecoder(value, null));
        assertThat(back.get("price")).isEqualTo(new BigDecimal("-1234567.89"));
        assertThat(back.get("quantity")).isEqualTo(new BigDecimal("-0.125"));
        assertThat(back.get("at")).isEqualTo(Instant.ofEpochMilli(1_500_000_000_000L));
        assertThat(back.get("day")).isEqualTo(LocalDate.of(2026, 11, 30));
        assertThat(back.get("time")).isEqualTo(LocalTime.of(1, 2, 3, 4_000_000));
        assertThat(back.get("maybe")).isEqualTo(new BigDecimal("99.9"));
        assertThatThrownBy(() -> new AvroFormat()
                        .newEncoder(config)
                        .encode(new double[] {1e8, 0, 0, 0, 0, 0, 0, 0, 0}, new double[] {1}))
                .hasMessageContaining("Decimal field 'price' is decimal(9, 2); 1.0E8 needs more digits");
    }

    @Test
    void identifiersDurationsAndBadDecimalsAreRefusedNamingTheType() {
        String uuid = """
                {"type": "record", "name": "R", "fields": [
                  {"name": "id", "type": {"type": "string", "logicalType": "uuid"}}]}""";
        assertThatThrownBy(() -> new AvroFormat().newDecoder(Map.of("data_scheme", uuid)))
                .isInstanceOf(InvalidFormatConfigException.class)
                .hasMessageContaining("field 'id' is a uuid (logicalType uuid on string): an identifier, not a number");
        String duration = """
                {"type": "record", "name": "R", "fields": [
                  {"name": "d", "type": {"type": "fixed", "name": "D", "size": 12, "logicalType": "duration"}}]}""";
        assertThatThrownBy(() -> new AvroFormat().newDecoder(Map.of("data_scheme", duration)))
                .hasMessageContaining("field 'd' is a duration");
        String noPrecision = """
                {"type": "record", "name": "R", "fields": [
                  {"name": "p", "type": {"type": "bytes", "logicalType": "decimal", "scale": 2}}]}""";
        assertThatThrownBy(() -> new AvroFormat().newDecoder(Map.of("data_scheme", noPrecision)))
                .hasMessageContaining(
                        "field 'p' is of type bytes with logicalType 'decimal', which Avro does not accept");
        String text = """
                {"type": "record", "name": "R", "fields": [{"name": "s", "type": "string"}]}""";
        assertThatThrownBy(() -> new AvroFormat().newDecoder(Map.of("data_scheme", text)))
                .hasMessageContaining("field 's' is of type string");
    }
}
