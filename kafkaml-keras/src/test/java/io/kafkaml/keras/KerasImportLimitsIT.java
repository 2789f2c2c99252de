package io.kafkaml.keras;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.model.InvalidModelException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@value KafkaMlConfig#MAX_ARTIFACT_BYTES_CONFIG} bounds what importing a Keras file reads and expands: the file's
 * size before it is read, its weights once read (an HDF5 file of compressed weights), a {@code .keras} archive's
 * entries (never expanded).
 */
class KerasImportLimitsIT {

    private static Path resource(String name) {
        return Path.of("src/test/resources", name);
    }

    private static Map<String, Object> limit(long bytes) {
        return Map.of(KafkaMlConfig.MAX_ARTIFACT_BYTES_CONFIG, String.valueOf(bytes));
    }

    @Test
    void aFileOverTheLimitIsRefusedBeforeItIsRead() throws Exception {
        Path file = resource("hcopd-keras.h5");
        long size = Files.size(file);
        assertThatThrownBy(() -> KerasModels.importModel("h", "", file, limit(size - 1)))
                .isInstanceOf(InvalidModelException.class)
                .hasMessage("Keras model file " + file + " holds " + size + " bytes, over the limit of " + (size - 1)
                        + " bytes (kafkaml.max.artifact.bytes): raise kafkaml.max.artifact.bytes to import it");
        assertThat(KerasModels.importModel("h", "", file, limit(size))
                        .definition()
                        .name())
                .isEqualTo("h");
    }

    /**
     * {@code weights-bomb.h5}: {@code hcopd-keras.h5} with one more dataset under {@code model_weights}, a 1024 × 1024
     * float32 kernel of zeros stored gzip-compressed (h5py, {@code compression="gzip"}): 24 KB on disk, 4 MiB once
     * read.
     */
    @Test
    void weightsThatExpandPastTheLimitAreRefusedBeforeDl4jReadsThem() throws Exception {
        Path file = resource("weights-bomb.h5");
        assertThat(Files.size(file)).isLessThan(1 << 20);
        assertThatThrownBy(() -> KerasModels.importModel("bomb", "", file, limit(1 << 20)))
                .isInstanceOf(InvalidModelException.class)
                .hasMessage("Keras model file " + file + " holds weights of more than 1048576 bytes once read, over "
                        + "the limit of 1048576 bytes (kafkaml.max.artifact.bytes): raise kafkaml.max.artifact.bytes "
                        + "to import it");
    }

    @Test
    void aKerasArchiveIsRefusedWithoutExpandingItsEntries(@TempDir Path dir) throws Exception {
        Path archive = dir.resolve("bomb.keras");
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(archive))) {
            zip.putNextEntry(new ZipEntry("metadata.json"));
            zip.write("{\"keras_version\": \"3.3.3\"}".getBytes(StandardCharsets.UTF_8));
            zip.closeEntry();
            zip.putNextEntry(new ZipEntry("model.weights.h5"));
            OutputStream out = zip;
            byte[] zeros = new byte[1 << 20];
            for (int i = 0; i < 8; i++) { // 8 MiB of zeros, a few KB compressed
                out.write(zeros);
            }
            zip.closeEntry();
        }
        assertThat(Files.size(archive)).isLessThan(1 << 20);
        assertThatThrownBy(() -> KerasModels.importModel("k", "", archive, limit(1 << 20)))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("is a .keras archive (zip, written by Keras 3.3.3, whose entries expand to more "
                        + "than 1048576 bytes (kafkaml.max.artifact.bytes))");
    }
}
