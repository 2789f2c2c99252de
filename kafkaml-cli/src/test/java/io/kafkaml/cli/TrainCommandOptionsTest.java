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
}
