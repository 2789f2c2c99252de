package io.kafkaml.registry.internals;

import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.model.InvalidModelException;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.ArtifactCorruptedException;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Restores a network from DL4J's {@code ModelSerializer} zip format within limits, checked before anything is
 * allocated. A model artifact comes from a registry topic anyone with write access may have written, and DL4J's own
 * restore trusts it: it allocates the size a zip entry's header declares, inflates entries without bound, allocates
 * the length an ND4J array header declares before reading its data, and deserializes a Java object from
 * {@code preprocessor.bin}. Here:
 * <ul>
 *   <li>the zip is read twice as a stream, never trusting a declared size: the first pass only counts the bytes each
 *       entry inflates to (together at most four times
 *       {@value KafkaMlConfig#MAX_ARTIFACT_BYTES_CONFIG}) and keeps {@code configuration.json} (at most
 *       {@value KafkaMlConfig#MAX_ARTIFACT_BYTES_CONFIG} bytes) and the first bytes of each array;</li>
 *   <li>the configuration is parsed as the expected network type and its parameters are counted
 *       ({@link ModelDefinition#parameterCount(String)}): more than {@value KafkaMlConfig#MAX_MODEL_PARAMETERS_CONFIG}
 *       allows is refused;</li>
 *   <li>the header of {@code coefficients.bin} must declare exactly that many values, of a floating-point type, in a
 *       vector shape, and the entry must really hold them; {@code updaterState.bin} (read only when the updater is
 *       wanted) at most four values per parameter (DL4J's updaters keep up to three), also really held;</li>
 *   <li>only then is the second pass read into arrays of the sizes found, and the network built as
 *       {@code ModelSerializer} builds it. {@code preprocessor.bin}, {@code normalizer.bin} and unknown entries are
 *       never deserialized; an entry that appears twice is refused.</li>
 * </ul>
 * Every refusal is an {@link ArtifactCorruptedException} naming the artifact and what is wrong, or an
 * {@link InvalidModelException} naming the count and {@value KafkaMlConfig#MAX_MODEL_PARAMETERS_CONFIG}.
 *
 * <p>Thread safety: stateless; safe from any thread. Not part of the public API.
 */
public final class ModelArtifacts {

    static final String CONFIGURATION = "configuration.json";
    static final String COEFFICIENTS = "coefficients.bin";
    static final String UPDATER = "updaterState.bin";
    static final String NO_PARAMS = "noParams.marker";
    /** Entries read or skipped without being deserialized. */
    private static final Set<String> KNOWN =
            Set.of(CONFIGURATION, COEFFICIENTS, UPDATER, NO_PARAMS, "normalizer.bin", "preprocessor.bin");

    /** Bytes kept of each array entry by the first pass: enough for both headers and a shape of rank 2. */
    private static final int PREFIX = 512;
    /** The most values an updater state may hold per parameter (DL4J's AMSGrad keeps three). */
    private static final long UPDATER_VALUES_PER_PARAMETER = 4;

    private ModelArtifacts() {}

    /**
     * Restores a network from {@code artifact}, DL4J {@code ModelSerializer} bytes.
     *
     * @param artifact the zip bytes
     * @param what names the artifact in errors, e.g. {@code "artifact 'x' (the model of result 'r')"}
     * @param graph whether a {@link ComputationGraph} is expected (else a {@link MultiLayerNetwork})
     * @param withUpdater whether to restore the updater state too (a training checkpoint)
     * @param maxParameters the value of {@value KafkaMlConfig#MAX_MODEL_PARAMETERS_CONFIG}
     * @param maxArtifactBytes the value of {@value KafkaMlConfig#MAX_ARTIFACT_BYTES_CONFIG}
     * @return the network, initialized with the artifact's parameters
     * @throws ArtifactCorruptedException if the bytes are not a complete DL4J model of the expected type, or expand
     *     beyond the limits above (nothing large is allocated)
     * @throws InvalidModelException if its configuration declares more than {@code maxParameters} parameters
     */
    public static Model restore(
            byte[] artifact,
            String what,
            boolean graph,
            boolean withUpdater,
            long maxParameters,
            long maxArtifactBytes) {
        long maxExpanded = maxArtifactBytes > Long.MAX_VALUE / 4 ? Long.MAX_VALUE : maxArtifactBytes * 4;
        Map<String, Entry> entries =
                scan(artifact, what, maxExpanded, Math.min(maxArtifactBytes, Integer.MAX_VALUE - 8));
        Entry configurationEntry = entries.get(CONFIGURATION);
        if (configurationEntry == null) {
            throw corrupted(what, "it has no " + CONFIGURATION + " (it is not a DL4J ModelSerializer zip)");
        }
        String json = new String(configurationEntry.prefix, StandardCharsets.UTF_8);
        Object configuration;
        long parameters;
        try {
            if (graph) {
                ComputationGraphConfiguration cgc = ComputationGraphConfiguration.fromJson(json);
                if (cgc.getNetworkInputs() == null
                        || cgc.getVertices() == null
                        || cgc.getVertices().isEmpty()) {
                    throw new IllegalArgumentException("it is not a ComputationGraphConfiguration");
                }
                configuration = cgc;
                parameters = ModelDefinition.parameterCount(cgc);
            } else {
                MultiLayerConfiguration mlc = MultiLayerConfiguration.fromJson(json);
                if (mlc.getConfs() == null || mlc.getConfs().isEmpty()) {
                    throw new IllegalArgumentException("it is not a MultiLayerConfiguration");
                }
                configuration = mlc;
                parameters = ModelDefinition.parameterCount(mlc);
            }
        } catch (InvalidModelException e) {
            throw corrupted(what, "its " + CONFIGURATION + " cannot be counted: " + e.getMessage());
        } catch (RuntimeException e) {
            throw corrupted(
                    what,
                    "its " + CONFIGURATION + " is not a DL4J " + (graph ? "ComputationGraph" : "MultiLayerNetwork")
                            + " configuration: " + firstLine(e));
        }
        if (parameters > maxParameters) {
            throw new InvalidModelException("The model in " + what + " declares "
                    + (parameters == Long.MAX_VALUE ? "more than " + Long.MAX_VALUE : String.valueOf(parameters))
                    + " parameters, over the limit of " + maxParameters + " ("
                    + KafkaMlConfig.MAX_MODEL_PARAMETERS_CONFIG + "); nothing was allocated. Raise "
                    + KafkaMlConfig.MAX_MODEL_PARAMETERS_CONFIG + " to load it");
        }
        Entry coefficients = entries.get(COEFFICIENTS);
        if (coefficients == null || coefficients.size == 0) {
            if (parameters > 0 || entries.get(NO_PARAMS) == null) {
                throw corrupted(
                        what,
                        "it has no " + COEFFICIENTS + " for the " + parameters + " parameters of its "
                                + "configuration");
            }
        } else {
            checkArray(coefficients, COEFFICIENTS, what, parameters, parameters);
        }
        Entry updater = withUpdater ? entries.get(UPDATER) : null;
        if (updater != null) {
            long most = parameters > Long.MAX_VALUE / UPDATER_VALUES_PER_PARAMETER
                    ? Long.MAX_VALUE
                    : parameters * UPDATER_VALUES_PER_PARAMETER;
            checkArray(updater, UPDATER, what, 0, most);
        }
        // second pass: the sizes are known and bounded now
        Map<String, byte[]> content = read(
                artifact,
                what,
                coefficients == null || coefficients.size == 0 ? 0 : coefficients.size,
                updater == null ? 0 : updater.size);
        try {
            INDArray params = content.containsKey(COEFFICIENTS) ? array(content.get(COEFFICIENTS)) : null;
            INDArray state = content.containsKey(UPDATER) ? array(content.get(UPDATER)) : null;
            if (configuration instanceof MultiLayerConfiguration mlc) {
                if (params != null) {
                    mlc.setDataType(params.dataType());
                }
                MultiLayerNetwork network = new MultiLayerNetwork(mlc);
                network.init(params, false);
                if (state != null) {
                    network.getUpdater().setStateViewArray(network, state, false);
                }
                return network;
            }
            ComputationGraphConfiguration cgc = (ComputationGraphConfiguration) configuration;
            if (params != null) {
                cgc.setDataType(params.dataType());
            }
            ComputationGraph network = new ComputationGraph(cgc);
            network.init(params, false);
            if (state != null) {
                network.getUpdater().setStateViewArray(state);
            }
            return network;
        } catch (IOException | RuntimeException e) {
            throw corrupted(what, "DL4J cannot build the network from it: " + firstLine(e));
        }
    }

    /** What the first pass found of one entry: its inflated size and its first bytes (all of the configuration). */
    private record Entry(long size, byte[] prefix) {}

    private static Map<String, Entry> scan(byte[] artifact, String what, long maxExpanded, long maxConfiguration) {
        Map<String, Entry> entries = new HashMap<>();
        long expanded = 0;
        byte[] buffer = new byte[8192];
        try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(artifact))) {
            for (ZipEntry entry; (entry = zip.getNextEntry()) != null; ) {
                String name = entry.getName();
                if (entries.containsKey(name)) {
                    throw corrupted(what, "it holds the entry '" + name + "' twice");
                }
                boolean keep = KNOWN.contains(name);
                long keepAtMost = CONFIGURATION.equals(name) ? maxConfiguration : PREFIX;
                java.io.ByteArrayOutputStream kept = new java.io.ByteArrayOutputStream();
                long size = 0;
                for (int n; (n = zip.read(buffer)) > 0; ) {
                    size += n;
                    expanded += n;
                    if (expanded > maxExpanded) {
                        throw corrupted(
                                what,
                                "it expands to more than " + maxExpanded + " bytes, four times "
                                        + KafkaMlConfig.MAX_ARTIFACT_BYTES_CONFIG
                                        + " (a zip bomb or a damaged artifact)");
                    }
                    if (CONFIGURATION.equals(name) && size > keepAtMost) {
                        throw corrupted(
                                what,
                                "its " + CONFIGURATION + " expands to more than " + keepAtMost + " bytes ("
                                        + KafkaMlConfig.MAX_ARTIFACT_BYTES_CONFIG + ")");
                    }
                    if (keep && kept.size() < keepAtMost) {
                        kept.write(buffer, 0, (int) Math.min(n, keepAtMost - kept.size()));
                    }
                }
                entries.put(name, new Entry(size, kept.toByteArray()));
            }
        } catch (IOException | IllegalArgumentException e) { // ZipException, EOF, a malformed entry name
            throw corrupted(what, "it is not a complete zip: " + firstLine(e));
        }
        if (entries.isEmpty()) {
            throw corrupted(what, "it is not a zip (no entries)");
        }
        return entries;
    }

    /** The second pass: the bytes of the coefficients and updater entries, of the sizes the first pass found. */
    private static Map<String, byte[]> read(byte[] artifact, String what, long coefficients, long updater) {
        Map<String, byte[]> content = new HashMap<>();
        try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(artifact))) {
            for (ZipEntry entry; (entry = zip.getNextEntry()) != null; ) {
                long size = COEFFICIENTS.equals(entry.getName())
                        ? coefficients
                        : UPDATER.equals(entry.getName()) ? updater : 0;
                if (size > 0) {
                    byte[] bytes = new byte[(int) size];
                    int read = zip.readNBytes(bytes, 0, bytes.length);
                    if (read != bytes.length || zip.read() != -1) {
                        throw corrupted(what, "its entry '" + entry.getName() + "' changed size between two reads");
                    }
                    content.put(entry.getName(), bytes);
                }
            }
        } catch (IOException e) {
            throw corrupted(what, "it is not a complete zip: " + firstLine(e));
        }
        return content;
    }

    /**
     * Checks an ND4J array entry ({@code Nd4j.write}: the shape buffer, then the data buffer, each a header of
     * allocation mode, length and data type followed by the values) before {@code Nd4j.read} allocates what the
     * headers declare: a vector shape of {@code min..max} floating-point values, all present in the entry.
     */
    private static void checkArray(Entry entry, String name, String what, long min, long max) {
        if (entry.size > Integer.MAX_VALUE - 8) {
            throw corrupted(what, "its " + name + " holds " + entry.size + " bytes, more than one array holds");
        }
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(entry.prefix))) {
            Header shape = header(in);
            if (!shape.type.isIntType() || shape.type.width() != Long.BYTES || shape.length < 6 || shape.length > 8) {
                throw new IllegalArgumentException("its shape header declares " + shape.length + " " + shape.type
                        + " values, not the shape of a vector");
            }
            long[] info = new long[(int) shape.length];
            for (int i = 0; i < info.length; i++) {
                info[i] = in.readLong();
            }
            long rank = info[0];
            if (rank < 1 || rank > 2 || shape.length != 2 * rank + 4) {
                throw new IllegalArgumentException("its shape has rank " + rank + ", not a vector's");
            }
            Header data = header(in);
            if (!data.type.isFPType()) {
                throw new IllegalArgumentException("its values are " + data.type + ", not floating point");
            }
            long elements = 1;
            for (int i = 1; i <= rank; i++) {
                if (info[i] < 0) {
                    throw new IllegalArgumentException("its shape has a negative size");
                }
                elements = Math.multiplyExact(elements, info[i]);
            }
            if (elements != data.length) {
                throw new IllegalArgumentException(
                        "its shape holds " + elements + " values but its data " + data.length);
            }
            if (data.length < min || data.length > max) {
                throw new IllegalArgumentException("it declares " + data.length + " values where the configuration "
                        + (min == max ? "has " + min + " parameters" : "allows at most " + max));
            }
            long headerBytes = entry.prefix.length - in.available();
            long needed = Math.addExact(headerBytes, Math.multiplyExact(data.length, (long) data.type.width()));
            if (entry.size < needed) {
                throw new IllegalArgumentException(
                        "it is truncated: its headers declare " + needed + " bytes but it holds " + entry.size);
            }
        } catch (IOException | IllegalArgumentException | ArithmeticException e) {
            throw corrupted(what, "its " + name + " is not a valid ND4J array: " + firstLine(e));
        }
    }

    private record Header(long length, DataType type) {}

    private static Header header(DataInputStream in) throws IOException {
        DataBuffer.AllocationMode mode = DataBuffer.AllocationMode.valueOf(in.readUTF());
        if (mode != DataBuffer.AllocationMode.MIXED_DATA_TYPES) {
            throw new IllegalArgumentException("its allocation mode " + mode + " is an old format this reader refuses");
        }
        long length = in.readLong();
        if (length < 0) {
            throw new IllegalArgumentException("it declares a negative length");
        }
        return new Header(length, DataType.valueOf(in.readUTF()));
    }

    /** An array checked by {@link #checkArray}, as a row vector over the values read (its stored strides unused). */
    private static INDArray array(byte[] bytes) throws IOException {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
            INDArray read = Nd4j.read(in);
            return Nd4j.create(read.data(), 1, read.data().length());
        }
    }

    private static ArtifactCorruptedException corrupted(String what, String reason) {
        return new ArtifactCorruptedException(
                "Cannot restore the model in " + what + ": " + reason + "; nothing was loaded");
    }

    private static String firstLine(Throwable e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }
}
