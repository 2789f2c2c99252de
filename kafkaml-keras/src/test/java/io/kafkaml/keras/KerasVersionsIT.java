package io.kafkaml.keras;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.kafkaml.model.InvalidModelException;
import io.kafkaml.model.ModelSummary;
import io.kafkaml.model.OutputKind;
import java.nio.file.Files;
import java.nio.file.Path;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.nd4j.linalg.lossfunctions.impl.LossMSE;
import org.nd4j.linalg.lossfunctions.impl.LossSparseMCXENT;

/**
 * One file per Keras version family, Sequential and functional, made by {@code src/test/scripts/make_keras_h5.py}
 * (h5py, the HDF5 layout and training_config each family writes, the same fixed weights): each imports with its
 * weights (the outputs numpy computes), its loss and its optimizer, or says why it cannot be trained or imported.
 */
class KerasVersionsIT {

    static Path resource(String name) {
        return Path.of("src/test/resources", name);
    }

    static INDArray output(Model network) {
        INDArray input = Nd4j.createFromArray(KerasImportIT.INPUTS);
        return network instanceof MultiLayerNetwork mln
                ? mln.output(input)
                : ((ComputationGraph) network).outputSingle(input);
    }

    static void assertExpectedOutputs(Model network) {
        float[] out = output(network).dup().data().asFloat();
        for (int r = 0; r < 3; r++) {
            for (int c = 0; c < 2; c++) {
                assertThat((double) out[r * 2 + c])
                        .as("output [%d][%d]", r, c)
                        .isCloseTo(KerasImportIT.EXPECTED[r][c], within(1e-6));
            }
        }
    }

    static Layer outputLayer(Model network) {
        if (network instanceof MultiLayerNetwork mln) {
            var confs = mln.getLayerWiseConfigurations().getConfs();
            return confs.get(confs.size() - 1).getLayer();
        }
        var conf = ((ComputationGraph) network).getConfiguration();
        return ((LayerVertex) conf.getVertices().get(conf.getNetworkOutputs().get(0)))
                .getLayerConf()
                .getLayer();
    }

    static IUpdater updater(Model network) {
        Layer first = network instanceof MultiLayerNetwork mln
                ? mln.getLayerWiseConfigurations().getConf(0).getLayer()
                : ((ComputationGraph) network)
                        .getConfiguration().getVertices().values().stream()
                                .filter(v -> v instanceof LayerVertex lv
                                        && lv.getLayerConf().getLayer() instanceof BaseLayer)
                                .map(v -> ((LayerVertex) v).getLayerConf().getLayer())
                                .findFirst()
                                .orElseThrow();
        return ((BaseLayer) first).getIUpdater();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "hcopd-keras.h5,                   true,  MULTI_CLASS, mcxent",
        "keras22-functional-lr.h5,         false, MULTI_CLASS, mcxent",
        "keras24-sequential-sgd.h5,        true,  REGRESSION,  mse",
        "keras211-functional-custom.h5,    false, MULTI_CLASS, mcxent",
        "keras213-sequential-sparse.h5,    true,  MULTI_CLASS, sparse",
        "keras215-functional-logits.h5,    false, MULTI_CLASS, mcxent"
    })
    void eachVersionFamilyImportsWithItsWeightsLossAndOptimizer(
            String file, boolean sequential, OutputKind kind, String loss) {
        KerasModels.ImportedModel imported = KerasModels.importModel("m", "", resource(file));
        ModelSummary summary = imported.definition().summary();
        assertThat(imported.network()).isInstanceOf(sequential ? MultiLayerNetwork.class : ComputationGraph.class);
        assertThat(summary.trainable()).as(summary.lossProblem()).isTrue();
        assertThat(summary.outputKind()).isEqualTo(kind);
        assertThat(summary.inputSize()).isEqualTo(3);
        assertThat(summary.outputSize()).isEqualTo(2);
        assertThat(summary.classIndexLabels()).isEqualTo(loss.equals("sparse"));
        assertExpectedOutputs(imported.network());

        ILossFunction lossFunction = ((LossLayer) outputLayer(imported.network())).getLossFn();
        assertThat(lossFunction)
                .isInstanceOf(
                        switch (loss) {
                            case "sparse" -> LossSparseMCXENT.class;
                            case "mse" -> LossMSE.class;
                            default -> LossMCXENT.class;
                        });
        IUpdater updater = updater(imported.network());
        if (file.contains("sgd")) {
            assertThat(updater).isInstanceOf(Nesterovs.class);
            assertThat(((Nesterovs) updater).getLearningRate()).isCloseTo(0.01, within(1e-9));
            assertThat(((Nesterovs) updater).getMomentum()).isZero();
        } else {
            Adam adam = (Adam) updater;
            assertThat(adam.getLearningRate()).isCloseTo(file.contains("custom") ? 1.0 : 0.001, within(1e-6));
            assertThat(adam.getLearningRateSchedule())
                    .as("decay 0: no schedule")
                    .isNull();
        }
        if (file.contains("logits")) {
            assertThat(imported.notes()).anySatisfy(note -> assertThat(note).contains("from_logits=True"));
        }
    }

    @Test
    void aTrainingConfigurationDl4jCannotFollowImportsForInferenceAndSaysWhy() {
        KerasModels.ImportedModel adamw =
                KerasModels.importModel("adamw", "", resource("keras215-sequential-adamw.h5"));
        assertThat(adamw.definition().summary().trainable()).isFalse();
        assertThat(adamw.definition().summary().lossProblem()).contains("AdamW");
        assertExpectedOutputs(adamw.network());
        assertThatThrownBy(() -> adamw.definition().checkTrainable())
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("Model 'adamw' cannot be trained")
                .hasMessageContaining("AdamW");

        KerasModels.ImportedModel noLoss =
                KerasModels.importModel("noloss", "", resource("keras215-sequential-noloss.h5"));
        assertThat(noLoss.definition().summary().lossProblem()).contains("no training_config");
        assertThat(noLoss.notes()).anySatisfy(note -> assertThat(note).contains("inference only"));
        assertExpectedOutputs(noLoss.network());
    }

    @Test
    void keras3FilesAreRefusedSayingWhatTheyNeed() {
        assertThatThrownBy(() -> KerasModels.importModel("k3", "", resource("keras3-sequential.keras")))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining(".keras archive")
                .hasMessageContaining("written by Keras 3.3.3")
                .hasMessageContaining("model.save(\"model.h5\")");
        assertThatThrownBy(() -> KerasModels.importModel("k3", "", resource("keras3-sequential.h5")))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("written by Keras 3.3.3")
                .hasMessageContaining("Keras 2");
        assertThat(KerasModels.isKerasFile(resource("keras3-sequential.keras"))).isTrue();
    }

    @Test
    void aReadableHdf5FileIsNeverCalledNotAKerasFileButGetsItsRealCause(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> KerasModels.importModel("w", "", resource("weights-only.h5")))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("holds weights only (model.save_weights)");
        Path text = Files.writeString(dir.resolve("model.bin"), "not hdf5");
        assertThat(KerasModels.isKerasFile(text)).isFalse();
        assertThatThrownBy(() -> KerasModels.importModel("t", "", text))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("is not an HDF5 file (it starts with bytes 6e 6f 74 20 68 64 66 35)");
    }
}
