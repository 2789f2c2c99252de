package io.kafkaml.samples.hcopd;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.TrainingResult;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The runnable example, on its own in-process broker, with few epochs. */
class HcopdExampleIT {

    @Test
    void theExampleTrainsTheThreeModelsAndPrintsTheirMetrics() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        List<TrainingResult> results =
                HcopdExample.run(null, 5, Hcopd.defaultCsv(), new PrintStream(out, true, StandardCharsets.UTF_8));
        assertThat(results).hasSize(3).allSatisfy(r -> assertThat(r.status()).isEqualTo(DeploymentStatus.FINISHED));
        String printed = out.toString(StandardCharsets.UTF_8);
        assertThat(printed)
                .contains("HCOPD: 239 rows, deployment 1 FINISHED")
                .contains("hcopd-paper")
                .contains("test accuracy");
    }
}
