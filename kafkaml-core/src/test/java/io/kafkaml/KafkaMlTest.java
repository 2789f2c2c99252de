package io.kafkaml;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.RegistryException;
import io.kafkaml.testing.InMemoryKafka;
import io.kafkaml.training.TrainingSpec;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The facade's state machine, without a broker. */
class KafkaMlTest {

    @Test
    void createdRefusesOperationsUntilStartedAndClosedRefusesEverything() {
        KafkaMl ml = KafkaMl.builder(Map.of("bootstrap.servers", "localhost:9")).build();
        assertThat(ml.state()).isEqualTo(KafkaMl.State.CREATED);
        assertThatThrownBy(ml::models).isInstanceOf(IllegalStateException.class).hasMessageContaining("call start()");
        assertThatThrownBy(ml::sink).isInstanceOf(IllegalStateException.class).hasMessageContaining("CREATED");

        ml.close();
        ml.close(); // idempotent
        assertThat(ml.state()).isEqualTo(KafkaMl.State.CLOSED);
        assertThatThrownBy(ml::start).isInstanceOf(IllegalStateException.class).hasMessageContaining("CLOSED");
        assertThatThrownBy(() -> ml.train("c", null)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void aFailedStartClosesWhatItStartedAndEndsClosed() {
        KafkaMl ml = KafkaMl.builder(Map.of(
                        "bootstrap.servers",
                        "localhost:9",
                        "admin.request.timeout.ms",
                        "500",
                        "admin.default.api.timeout.ms",
                        "1000"))
                .registryTimeout(Duration.ofSeconds(1))
                .build();
        assertThatThrownBy(ml::start).isInstanceOf(RegistryException.class);
        assertThat(ml.state()).isEqualTo(KafkaMl.State.CLOSED);
    }

    @Test
    void withoutALauncherItReadsAndEditsTheRegistryButRefusesToTrain() {
        InMemoryKafka kafka = new InMemoryKafka();
        try (KafkaMl ml = KafkaMl.builder(Map.of("bootstrap.servers", "in-memory:9092"))
                .clientSupplier(kafka)
                .withoutLauncher()
                .controlLogger(false)
                .registryTimeout(Duration.ofSeconds(10))
                .build()
                .start()) {
            ml.models().register(KafkaMlIT.mlp("mlp"));
            ml.configurations().create("c", "mlp");
            assertThat(ml.registry().configurations())
                    .extracting(Configuration::name)
                    .containsExactly("c");
            assertThat(ml.controlLogger()).isEmpty();
            assertThatThrownBy(() -> ml.train("c", TrainingSpec.builder().build()))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("withoutLauncher()");
            assertThat(ml.registry().deployments()).isEmpty(); // nothing recorded for the refused training
        }
        assertThat(kafka.openClients()).isZero();
    }

    @Test
    void transitionsAreThoseOfTheDocumentedStateMachine() {
        assertThat(KafkaMl.State.CREATED.isValidTransition(KafkaMl.State.RUNNING))
                .isTrue();
        assertThat(KafkaMl.State.CREATED.isValidTransition(KafkaMl.State.CLOSED))
                .isTrue();
        assertThat(KafkaMl.State.RUNNING.isValidTransition(KafkaMl.State.CLOSED))
                .isTrue();
        assertThat(KafkaMl.State.RUNNING.isValidTransition(KafkaMl.State.CREATED))
                .isFalse();
        assertThat(KafkaMl.State.CLOSED.isValidTransition(KafkaMl.State.RUNNING))
                .isFalse();
    }

    @Test
    void settingsAreCheckedWhenBuilt() {
        assertThatThrownBy(
                        () -> KafkaMl.builder(Map.of("bootstrap.servers", "b:9092", "kafkaml.inference.replicas", "0")))
                .hasMessageContaining("kafkaml.inference.replicas");
        assertThatThrownBy(() ->
                        KafkaMl.builder(Map.of("bootstrap.servers", "b:9092")).trainingThreads(0))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
