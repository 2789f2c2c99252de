package io.kafkaml.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.dataset.SplitOrder;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code kafkaml train}'s options that need no broker to check. */
class TrainCommandOptionsTest {

    @Test
    void splitOrderDefaultsToShuffledAndTakesKafkaMl() {
        TrainCommand defaults = new TrainCommand();
        new CommandLine(defaults).parseArgs("--configuration", "c");
        assertThat(defaults.splitOrder).isEqualTo(SplitOrder.SHUFFLED);
        TrainCommand kafkaMl = new TrainCommand();
        new CommandLine(kafkaMl).parseArgs("--configuration", "c", "--split-order", "KAFKA_ML");
        assertThat(kafkaMl.splitOrder).isEqualTo(SplitOrder.KAFKA_ML);
        assertThatThrownBy(() -> new CommandLine(new TrainCommand())
                        .parseArgs("--configuration", "c", "--split-order", "RANDOM"))
                .isInstanceOf(CommandLine.ParameterException.class)
                .hasMessageContaining("SHUFFLED")
                .hasMessageContaining("KAFKA_ML");
    }

    @Test
    void incrementalAndSemiSupervisedFlagsMapOntoTheSpec() {
        TrainCommand defaults = new TrainCommand();
        new CommandLine(defaults).parseArgs("--configuration", "c");
        io.kafkaml.training.IncrementalSpec plain = defaults.incremental.toSpec();
        assertThat(plain.windowRecords()).isEqualTo(1000);
        assertThat(plain.streamTimeout()).isEqualTo(java.time.Duration.ofSeconds(30));
        assertThat(plain.change()).isEqualTo(io.kafkaml.training.PromotionPolicy.Direction.DOWN);
        assertThat(plain.startFrom()).isEqualTo(io.kafkaml.training.IncrementalSpec.StartFrom.CONTROL);
        assertThat(defaults.unsupervisedRounds).isNull();

        TrainCommand command = new TrainCommand();
        new CommandLine(command)
                .parseArgs(
                        "--configuration",
                        "c",
                        "--window-records",
                        "0",
                        "--window-time",
                        "PT10S",
                        "--stream-timeout",
                        "PT1M",
                        "--max-windows",
                        "5",
                        "--indefinite",
                        "--group-id",
                        "g",
                        "--monitoring-metric",
                        "accuracy",
                        "--improvement",
                        "0.01",
                        "--start-from",
                        "earliest",
                        "--unsupervised-rounds",
                        "3",
                        "--confidence",
                        "0.8");
        io.kafkaml.training.IncrementalSpec spec = command.incremental.toSpec();
        assertThat(spec)
                .isEqualTo(io.kafkaml.training.IncrementalSpec.builder()
                        .windowRecords(0)
                        .windowTime(java.time.Duration.ofSeconds(10))
                        .streamTimeout(java.time.Duration.ofMinutes(1))
                        .maxWindows(5)
                        .indefinite(true)
                        .groupId("g")
                        .monitoring("accuracy", io.kafkaml.training.PromotionPolicy.Direction.UP, 0.01)
                        .startFrom(io.kafkaml.training.IncrementalSpec.StartFrom.EARLIEST)
                        .build());
        assertThat(command.unsupervisedRounds).isEqualTo(3);
        assertThat(command.confidence).isEqualTo(0.8);
    }
}
