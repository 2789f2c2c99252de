package io.kafkaml.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.testing.InMemoryKafka;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Model versions and promotions in the registry, on {@code MockProducer}/{@code MockConsumer}s sharing an in-memory
 * log: numbering, immutability, promotion history and rollback, integrity of the stored model, hostile records.
 */
class ModelVersionsTest {

    private static final Map<String, Object> CONFIG = Map.of("bootstrap.servers", "in-memory:9092");
    private static final String RESULT = "7.mlp";

    private final InMemoryKafka kafka = new InMemoryKafka();
    private Registry registry;

    @BeforeEach
    void connect() {
        registry = Registry.connect(CONFIG, "mock", Duration.ofSeconds(10), kafka);
        registry.putResult(TrainingResult.of("7", "mlp", DeploymentStatus.TRAINING, null));
    }

    @AfterEach
    void close() {
        registry.close();
    }

    private static byte[] model(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private ModelVersion publish(String text, double loss, boolean promote) {
        return registry.publishVersion(
                RESULT,
                model(text),
                null,
                Map.of("val_loss", loss),
                Map.of(new TopicPartition("no3", 0), 1000L),
                "window",
                promote);
    }

    @Test
    void versionsAreNumberedFromOneKeepTheirMetricsAndOffsetsAndLoadTheirOwnModel() {
        ModelVersion first = publish("model one", 0.5, false);
        ModelVersion second = registry.publishVersion(
                RESULT,
                model("model two"),
                model("normalizer two"),
                Map.of("val_loss", 0.4, "val_accuracy", 0.9),
                Map.of(new TopicPartition("no3", 0), 2000L, new TopicPartition("no3", 1), 1500L),
                "second window",
                false);

        assertThat(first.version()).isEqualTo(1);
        assertThat(second.version()).isEqualTo(2);
        assertThat(registry.versions(RESULT)).containsExactly(first, second);
        assertThat(second.offsets()).containsEntry("no3-0", 2000L).containsEntry("no3-1", 1500L);
        assertThat(second.metrics()).containsEntry("val_accuracy", 0.9);
        assertThat(registry.loadVersionModel(RESULT, 1)).isEqualTo(model("model one"));
        assertThat(registry.loadVersionModel(RESULT, 2)).isEqualTo(model("model two"));
        assertThat(registry.loadArtifact(second.normalizer().id())).isEqualTo(model("normalizer two"));
        assertThat(registry.promotedVersion(RESULT)).isEmpty();

        // another client sees the same versions
        try (Registry other = Registry.connect(CONFIG, "mock", Duration.ofSeconds(10), kafka)) {
            assertThat(other.versions(RESULT)).containsExactly(first, second);
            assertThat(other.publishVersion(RESULT, model("three"), null, Map.of(), Map.of(), "", false)
                            .version())
                    .isEqualTo(3);
        }
        // this client reads the other's write when its reader gets to it: wait for it, not for a moment
        Awaitility.await()
                .atMost(Duration.ofSeconds(30))
                .untilAsserted(() -> assertThat(registry.versions(RESULT))
                        .extracting(ModelVersion::version)
                        .containsExactly(1, 2, 3));
    }

    @Test
    void aWrittenVersionIsImmutableForEveryReader() {
        ModelVersion first = publish("model one", 0.5, false);
        ModelVersion forged = new ModelVersion(
                RESULT, 1, first.artifact(), null, Map.of("val_loss", 0.01), Map.of(), Instant.now(), "forged");
        try (Producer<byte[], byte[]> producer = kafka.producer(Map.of())) {
            producer.send(new ProducerRecord<>(
                    registry.versionsTopic(),
                    ModelVersion.key(RESULT, 1).getBytes(StandardCharsets.UTF_8),
                    io.kafkaml.registry.internals.RegistryRecords.encode(forged)));
        }
        ModelVersion second = publish("model two", 0.4, false); // written after the forgery: read after it too
        assertThat(second.version()).isEqualTo(2);
        assertThat(registry.version(RESULT, 1)).contains(first);
        try (Registry other = Registry.connect(CONFIG, "mock", Duration.ofSeconds(10), kafka)) {
            assertThat(other.version(RESULT, 1)).contains(first);
        }
    }

    @Test
    void promotionsAreKeptInOrderAndARollbackIsPromotingAnOlderVersion() {
        publish("one", 0.5, true);
        publish("two", 0.4, false);
        assertThat(registry.promotedVersion(RESULT)).map(ModelVersion::version).contains(1);

        Promotion toTwo = registry.promote(RESULT, 2, "manual");
        assertThat(toTwo.sequence()).isEqualTo(2);
        assertThat(toTwo.previousVersion()).isEqualTo(1);
        assertThat(toTwo.rollback()).isFalse();
        assertThat(registry.promotedVersion(RESULT)).map(ModelVersion::version).contains(2);
        assertThat(registry.promote(RESULT, 2, "again")).isEqualTo(toTwo); // already promoted: nothing written

        Promotion back = registry.promote(RESULT, 1, "rollback: version 2 mispredicts");
        assertThat(back.rollback()).isTrue();
        assertThat(back.previousVersion()).isEqualTo(2);
        assertThat(registry.promotedVersion(RESULT)).map(ModelVersion::version).contains(1);
        assertThat(registry.promotions(RESULT))
                .extracting(Promotion::version, Promotion::rollback)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple(1, false),
                        org.assertj.core.groups.Tuple.tuple(2, false),
                        org.assertj.core.groups.Tuple.tuple(1, true));
        // published with promote: automatic, not pinned; by hand: pinned until unpinned
        assertThat(registry.promotions(RESULT)).extracting(Promotion::pinned).containsExactly(false, true, true);
        Promotion unpinned = registry.unpin(RESULT, "manual");
        assertThat(unpinned.pinned()).isFalse();
        assertThat(unpinned.version()).isEqualTo(1);
        assertThat(unpinned.rollback()).isFalse();
        assertThat(registry.unpin(RESULT, "again")).isEqualTo(unpinned); // not pinned: nothing written
        assertThat(registry.promote(RESULT, 1, "pin again", true).pinned()).isTrue();

        assertThatThrownBy(() -> registry.promote(RESULT, 9, "manual"))
                .isInstanceOf(EntityNotFoundException.class)
                .hasMessageContaining("'" + RESULT + "' has no version 9 (its versions: 1, 2");
    }

    @Test
    void aPromotionWhosePointerWasNeverWrittenStillCountsAndAnOlderPointerIsRefused() {
        publish("one", 0.5, true);
        publish("two", 0.4, false);
        Promotion first = registry.latestPromotion(RESULT).orElseThrow();
        // a promoter that stopped after the numbered record, before the pointer
        Promotion second = new Promotion(RESULT, 2, 2, 1, false, "cut short", Instant.now());
        List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        registry.addListener((kind, key) -> seen.add(kind + ":" + key));
        try (Producer<byte[], byte[]> producer = kafka.producer(Map.of())) {
            producer.send(new ProducerRecord<>(
                    registry.versionsTopic(),
                    Promotion.key(RESULT, 2).getBytes(StandardCharsets.UTF_8),
                    io.kafkaml.registry.internals.RegistryRecords.encode(second)));
            Awaitility.await()
                    .atMost(Duration.ofSeconds(10))
                    .until(() -> seen.contains("versions:" + Promotion.key(RESULT, 2)));
            assertThat(registry.promotedVersion(RESULT))
                    .map(ModelVersion::version)
                    .contains(2);
            assertThat(registry.promote(RESULT, 1, "rollback").sequence()).isEqualTo(3);
            // a pointer moved back to an older promotion is refused by every reader
            producer.send(new ProducerRecord<>(
                    registry.versionsTopic(),
                    Promotion.pointerKey(RESULT).getBytes(StandardCharsets.UTF_8),
                    io.kafkaml.registry.internals.RegistryRecords.encode(first)));
        }
        try (Registry other = Registry.connect(CONFIG, "mock", Duration.ofSeconds(10), kafka)) {
            assertThat(other.latestPromotion(RESULT)).map(Promotion::sequence).contains(3L);
        }
    }

    @Test
    void aDamagedVersionArtifactIsDetectedOnLoad() {
        ModelVersion version = publish("model one", 0.5, false);
        try (Producer<byte[], byte[]> producer = kafka.producer(Map.of())) {
            producer.send(new ProducerRecord<>(
                    registry.artifactChunksTopic(),
                    Registry.chunkKey(version.artifact().id(), 0).getBytes(StandardCharsets.UTF_8),
                    model("model 0ne")));
        }
        Awaitility.await()
                .atMost(Duration.ofSeconds(10))
                .untilAsserted(() -> assertThatThrownBy(() -> registry.loadVersionModel(RESULT, 1))
                        .isInstanceOf(ArtifactCorruptedException.class)
                        .hasMessageContaining("SHA-256"));
    }

    @Test
    void aRecordThatIsNotAVersionIsLeftOutOfTheListingAndNamedWhenReadByKey() {
        publish("one", 0.5, false);
        try (Producer<byte[], byte[]> producer = kafka.producer(Map.of())) {
            producer.send(new ProducerRecord<>(
                    registry.versionsTopic(),
                    ModelVersion.key(RESULT, 2).getBytes(StandardCharsets.UTF_8),
                    model("{\"resultId\": \"7.mlp\", \"version\": -4}")));
        }
        Awaitility.await()
                .atMost(Duration.ofSeconds(10))
                .untilAsserted(() -> assertThatThrownBy(() -> registry.version(RESULT, 2))
                        .isInstanceOf(InvalidRegistryRecordException.class)
                        .hasMessageContaining("'" + ModelVersion.key(RESULT, 2) + "' at mock.versions-0@"));
        assertThat(registry.versions(RESULT)).extracting(ModelVersion::version).containsExactly(1);
        assertThat(publish("three", 0.3, false).version()).isEqualTo(3); // the bad record keeps its number
    }

    @Test
    void aVersionOfAnUnknownResultOrWithUnboundedFieldsIsRefusedBeforeAnythingIsWritten() {
        assertThatThrownBy(() -> registry.publishVersion("8.none", model("x"), null, Map.of(), Map.of(), "", false))
                .isInstanceOf(EntityNotFoundException.class);
        Map<String, Double> tooMany = new java.util.HashMap<>();
        for (int i = 0; i <= ModelVersion.MAX_METRICS; i++) {
            tooMany.put("m" + i, 1.0);
        }
        assertThatThrownBy(() -> registry.publishVersion(RESULT, model("x"), null, tooMany, Map.of(), "", false))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at most " + ModelVersion.MAX_METRICS + " metrics");
        assertThatThrownBy(() -> registry.publishVersion(
                        RESULT, model("x"), null, Map.of("val_loss", Double.NaN), Map.of(), "", false))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("val_loss");
        assertThat(registry.versions(RESULT)).isEmpty();
    }

    @Test
    void theRetentionDeletesTheModelsOfOldVersionsButKeepsTheNewestThePromotedThePinnedAndTheResultsOwn() {
        for (int i = 1; i <= 7; i++) {
            publish("model " + i, 1.0 / i, false);
        }
        registry.promote(RESULT, 2, "rollback by hand"); // pinned: a rollback target
        registry.promote(RESULT, 3, "by the policy", false); // the promoted version
        registry.putResult(
                new TrainingResult( // a running result names version 4's model
                        RESULT,
                        "7",
                        "mlp",
                        DeploymentStatus.TRAINING,
                        List.of(),
                        Map.of(),
                        null,
                        0,
                        registry.version(RESULT, 4).orElseThrow().artifact().id(),
                        null,
                        null,
                        Instant.now(),
                        4,
                        null,
                        null,
                        null));

        assertThat(registry.pruneVersions(RESULT, 2)).containsExactly(1, 5);
        assertThat(registry.pruneVersions(RESULT, 2)).isEmpty(); // idempotent

        assertThat(registry.versions(RESULT)).hasSize(7); // the records stay: history and numbering unchanged
        for (int kept : List.of(2, 3, 4, 6, 7)) {
            assertThat(registry.loadVersionModel(RESULT, kept)).isEqualTo(model("model " + kept));
        }
        for (int pruned : List.of(1, 5)) {
            assertThatThrownBy(() -> registry.loadVersionModel(RESULT, pruned))
                    .isInstanceOf(EntityNotFoundException.class)
                    .hasMessageContaining("version " + pruned + " of result '" + RESULT + "'")
                    .hasMessageContaining("kafkaml.versions.retain");
        }
        assertThatThrownBy(() -> registry.pruneVersions(RESULT, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theRetentionKeepsAVersionAnInferenceDeploymentServesByNumberAndAPrunedVersionCannotBePromoted() {
        for (int i = 1; i <= 4; i++) {
            publish("model " + i, 1.0 / i, false);
        }
        registry.promote(RESULT, 4, "by the policy", false);
        Instant now = Instant.now();
        // as LocalInference records InferenceSpec.version(1) / kafkaml infer --version 1 (a JSON number)
        assertThat(registry.putInference(new Inference(
                        "pinned",
                        RESULT,
                        "in",
                        "out",
                        1,
                        "RUNNING",
                        null,
                        Map.of("version", 1),
                        now,
                        now,
                        0,
                        now,
                        30_000,
                        "owner-1",
                        1,
                        null)))
                .isTrue();
        // a stopped one may be started again with its version: it keeps it until forgotten
        assertThat(registry.putInference(new Inference(
                        "stopped",
                        RESULT,
                        "in2",
                        "out2",
                        1,
                        "STOPPED",
                        null,
                        Map.of("version", "2"),
                        now,
                        now,
                        0,
                        now,
                        30_000,
                        "owner-2",
                        1,
                        null)))
                .isTrue();

        assertThat(registry.pruneVersions(RESULT, 1)).containsExactly(3);
        assertThat(registry.loadVersionModel(RESULT, 1)).isEqualTo(model("model 1"));
        assertThat(registry.loadVersionModel(RESULT, 2)).isEqualTo(model("model 2"));

        // promoting the pruned version (a rollback by hand) is refused: no promotion points at a model that is gone
        assertThatThrownBy(() -> registry.promote(RESULT, 3, "manual"))
                .isInstanceOf(EntityNotFoundException.class)
                .hasMessageContaining("version 3 of result '" + RESULT + "'")
                .hasMessageContaining("kafkaml.versions.retain");
        assertThat(registry.latestPromotion(RESULT).orElseThrow().version()).isEqualTo(4);

        // once forgotten, the stopped deployment no longer keeps version 2
        registry.forgetInference("stopped", "test");
        assertThat(registry.pruneVersions(RESULT, 1)).containsExactly(2);
    }

    @Test
    void aMissingModelOfTheNewestVersionIsNotBlamedOnTheRetention() {
        ModelVersion only = publish("model 1", 0.5, false);
        registry.deleteArtifact(only.artifact().id()); // by hand: the retention never deletes the newest version
        assertThatThrownBy(() -> registry.loadVersionModel(RESULT, 1))
                .isInstanceOf(EntityNotFoundException.class)
                .hasMessageContaining(only.artifact().id())
                .hasMessageNotContaining("retention");
    }
}
