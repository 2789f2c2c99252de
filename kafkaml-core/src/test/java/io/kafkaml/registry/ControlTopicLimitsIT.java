package io.kafkaml.registry;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.control.ControlChannel;
import io.kafkaml.control.ControlMessage;
import io.kafkaml.control.ControlTopicState;
import io.kafkaml.stream.StreamSlice;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@value KafkaMlConfig#MAX_CONTROL_MESSAGES_CONFIG} bounds what the scan for deployment ids reads and what the
 * control logger catalogs, however many control messages the topic holds.
 */
@ExtendWith(EmbeddedKafkaExtension.class)
class ControlTopicLimitsIT {

    private static ControlMessage message(String deploymentId) {
        return ControlMessage.builder()
                .slices(List.of(StreamSlice.of("data", 0, 0, 10)))
                .inputFormat("RAW")
                .totalMessages(10)
                .deploymentId(deploymentId)
                .build();
    }

    private static Map<String, Object> limitedTo(EmbeddedKafkaBroker kafka, int messages) {
        Map<String, Object> limited = new HashMap<>(kafka.clientConfig());
        limited.put(KafkaMlConfig.MAX_CONTROL_MESSAGES_CONFIG, String.valueOf(messages));
        return limited;
    }

    @Test
    void theDeploymentIdScanReadsOnlyTheNewestMessagesOverTheLimit(EmbeddedKafkaBroker kafka) {
        kafka.createTopic("limits-scan", 1);
        try (ControlChannel control = ControlChannel.create(kafka.clientConfig(), "limits-scan")) {
            for (int id = 105; id > 100; id--) { // offsets 0..4 hold ids 105..101
                control.publish(message(String.valueOf(id)), Duration.ofSeconds(10));
            }
            assertThat(control.readState(Duration.ofSeconds(10)).maxNumericDeploymentId())
                    .isEqualTo(105);
        }
        try (ControlChannel control = ControlChannel.create(limitedTo(kafka, 3), "limits-scan")) {
            ControlTopicState state = control.readState(Duration.ofSeconds(10));
            assertThat(state.maxNumericDeploymentId()).isEqualTo(103); // the newest 3: 103, 102, 101
            assertThat(state.end().endOffsets()).containsEntry(0, 5L);
        }
    }

    @Test
    void theControlLoggerCatalogsAtMostTheLimit(EmbeddedKafkaBroker kafka) {
        kafka.createTopic("limits-logger", 1);
        Map<String, Object> limited = limitedTo(kafka, 3);
        try (ControlChannel control = ControlChannel.create(kafka.clientConfig(), "limits-logger")) {
            for (int id = 1; id <= 5; id++) {
                control.publish(message(String.valueOf(id)), Duration.ofSeconds(10));
            }
            try (Registry registry = Registry.connect(kafka.clientConfig(), "limits", Duration.ofSeconds(30));
                    ControlLogger logger = ControlLogger.start(limited, registry, "limits-logger")) {
                // offsets 0 and 1 are beyond the limit: the newest 3 are cataloged
                Awaitility.await().atMost(30, TimeUnit.SECONDS).until(() -> logger.recorded() == 3);
                assertThat(registry.datasources())
                        .extracting(Datasource::id)
                        .containsExactly("limits-logger-0-2", "limits-logger-0-3", "limits-logger-0-4");
                // the catalog is full: a new message is counted, not recorded
                control.publish(message("6"), Duration.ofSeconds(10));
                Awaitility.await().atMost(30, TimeUnit.SECONDS).until(() -> logger.notRecorded() == 1);
                assertThat(registry.datasources()).hasSize(3);
                assertThat(logger.recorded()).isEqualTo(3);
            }
        }
    }
}
