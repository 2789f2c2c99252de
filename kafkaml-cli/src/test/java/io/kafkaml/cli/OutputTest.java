package io.kafkaml.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OutputTest {

    @Test
    void metricsListLossFirstThenTheOthersAlphabeticallyWithTheValidationPrefix() {
        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put("f1", 0.5);
        metrics.put("recall", 0.25);
        metrics.put("loss", 0.6867);
        metrics.put("accuracy", 0.5417);
        assertThat(Output.metrics(metrics)).isEqualTo("loss=0.6867 accuracy=0.5417 f1=0.5000 recall=0.2500");
        assertThat(Output.metrics(metrics, "val_"))
                .isEqualTo("val_loss=0.6867 val_accuracy=0.5417 val_f1=0.5000 val_recall=0.2500");
        assertThat(Output.metrics(Map.of())).isEmpty();
    }
}
