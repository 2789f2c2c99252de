package io.kafkaml.samples.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.dataset.DataSplit;
import io.kafkaml.dataset.SplitOrder;
import io.kafkaml.dataset.StreamDataSets;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import io.kafkaml.testkit.SharedData;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The README's sample, run as it is on the in-process broker with the paper's HCOPD table. */
@ExtendWith(EmbeddedKafkaExtension.class)
class PipelineIT {

    @Test
    void theWholePipelineTrainsBetterThanTheMajorityClassAndServesEveryPatient(EmbeddedKafkaBroker kafka) {
        List<double[]> rows = Pipeline.readHcopd(SharedData.data("hcopd", "HCOPD_Dataset.csv"));
        assertThat(rows).hasSize(239);
        List<double[]> patients = List.of(new double[] {1, 70, 3}, new double[] {0, 30, 1}, new double[] {1, 45, 2});

        Pipeline.Outcome outcome =
                Pipeline.run(Map.of("bootstrap.servers", kafka.bootstrapServers()), rows, patients, 60);

        assertThat(outcome.result().status()).isEqualTo(DeploymentStatus.FINISHED);
        // the test split the deployment tested on (one partition: stream order is the order sent), its majority rate
        DataSplit[] splits = StreamDataSets.splitAssignment(rows.size(), 0.1, 0.1, SplitOrder.SHUFFLED, 42);
        long test = 0;
        long copd = 0;
        for (int i = 0; i < rows.size(); i++) {
            if (splits[i] == DataSplit.TEST) {
                test++;
                copd += rows.get(i)[0] == 1 ? 1 : 0;
            }
        }
        double majority = Math.max(copd, test - copd) / (double) test;
        assertThat(outcome.result().testMetrics().get("accuracy"))
                .as("test accuracy over %d rows", test)
                .isGreaterThan(majority);
        assertThat(outcome.predictions())
                .hasSize(patients.size())
                .allSatisfy(p -> assertThat(p).containsPattern("\"class\":[01]"));
        assertThat(outcome.serving()).contains("dead-lettered 0");

        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        Pipeline.print(outcome, new PrintStream(printed, true, StandardCharsets.UTF_8));
        assertThat(printed.toString(StandardCharsets.UTF_8))
                .contains(outcome.result().id() + " FINISHED");
    }
}
