package io.kafkaml.registry.internals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.model.InvalidModelException;
import io.kafkaml.registry.ArtifactCorruptedException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * {@link ModelArtifacts} restores what {@code ModelSerializer} writes, and refuses forged or damaged artifacts with
 * {@link ArtifactCorruptedException} or {@link InvalidModelException} before allocating what they declare (these
 * tests run in the Surefire heap: a declared 2^31 floats would be an OutOfMemoryError).
 */
class ModelArtifactsTest {

    private static final long LIMIT = KafkaMlConfig.DEFAULT_MAX_MODEL_PARAMETERS;
    private static final long BYTES = KafkaMlConfig.DEFAULT_MAX_ARTIFACT_BYTES;

    static MultiLayerNetwork network(int hidden) {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(7)
                .updater(new Adam(0.01))
                .list()
                .layer(new DenseLayer.Builder()
                        .nIn(3)
                        .nOut(hidden)
                        .activation(Activation.TANH)
                        .build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                        .nIn(hidden)
                        .nOut(2)
                        .activation(Activation.SOFTMAX)
                        .build())
                .build();
        MultiLayerNetwork network = new MultiLayerNetwork(conf);
        network.init();
        return network;
    }

    static byte[] bytes(Model network, boolean updater) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ModelSerializer.writeModel(network, out, updater);
        return out.toByteArray();
    }

    static Map<String, byte[]> entries(byte[] zip) throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
            for (ZipEntry entry; (entry = in.getNextEntry()) != null; ) {
                entries.put(entry.getName(), in.readAllBytes());
            }
        }
        return entries;
    }

    static byte[] zip(Map<String, byte[]> entries) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            for (var entry : entries.entrySet()) {
                zip.putNextEntry(new ZipEntry(entry.getKey()));
                zip.write(entry.getValue());
                zip.closeEntry();
            }
        }
        return out.toByteArray();
    }

    private static Model restore(byte[] artifact) {
        return ModelArtifacts.restore(artifact, "artifact 'a' (test)", false, true, LIMIT, BYTES);
    }

    @Test
    void restoresWhatModelSerializerWritesWithItsUpdaterState() throws IOException {
        MultiLayerNetwork trained = network(4);
        trained.fit(Nd4j.rand(8, 3), Nd4j.eye(2).repeat(0, 4).reshape(8, 2));
        MultiLayerNetwork restored = (MultiLayerNetwork) restore(bytes(trained, true));
        assertThat(restored.params()).isEqualTo(trained.params());
        assertThat(restored.getUpdater().getStateViewArray())
                .isEqualTo(trained.getUpdater().getStateViewArray());
        assertThat(restored.getLayerWiseConfigurations()).isEqualTo(trained.getLayerWiseConfigurations());

        MultiLayerNetwork withoutUpdater = (MultiLayerNetwork)
                ModelArtifacts.restore(bytes(trained, true), "artifact 'a'", false, false, LIMIT, BYTES);
        assertThat(withoutUpdater.params()).isEqualTo(trained.params());
    }

    @Test
    void restoresAComputationGraph() throws IOException {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(3)
                .graphBuilder()
                .addInputs("in")
                .addLayer("d", new DenseLayer.Builder().nIn(3).nOut(5).build(), "in")
                .addLayer(
                        "out",
                        new OutputLayer.Builder(LossFunction.MSE)
                                .nIn(5)
                                .nOut(1)
                                .activation(Activation.IDENTITY)
                                .build(),
                        "d")
                .setOutputs("out")
                .build();
        ComputationGraph graph = new ComputationGraph(conf);
        graph.init();
        ComputationGraph restored = (ComputationGraph)
                ModelArtifacts.restore(bytes(graph, false), "artifact 'g'", true, false, LIMIT, BYTES);
        assertThat(restored.params()).isEqualTo(graph.params());
        // a graph where a multi-layer network is expected is refused, and the reverse
        assertThatThrownBy(() -> restore(bytes(graph, false)))
                .isInstanceOf(ArtifactCorruptedException.class)
                .hasMessageContaining("artifact 'a' (test)")
                .hasMessageContaining("not a DL4J MultiLayerNetwork configuration");
        assertThatThrownBy(() ->
                        ModelArtifacts.restore(bytes(network(2), false), "artifact 'm'", true, false, LIMIT, BYTES))
                .isInstanceOf(ArtifactCorruptedException.class);
    }

    /** An ND4J array entry as {@code Nd4j.write} lays it out, with a forged data length and few real values. */
    private static byte[] forgedArray(long declaredValues, int realValues) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.writeUTF("MIXED_DATA_TYPES");
        out.writeLong(8);
        out.writeUTF("LONG");
        for (long v : new long[] {2, 1, declaredValues, declaredValues, 1, 0, 1, 99}) {
            out.writeLong(v);
        }
        out.writeUTF("MIXED_DATA_TYPES");
        out.writeLong(declaredValues);
        out.writeUTF("FLOAT");
        for (int i = 0; i < realValues; i++) {
            out.writeFloat(0.5f);
        }
        out.flush();
        return bytes.toByteArray();
    }

    @Test
    void aCoefficientsHeaderDeclaringHugeLengthIsRefusedBeforeAllocating() throws IOException {
        Map<String, byte[]> entries = entries(bytes(network(4), false));
        entries.put(ModelArtifacts.COEFFICIENTS, forgedArray(1L << 31, 26));
        assertThatThrownBy(() -> restore(zip(entries)))
                .isInstanceOf(ArtifactCorruptedException.class)
                .hasMessageContaining("artifact 'a' (test)")
                .hasMessageContaining("coefficients.bin")
                .hasMessageContaining("declares 2147483648 values where the configuration has 26 parameters");
        // the right count but the values are missing: truncated, refused before Nd4j allocates them
        entries.put(ModelArtifacts.COEFFICIENTS, forgedArray(26, 3));
        assertThatThrownBy(() -> restore(zip(entries)))
                .isInstanceOf(ArtifactCorruptedException.class)
                .hasMessageContaining("truncated");
        // a forged updater state: more values than an updater keeps for 26 parameters
        Map<String, byte[]> checkpoint = entries(bytes(network(4), true));
        checkpoint.put(ModelArtifacts.UPDATER, forgedArray(1L << 40, 4));
        assertThatThrownBy(() -> restore(zip(checkpoint)))
                .isInstanceOf(ArtifactCorruptedException.class)
                .hasMessageContaining("updaterState.bin");
    }

    @Test
    void aConfigurationOverTheParameterLimitIsRefusedNamingTheSetting() throws IOException {
        // a large configuration in a small artifact: its coefficients need not be present to be refused
        Map<String, byte[]> entries = entries(bytes(network(4), false));
        entries.put(
                ModelArtifacts.CONFIGURATION,
                new NeuralNetConfiguration.Builder()
                        .list()
                        .layer(new DenseLayer.Builder().nIn(3).nOut(100_000).build())
                        .layer(new OutputLayer.Builder(LossFunction.MSE)
                                .nIn(100_000)
                                .nOut(100_000)
                                .build())
                        .build()
                        .toJson()
                        .getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> restore(zip(entries)))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("artifact 'a' (test)")
                .hasMessageContaining(KafkaMlConfig.MAX_MODEL_PARAMETERS_CONFIG)
                .hasMessageContaining("nothing was allocated");
        // a small model over a small limit
        assertThatThrownBy(
                        () -> ModelArtifacts.restore(bytes(network(4), false), "artifact 'b'", false, false, 10, BYTES))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("declares 26 parameters, over the limit of 10");
    }

    @Test
    void aZipBombIsRefusedAtFourTimesTheArtifactLimit() throws IOException {
        Map<String, byte[]> entries = entries(bytes(network(4), false));
        entries.put("normalizer.bin", new byte[5 << 20]); // 5 MiB of zeros deflate to a few KiB
        byte[] bomb = zip(entries);
        assertThat(bomb.length).isLessThan(64 << 10);
        assertThatThrownBy(() -> ModelArtifacts.restore(bomb, "artifact 'z'", false, false, LIMIT, 1 << 20))
                .isInstanceOf(ArtifactCorruptedException.class)
                .hasMessageContaining("expands to more than 4194304 bytes")
                .hasMessageContaining(KafkaMlConfig.MAX_ARTIFACT_BYTES_CONFIG);
    }

    @Test
    void damagedArtifactsAreRefusedWithArtifactCorruptedException() throws IOException {
        byte[] valid = bytes(network(4), false);
        for (byte[] damaged : new byte[][] {
            Arrays.copyOf(valid, valid.length / 2), // truncated zip
            Arrays.copyOf(valid, 30),
            "not a zip".getBytes(StandardCharsets.UTF_8),
            new byte[0],
        }) {
            assertThatThrownBy(() -> restore(damaged))
                    .isInstanceOf(ArtifactCorruptedException.class)
                    .hasMessageStartingWith("Cannot restore the model in artifact 'a' (test): ");
        }
        Map<String, byte[]> noCoefficients = entries(valid);
        noCoefficients.remove(ModelArtifacts.COEFFICIENTS);
        assertThatThrownBy(() -> restore(zip(noCoefficients)))
                .isInstanceOf(ArtifactCorruptedException.class)
                .hasMessageContaining("has no coefficients.bin");
        Map<String, byte[]> noConfiguration = entries(valid);
        noConfiguration.remove(ModelArtifacts.CONFIGURATION);
        assertThatThrownBy(() -> restore(zip(noConfiguration)))
                .isInstanceOf(ArtifactCorruptedException.class)
                .hasMessageContaining("has no configuration.json");
    }

    @Test
    void duplicateEntriesAreRefusedAndAPreprocessorIsNeverDeserialized() throws IOException {
        byte[] valid = bytes(network(4), false);
        Map<String, byte[]> entries = entries(valid);
        // not a Java serialization stream: DL4J's own restore would fail on it; here it is never read
        entries.put("preprocessor.bin", "not a serialized object".getBytes(StandardCharsets.UTF_8));
        assertThat(((MultiLayerNetwork) restore(zip(entries))).numParams()).isEqualTo(26);

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            // java.util.zip refuses to write a duplicate name: write the second one under a name of the same length
            // and patch it in the bytes
            for (var entry : entries(valid).entrySet()) {
                zip.putNextEntry(new ZipEntry(entry.getKey()));
                zip.write(entry.getValue());
                zip.closeEntry();
            }
            zip.putNextEntry(new ZipEntry("coefficients.biN"));
            zip.write(entries(valid).get(ModelArtifacts.COEFFICIENTS));
            zip.closeEntry();
        }
        byte[] twice = new String(out.toByteArray(), StandardCharsets.ISO_8859_1)
                .replace("coefficients.biN", "coefficients.bin")
                .getBytes(StandardCharsets.ISO_8859_1);
        assertThatThrownBy(() -> restore(twice))
                .isInstanceOf(ArtifactCorruptedException.class)
                .hasMessageContaining("holds the entry 'coefficients.bin' twice");
    }
}
