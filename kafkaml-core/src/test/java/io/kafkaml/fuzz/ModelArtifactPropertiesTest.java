package io.kafkaml.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.model.InvalidModelException;
import io.kafkaml.registry.ArtifactCorruptedException;
import io.kafkaml.registry.internals.ModelArtifacts;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * Model artifacts (DL4J {@code ModelSerializer} zips) come from a registry topic anyone with write access may write:
 * mutated artifacts, and artifacts whose entries were mutated and zipped again (so that the headers, not the zip, are
 * what is damaged), restore to a network or are refused with {@link ArtifactCorruptedException} or
 * {@link InvalidModelException}, nothing else (no OutOfMemoryError, no DL4J exception), within small limits.
 */
class ModelArtifactPropertiesTest {

    private static final byte[] VALID = artifact();
    private static final Map<String, byte[]> ENTRIES = entries(VALID);

    private static byte[] artifact() {
        MultiLayerNetwork network = new MultiLayerNetwork(new NeuralNetConfiguration.Builder()
                .seed(5)
                .updater(new Adam(0.01))
                .list()
                .layer(new DenseLayer.Builder()
                        .nIn(3)
                        .nOut(4)
                        .activation(Activation.TANH)
                        .build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                        .nIn(4)
                        .nOut(2)
                        .activation(Activation.SOFTMAX)
                        .build())
                .build());
        network.init();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ModelSerializer.writeModel(network, out, true);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static Map<String, byte[]> entries(byte[] zip) {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
            for (ZipEntry entry; (entry = in.getNextEntry()) != null; ) {
                entries.put(entry.getName(), in.readAllBytes());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return entries;
    }

    private static byte[] zipWith(String name, byte[] content) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            for (var entry : ENTRIES.entrySet()) {
                zip.putNextEntry(new ZipEntry(entry.getKey()));
                zip.write(entry.getKey().equals(name) ? content : entry.getValue());
                zip.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static void restoreOrRefuse(byte[] artifact) {
        try {
            Model network = ModelArtifacts.restore(artifact, "artifact 'fuzz'", false, true, 1_000, 1 << 16);
            assertThat(network.numParams()).isLessThanOrEqualTo(1_000);
        } catch (ArtifactCorruptedException | InvalidModelException expected) {
            assertThat(expected.getMessage()).contains("artifact 'fuzz'");
        }
    }

    @Property(tries = 300)
    void mutatedArtifactsRestoreOrAreRefusedWithTheDocumentedExceptions(@ForAll("mutatedArtifacts") byte[] artifact) {
        restoreOrRefuse(artifact);
    }

    @Property(tries = 300)
    void mutatedArrayHeadersAreRefusedBeforeAllocating(@ForAll("mutatedCoefficients") byte[] coefficients) {
        restoreOrRefuse(zipWith("coefficients.bin", coefficients));
    }

    @Property(tries = 200)
    void mutatedConfigurationsAreRefusedOrCounted(@ForAll("mutatedConfigurations") byte[] configuration) {
        restoreOrRefuse(zipWith("configuration.json", configuration));
    }

    @Provide
    Arbitrary<byte[]> mutatedArtifacts() {
        return Mutations.of(List.of(VALID));
    }

    @Provide
    Arbitrary<byte[]> mutatedCoefficients() {
        // the headers are in the first ~150 bytes: mutate a copy cut short too, so that they are hit often
        byte[] coefficients = ENTRIES.get("coefficients.bin");
        return Mutations.of(List.of(coefficients, java.util.Arrays.copyOf(coefficients, 160)));
    }

    @Provide
    Arbitrary<byte[]> mutatedConfigurations() {
        return Mutations.of(List.of(ENTRIES.get("configuration.json")));
    }
}
