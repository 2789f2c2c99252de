package io.kafkaml.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code kafkaml send}'s CSV reading: what spreadsheets and Python write, and errors one can act on. */
class SendCommandCsvTest {

    @TempDir
    Path dir;

    private Path file(String name, byte[] bytes) throws IOException {
        Path path = dir.resolve(name);
        Files.write(path, bytes);
        return path;
    }

    private Path file(String name, String text) throws IOException {
        return file(name, text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aFileWithOnlyItsHeaderIsRefusedBeforeAnythingIsSent() throws IOException {
        Path empty = file("header-only.csv", "Diagnosis,Age\n");
        for (String online : new String[] {"--online", "--validation-rate=0"}) {
            java.io.StringWriter out = new java.io.StringWriter();
            java.io.StringWriter err = new java.io.StringWriter();
            // no broker at this address: the file is refused before any client is made
            int status = KafkaMlCli.commandLine(new java.io.PrintWriter(out, true), new java.io.PrintWriter(err, true))
                    .execute(
                            "send",
                            "--file",
                            empty.toString(),
                            "--label",
                            "Diagnosis",
                            "--format",
                            "RAW",
                            "--topic",
                            "t",
                            "--deployment-id",
                            "1",
                            "--bootstrap-servers",
                            "localhost:1",
                            online);
            assertThat(status).as(err.toString()).isEqualTo(1);
            assertThat(err.toString())
                    .isEqualTo("kafkaml send: The data file " + empty
                            + " holds no data rows (only its header): nothing was sent, no control message either"
                            + System.lineSeparator());
        }
    }

    @Test
    void aUtf8ByteOrderMarkAndCrlfAreWhatExcelWritesAndAreRead() throws IOException {
        SendCommand.Csv csv = SendCommand.Csv.read(
                file("bom.csv", "\uFEFFDiagnosis,Gender,Age,Smoking\r\n1,0,77,2\r\n0,1,22,1\r\n0,0,55,3"), "Diagnosis");
        assertThat(csv.label).isEqualTo("Diagnosis");
        assertThat(csv.features).containsExactly("Gender", "Age", "Smoking");
        assertThat(csv.labels).containsExactly(1.0, 0.0, 0.0);
        assertThat(csv.rows).containsExactly(new double[] {0, 77, 2}, new double[] {1, 22, 1}, new double[] {0, 55, 3});
        assertThat(csv.integralLabels).isTrue();
    }

    @Test
    void quotedHeadersAndFieldsWithCommasAndUtf16AreRead() throws IOException {
        String text = "\"Age, years\",\"Diagnosis\",Smoking\n\"63\",\"1\",\" 2.5 \"\n\n70,0,1\n";
        SendCommand.Csv csv = SendCommand.Csv.read(file("quoted.csv", text), "Diagnosis");
        assertThat(csv.features).containsExactly("Age, years", "Smoking");
        assertThat(csv.rows).containsExactly(new double[] {63, 2.5}, new double[] {70, 1});
        byte[] utf16 = ("\uFEFF" + text).getBytes(StandardCharsets.UTF_16LE);
        assertThat(SendCommand.Csv.read(file("utf16.csv", utf16), "Diagnosis").labels)
                .containsExactly(1.0, 0.0);
    }

    @Test
    void invisibleCharactersInErrorsAreShownEscaped() throws IOException {
        Path nbsp = file("nbsp.csv", "Diagnosis\u00A0,Age\n1,2\n");
        assertThatThrownBy(() -> SendCommand.Csv.read(nbsp, "Diagnosis"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(nbsp + " has no column 'Diagnosis'; its columns are 'Diagnosis\\u00A0', 'Age'");
        Path zeroWidth = file("zw.csv", "Diagnosis,Age\n1,\u200B2\n");
        assertThatThrownBy(() -> SendCommand.Csv.read(zeroWidth, "Diagnosis"))
                .hasMessage(zeroWidth + " line 2 column 'Age': '\\u200B2' is not a number");
        // a second byte order mark (a file concatenated from two exports) is data, and shown as such
        Path twice = file("twice.csv", "\uFEFF\uFEFFDiagnosis,Age\n1,2\n");
        assertThatThrownBy(() -> SendCommand.Csv.read(twice, "Diagnosis"))
                .hasMessageContaining("its columns are '\\uFEFFDiagnosis', 'Age'");
    }

    @Test
    void raggedRowsDuplicateHeadersAndNonUtf8FilesAreRefusedSayingWhere() throws IOException {
        Path ragged = file("ragged.csv", "Diagnosis,Age\r\n1,2\r\n0\r\n");
        assertThatThrownBy(() -> SendCommand.Csv.read(ragged, "Diagnosis"))
                .hasMessage(ragged + " line 3 has 1 cells, the header 2");
        Path duplicate = file("dup.csv", "Diagnosis,Age,Age\n1,2,3\n");
        assertThatThrownBy(() -> SendCommand.Csv.read(duplicate, "Diagnosis"))
                .hasMessageStartingWith(duplicate + " is not a CSV file kafkaml can read: ")
                .hasMessageContaining("Age");
        Path latin1 = file("latin1.csv", "Diagnosis,Ag\u00e9\n1,2\n".getBytes(StandardCharsets.ISO_8859_1));
        assertThatThrownBy(() -> SendCommand.Csv.read(latin1, "Diagnosis"))
                .hasMessageStartingWith(latin1 + " is not UTF-8 text");
        Path empty = file("empty.csv", "");
        assertThatThrownBy(() -> SendCommand.Csv.read(empty, "Diagnosis"))
                .hasMessage(empty + " is empty; expected a header row");
    }

    @Test
    void avroSchemasAreBuiltFromTheColumnsAndCollidingNamesAreRefused() throws IOException {
        SendCommand.Csv csv = SendCommand.Csv.read(
                file("avro.csv", "\"Diagnosis\",\"Age (years)\",2nd\r\n1,77,2\r\n0,22,1\r\n"), "Diagnosis");
        java.util.Map<String, Object> config = SendCommand.avroConfig(csv);
        org.apache.avro.Schema data = new org.apache.avro.Schema.Parser()
                .parse(config.get("data_scheme").toString());
        org.apache.avro.Schema label = new org.apache.avro.Schema.Parser()
                .parse(config.get("label_scheme").toString());
        assertThat(data.getFields())
                .extracting(org.apache.avro.Schema.Field::name)
                .containsExactly("Age__years_", "_2nd");
        assertThat(data.getField("Age__years_").schema().getType()).isEqualTo(org.apache.avro.Schema.Type.DOUBLE);
        assertThat(label.getField("Diagnosis").schema().getType()).isEqualTo(org.apache.avro.Schema.Type.INT);

        SendCommand.Csv colliding = SendCommand.Csv.read(file("collide.csv", "y,a b,a_b\n1,2,3\n"), "y");
        assertThatThrownBy(() -> SendCommand.avroConfig(colliding))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'a b' and 'a_b' would both be the Avro field 'a_b'");
    }
}
