package io.kafkaml.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.control.ControlMessage;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.ArtifactRef;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.Datasource;
import io.kafkaml.registry.Deployment;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.EpochMetrics;
import io.kafkaml.registry.Inference;
import io.kafkaml.registry.InvalidRegistryRecordException;
import io.kafkaml.registry.MetricsPosition;
import io.kafkaml.registry.ModelVersion;
import io.kafkaml.registry.Promotion;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.registry.internals.RegistryRecords;
import io.kafkaml.stream.StreamSlice;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The JSON records the registry reads from its compacted topics — anyone who may write to them controls them: a
 * record of arbitrary bytes or a mutated valid record is either a whole entity that round-trips (written back and
 * read again, the same JSON) or an {@link InvalidRegistryRecordException} naming the topic, partition, offset and
 * key, never another exception. A bounded sample on every build; {@code samples/benchmarks fuzz} runs many more.
 */
class RegistryRecordPropertiesTest {

    private static final Instant AT = Instant.parse("2026-11-30T10:00:00Z");
    private static final String CONTROL = ControlMessage.builder()
            .slices(List.of(StreamSlice.of("hcopd", 0, 0, 120)))
            .inputFormat("JSON")
            .inputConfig(Map.of("data_reshape", "3"))
            .totalMessages(120)
            .deploymentId("7")
            .build()
            .toJson();
    private static final EpochMetrics EPOCH = new EpochMetrics(5, 0.41, Map.of("loss", 0.45), 120);
    private static final Map<Class<?>, byte[]> SEEDS = Map.of(
            ModelDefinition.class,
            RegistryRecords.encode(ModelDefinition.of("hcopd", "", mlp())),
            Configuration.class,
            RegistryRecords.encode(new Configuration("all", "", List.of("hcopd", "wide"))),
            Deployment.class,
            RegistryRecords.encode(
                    new Deployment("7", "all", DeploymentStatus.TRAINING, null, Map.of("epochs", 5), AT, AT, CONTROL)),
            TrainingResult.class,
            RegistryRecords.encode(new TrainingResult(
                    "7.hcopd",
                    "7",
                    "hcopd",
                    DeploymentStatus.FINISHED,
                    List.of(),
                    Map.of("accuracy", 0.82),
                    new long[][] {{30, 3}, {5, 10}},
                    900,
                    "result.7.hcopd",
                    null,
                    null,
                    AT,
                    5,
                    EPOCH,
                    EPOCH,
                    new MetricsPosition(0, 10),
                    new MetricsPosition(0, 14))),
            Datasource.class,
            RegistryRecords.encode(new Datasource("ctl-0-3", "7", "ctl", AT, CONTROL)),
            Inference.class,
            RegistryRecords.encode(
                    new Inference("serve-7", "7.hcopd", "in", "out", 2, "RUNNING", null, Map.of(), AT, AT, 0, AT, 1)),
            ArtifactRef.class,
            RegistryRecords.encode(new ArtifactRef("result.7.hcopd", 5000, 1, "ab".repeat(32), AT)),
            ModelVersion.class,
            RegistryRecords.encode(new ModelVersion(
                    "7.hcopd",
                    2,
                    new ArtifactRef("7.hcopd.version-1.model", 5000, 1, "ab".repeat(32), AT),
                    null,
                    Map.of("val_loss", 0.31),
                    Map.of("no3-0", 1000L),
                    AT,
                    "promoted: val_loss 0.31 < 0.35 − 0.01")),
            Promotion.class,
            RegistryRecords.encode(new Promotion("7.hcopd", 3, 1, 2, true, "manual", AT)));

    @Property(tries = 1500)
    void registryRecordsAreWholeEntitiesThatRoundTripOrInvalidRegistryRecordException(@ForAll("records") Case input)
            throws java.io.IOException {
        Class<?> type = input.type();
        try {
            Object entity = RegistryRecords.decode("kafkaml.models", 0, 42, "k", input.value(), type);
            byte[] written = RegistryRecords.encode(entity);
            byte[] again = RegistryRecords.encode(RegistryRecords.decode("kafkaml.models", 0, 42, "k", written, type));
            // as JSON trees: a map's keys are written in its iteration order, which Map.copyOf does not fix
            assertThat(RegistryRecords.mapper().readTree(again))
                    .isEqualTo(RegistryRecords.mapper().readTree(written));
        } catch (InvalidRegistryRecordException expected) {
            assertThat(expected.getMessage())
                    .startsWith(
                            "Registry record 'k' at kafkaml.models-0@42 is not a valid " + type.getSimpleName() + ": ");
            assertThat(expected.offset()).isEqualTo(42);
        }
    }

    @Property(tries = 9)
    void everySeedIsValid(@ForAll("types") Class<?> type) {
        assertThat(RegistryRecords.decode("t", 0, 0, "k", SEEDS.get(type), type))
                .isNotNull();
    }

    /** A registry entity type and a record value for it. */
    record Case(Class<?> type, byte[] value) {}

    @Provide
    Arbitrary<Class<?>> types() {
        return Arbitraries.of(List.copyOf(SEEDS.keySet()));
    }

    @Provide
    Arbitrary<Case> records() {
        return types().flatMap(type -> Arbitraries.oneOf(
                        Arbitraries.bytes().array(byte[].class).ofMaxSize(200),
                        Mutations.of(List.of(SEEDS.get(type))),
                        Mutations.of(List.of(SEEDS.get(type))))
                .map(value -> new Case(type, value)));
    }

    private static org.deeplearning4j.nn.conf.MultiLayerConfiguration mlp() {
        return new org.deeplearning4j.nn.conf.NeuralNetConfiguration.Builder()
                .seed(7)
                .list()
                .layer(new org.deeplearning4j.nn.conf.layers.DenseLayer.Builder()
                        .nIn(3)
                        .nOut(4)
                        .activation(org.nd4j.linalg.activations.Activation.RELU)
                        .build())
                .layer(new org.deeplearning4j.nn.conf.layers.OutputLayer.Builder(
                                org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction.MCXENT)
                        .nIn(4)
                        .nOut(2)
                        .activation(org.nd4j.linalg.activations.Activation.SOFTMAX)
                        .build())
                .build();
    }
}
