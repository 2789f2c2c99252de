package io.kafkaml.keras;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.kafkaml.model.InvalidModelException;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.model.OutputKind;
import io.kafkaml.registry.Registry;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Imports {@code hcopd-keras.h5}, made by {@code src/test/scripts/make_keras_h5.py} (Keras 2's HDF5 layout
 * written with h5py, fixed weights); the expected outputs are the ones that script computes with numpy.
 */
@ExtendWith(EmbeddedKafkaExtension.class)
class KerasImportIT {

    static final float[][] INPUTS = {{1.0f, 63.0f, 2.0f}, {0.0f, 0.5f, -1.0f}, {0.2f, -0.3f, 0.4f}};
    static final double[][] EXPECTED = {
        {0.5246965289115906, 0.4753035008907318},
        {0.5975440740585327, 0.4024559259414673},
        {0.4867943823337555, 0.5132055878639221}
    };

    static Path modelFile() {
        return Path.of("src/test/resources/hcopd-keras.h5");
    }

    static void assertExpectedOutputs(MultiLayerNetwork network) {
        float[] out = network.output(Nd4j.createFromArray(INPUTS)).dup().data().asFloat();
        for (int r = 0; r < 3; r++) {
            for (int c = 0; c < 2; c++) {
                assertThat((double) out[r * 2 + c]).as("output [%d][%d]", r, c).isCloseTo(EXPECTED[r][c], within(1e-6));
            }
        }
    }

    @Test
    void aKerasSequentialModelImportsWithItsWeightsAndGivesTheExpectedOutputs() {
        KerasModels.ImportedModel imported = KerasModels.importModel("hcopd-keras", "Keras", modelFile());
        ModelDefinition definition = imported.definition();
        assertThat(definition.summary().inputSize()).isEqualTo(3);
        assertThat(definition.summary().outputSize()).isEqualTo(2);
        assertThat(definition.summary().parameterCount()).isEqualTo(3 * 4 + 4 + 4 * 2 + 2);
        assertThat(definition.summary().outputKind()).isEqualTo(OutputKind.MULTI_CLASS);
        assertExpectedOutputs((MultiLayerNetwork) imported.network());
    }

    @Test
    void itsWeightsAreKeptInTheRegistry(EmbeddedKafkaBroker kafka) {
        KerasModels.ImportedModel imported = KerasModels.importModel("hcopd-keras", "Keras", modelFile());
        try (Registry registry = Registry.connect(kafka.clientConfig(), "keras", Duration.ofSeconds(30))) {
            ModelDefinition registered = registry.registerModel(imported.definition(), imported.network());
            assertThat(registered.weightsArtifact()).contains("model.hcopd-keras.weights");
        }
        try (Registry registry = Registry.connect(kafka.clientConfig(), "keras", Duration.ofSeconds(30))) {
            ModelDefinition model = registry.model("hcopd-keras").orElseThrow();
            assertExpectedOutputs((MultiLayerNetwork) registry.newNetwork(model));
        }
    }

    @Test
    void whatIsNotAKerasFileIsRejectedClearly(@TempDir Path dir) throws Exception {
        Path text = Files.writeString(dir.resolve("model.h5"), "not hdf5");
        assertThatThrownBy(() -> KerasModels.importModel("bad", "", text))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("is not an HDF5 file");
        assertThatThrownBy(() -> KerasModels.importModel("bad", "", dir.resolve("missing.h5")))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("does not exist");
    }
}
