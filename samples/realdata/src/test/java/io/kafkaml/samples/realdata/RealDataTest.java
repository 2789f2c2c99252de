package io.kafkaml.samples.realdata;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The readers on small files in the data sets' layouts, and the layouts plain DL4J gets. */
class RealDataTest {

    @TempDir
    Path data;

    @Test
    void digitsAreReadFromGzipWithTheirLabels() throws IOException {
        StringBuilder csv = new StringBuilder();
        for (int digit = 0; digit < 3; digit++) {
            for (int p = 0; p < 64; p++) {
                csv.append(p % 17).append(',');
            }
            csv.append(digit).append('\n');
        }
        writeGzip(data.resolve("digits/digits.csv.gz"), csv.toString());
        Table digits = RealData.digits(data);
        assertThat(digits.rows()).isEqualTo(3);
        assertThat(digits.columns()).hasSize(64);
        assertThat(digits.labels()).containsExactly(0, 1, 2);
        assertThat(digits.features()[2][16]).isEqualTo(16);
        assertThat(digits.classes()).isEqualTo(10);
    }

    @Test
    void aPixelOutsideTheGreyLevelsIsRefusedNamingTheLine() throws IOException {
        String good = "0,".repeat(64) + "1\n";
        writeGzip(data.resolve("digits/digits.csv.gz"), good + good + "17," + "0,".repeat(63) + "1\n");
        assertThatThrownBy(() -> RealData.digits(data))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("digits.csv.gz line 3")
                .hasMessageContaining("17.0");
    }

    @Test
    void scikitLearnTablesUseTheirFirstLineAndCheckTheRowCount() throws IOException {
        Path file = data.resolve("breast-cancer/breast_cancer.csv");
        Files.createDirectories(file.getParent());
        Files.writeString(file, "2,3,malignant,benign\n1.5,2,3,0\n4,5,6.25,1\n");
        Table table = RealData.breastCancer(data);
        assertThat(table.classes()).isEqualTo(2);
        assertThat(table.features()[1]).containsExactly(4f, 5f, 6.25f);
        assertThat(table.labels()).containsExactly(0, 1);

        Files.writeString(file, "3,3,malignant,benign\n1.5,2,3,0\n4,5,6.25,1\n");
        assertThatThrownBy(() -> RealData.breastCancer(data)).hasMessageContaining("announces 3 rows but holds 2");
        Files.writeString(file, "2,3,malignant,benign\n1.5,2,3,0\n4,x,6.25,1\n");
        assertThatThrownBy(() -> RealData.breastCancer(data))
                .hasMessageContaining("line 3")
                .hasMessageContaining("'x' is not a number");
        Files.writeString(file, "2,3,malignant,benign\n1.5,2,3,0\n4,5,6.25,2\n");
        assertThatThrownBy(() -> RealData.breastCancer(data)).hasMessageContaining("not a class index below 2");
    }

    @Test
    void no3LeavesOutImpossibleAlkalinityAndCanBeCut() throws IOException {
        Path file = data.resolve("no3/NO3_Dataset.csv");
        Files.createDirectories(file.getParent());
        Files.writeString(
                file,
                "ALK_MGL,COND_USCM,PH,SS_MGL,NO3_N_MGL\n74.0,220.0,7.72,2.0,0.24\n"
                        + "171798692.0,270.0,7.72,5.0,0.85\n76.0,270.0,7.7,5.0,0.5\n80,300,7.6,1,0.1\n");
        Table no3 = RealData.no3(data, 0);
        assertThat(no3.rows()).isEqualTo(3);
        assertThat(no3.classes()).isZero();
        assertThat(no3.labels()).containsExactly(0.24f, 0.5f, 0.1f);
        assertThat(RealData.no3(data, 2).rows()).isEqualTo(2);
        Files.writeString(file, "ALK,COND_USCM,PH,SS_MGL,NO3_N_MGL\n74.0,220.0,7.72,2.0,0.24\n");
        assertThatThrownBy(() -> RealData.no3(data, 0)).hasMessageContaining("has header [ALK,");
        Files.writeString(file, "ALK_MGL,COND_USCM,PH,SS_MGL,NO3_N_MGL\n74.0,220.0,7.72,2.0,0.24\n74.0,220.0,7.72\n");
        assertThatThrownBy(() -> RealData.no3(data, 0)).hasMessageContaining("NO3_Dataset.csv line 3: 3 values");
    }

    @Test
    void theSendOrderIsASeededPermutation() {
        float[][] rows = new float[50][];
        float[] labels = new float[50];
        for (int i = 0; i < 50; i++) {
            rows[i] = new float[] {i};
            labels[i] = i;
        }
        Table table = new Table("t", java.util.List.of("x"), rows, labels, 0);
        Table once = RealData.shuffled(table, 5);
        assertThat(once.labels())
                .isEqualTo(RealData.shuffled(table, 5).labels())
                .isNotEqualTo(labels);
        assertThat(once.labels()).containsExactlyInAnyOrder(labels);
        for (int i = 0; i < 50; i++) {
            assertThat(once.features()[i][0]).isEqualTo(once.labels()[i]);
        }
    }

    @Test
    void plainDl4jLaysOutImagesAsNchwAndSequencesAsFeaturesByTime() {
        float[][] rows = new float[2][64];
        for (int i = 0; i < 64; i++) {
            rows[0][i] = i;
            rows[1][i] = 100 + i;
        }
        INDArray images = Sample.DIGITS_CNN.layout(rows);
        assertThat(images.shape()).containsExactly(2, 1, 8, 8);
        assertThat(images.getFloat(1, 0, 2, 3)).isEqualTo(100 + 8 * 2 + 3); // [n, channel, row, column]
        INDArray sequences = Sample.DIGITS_LSTM.layout(rows);
        assertThat(sequences.shape()).containsExactly(2, 8, 8);
        assertThat(sequences.getFloat(1, 3, 2)).isEqualTo(100 + 8 * 2 + 3); // [n, feature = column, time = row]
    }

    private static void writeGzip(Path file, String text) throws IOException {
        Files.createDirectories(file.getParent());
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
            out.write(text.getBytes(StandardCharsets.UTF_8));
        }
    }
}
