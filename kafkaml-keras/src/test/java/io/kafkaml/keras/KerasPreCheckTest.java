package io.kafkaml.keras;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.model.InvalidModelException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The parameter pre-check of a Keras import fails closed: a configuration DL4J cannot translate is refused with
 * DL4J's reason before anything is built (it used to let the import go on, uncounted); one it can translate is
 * counted against {@value KafkaMlConfig#MAX_MODEL_PARAMETERS_CONFIG} before the network is built.
 */
class KerasPreCheckTest {

    private static final Path FILE = Path.of("forged.h5");

    private static String sequential(String layers) {
        return "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": [" + layers + "]}, "
                + "\"keras_version\": \"2.15.0\", \"backend\": \"tensorflow\"}";
    }

    @Test
    void aConfigurationDl4jCannotTranslateIsRefusedWithItsReason() {
        String unknown = sequential("{\"class_name\": \"NoSuchLayer\", \"config\": {\"name\": \"x\"}}");
        assertThatThrownBy(() -> KerasModels.checkParameterCount("m", FILE, "2.15.0", true, unknown, 1_000_000))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageStartingWith("Keras model forged.h5 (Keras 2.15.0, Sequential) cannot be imported by DL4J: ")
                .hasMessageContaining("NoSuchLayer");
        assertThatThrownBy(() -> KerasModels.checkParameterCount("m", FILE, "2.15.0", false, "{\"not\": 1}", 1_000_000))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("cannot be imported by DL4J");
    }
}
