package io.kafkaml.registry;

import static io.kafkaml.registry.DeploymentStatus.CANCELLED;
import static io.kafkaml.registry.DeploymentStatus.FAILED;
import static io.kafkaml.registry.DeploymentStatus.FINISHED;
import static io.kafkaml.registry.DeploymentStatus.TRAINING;
import static io.kafkaml.registry.DeploymentStatus.WAITING_FOR_DATA;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The state machine of results and the one function that derives a deployment's status from them. */
class DeploymentStatusTest {

    static final Deployment NEW = new Deployment(
            "7",
            "c",
            WAITING_FOR_DATA,
            null,
            Map.of(),
            Instant.parse("2026-11-30T10:00:00Z"),
            Instant.parse("2026-11-30T10:00:00Z"),
            null);
    static final List<String> MODELS = List.of("a", "b", "c");

    static TrainingResult result(String model, DeploymentStatus status, String error) {
        return new TrainingResult(
                TrainingResult.idOf("7", model),
                "7",
                model,
                status,
                List.of(),
                Map.of(),
                null,
                0,
                null,
                null,
                error,
                Instant.parse("2026-11-30T10:05:00Z"),
                0,
                null,
                null);
    }

    @Test
    void terminalStatesAreFinalAndFinishedComesOnlyFromTraining() {
        for (DeploymentStatus terminal : List.of(FINISHED, FAILED, CANCELLED)) {
            for (DeploymentStatus next : DeploymentStatus.values()) {
                assertThat(terminal.isValidTransition(next))
                        .as(terminal + " -> " + next)
                        .isFalse();
            }
        }
        assertThat(WAITING_FOR_DATA.isValidTransition(TRAINING)).isTrue();
        assertThat(WAITING_FOR_DATA.isValidTransition(FINISHED)).isFalse();
        assertThat(TRAINING.isValidTransition(FINISHED)).isTrue();
        assertThat(TRAINING.isValidTransition(WAITING_FOR_DATA))
                .as("a crashed worker restarts and waits again")
                .isTrue();
        assertThat(TRAINING.isValidTransition(null)).isFalse();
    }

    @Test
    void aDeploymentIsTerminalOnlyOnceEveryModelEnded() {
        assertThat(NEW.derivedFrom(MODELS, List.of()).status()).isEqualTo(WAITING_FOR_DATA);
        assertThat(NEW.derivedFrom(MODELS, List.of(result("a", WAITING_FOR_DATA, null)))
                        .status())
                .isEqualTo(WAITING_FOR_DATA);
        Deployment oneFailed =
                NEW.derivedFrom(MODELS, List.of(result("a", FAILED, "boom"), result("b", FINISHED, null)));
        assertThat(oneFailed.status()).as("c has no result yet").isEqualTo(TRAINING);
        assertThat(oneFailed.error()).isNull();
        Deployment all = NEW.derivedFrom(
                MODELS,
                List.of(result("a", FAILED, "boom"), result("b", FINISHED, null), result("c", CANCELLED, "stop")));
        assertThat(all.status()).isEqualTo(FAILED);
        assertThat(all.error()).isEqualTo("model 'a': boom");
        assertThat(all.updatedAt()).isEqualTo(Instant.parse("2026-11-30T10:05:00Z"));
        assertThat(NEW.derivedFrom(
                                MODELS,
                                List.of(
                                        result("a", FINISHED, null),
                                        result("b", FINISHED, null),
                                        result("c", CANCELLED, "stop")))
                        .status())
                .isEqualTo(CANCELLED);
        assertThat(NEW.derivedFrom(
                                MODELS,
                                List.of(
                                        result("a", FINISHED, null),
                                        result("b", FINISHED, null),
                                        result("c", FINISHED, null)))
                        .status())
                .isEqualTo(FINISHED);
    }

    @Test
    void withoutAModelListTheResultsPresentDecideAndOtherDeploymentsAreIgnored() {
        TrainingResult other = new TrainingResult(
                "8.a",
                "8",
                "a",
                FAILED,
                List.of(),
                Map.of(),
                null,
                0,
                null,
                null,
                "not ours",
                Instant.now(),
                0,
                null,
                null);
        assertThat(NEW.derivedFrom(List.of(), List.of(result("a", FINISHED, null), other))
                        .status())
                .isEqualTo(FINISHED);
    }

    @Test
    void aResultOfAnEarlierVersionIsSummarizedFromItsInlineEpochs() {
        TrainingResult legacy = new TrainingResult(
                "7.a",
                "7",
                "a",
                FINISHED,
                List.of(new EpochMetrics(1, 0.9, null, 3), new EpochMetrics(2, 0.5, null, 3)),
                Map.of(),
                null,
                6,
                null,
                null,
                null,
                Instant.now());
        assertThat(legacy.epochCount()).isEqualTo(2);
        assertThat(legacy.lastEpoch().epoch()).isEqualTo(2);
    }
}
