package io.kafkaml.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.stream.StreamSlice;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

class ControlMessageTest {

    /** What Kafka-ML's RAW sink writes: no deployment_id in the JSON, the id as a one-byte key. */
    static final String KAFKA_ML_RAW = """
            {"topic": "hcopd:0:0:120,hcopd:1:0:119", "unsupervised_topic": null, "input_format": "RAW",
             "description": "HCOPD", "dataset_restrictions": "{}",
             "input_config": {"data_type": "float32", "label_type": "uint8", "data_reshape": "3", "label_reshape": ""},
             "validation_rate": 0.1, "test_rate": 0.1, "total_msg": 239, "incremental": false}""";

    @Test
    void readsKafkaMlMessageWithTheDeploymentIdInAOneByteKey() {
        ControlMessage message = ControlMessage.parse(new byte[] {0x07}, bytes(KAFKA_ML_RAW));
        assertThat(message.deploymentId()).isEqualTo("7");
        assertThat(message.slices())
                .containsExactly(StreamSlice.of("hcopd", 0, 0, 120), StreamSlice.of("hcopd", 1, 0, 119));
        assertThat(message.unsupervisedSlices()).isEmpty();
        assertThat(message.inputFormat()).isEqualTo("RAW");
        assertThat(message.inputConfig()).containsEntry("data_type", "float32").containsEntry("label_reshape", "");
        assertThat(message.inputConfigText("data_reshape")).contains("3");
        assertThat(message.validationRate()).isEqualTo(0.1);
        assertThat(message.testRate()).isEqualTo(0.1);
        assertThat(message.totalMessages()).isEqualTo(239);
        assertThat(message.description()).isEqualTo("HCOPD");
        assertThat(message.datasetRestrictions()).contains("{}");
        assertThat(message.incremental()).isFalse();
        assertThat(message.keyBytes()).containsExactly(0x07);
    }

    @Test
    void keysAreBigEndianUnsignedIntegers() {
        assertThat(ControlMessage.deploymentIdFromKey(new byte[] {(byte) 0xff})).isEqualTo("255");
        assertThat(ControlMessage.deploymentIdFromKey(new byte[] {0x01, 0x00})).isEqualTo("256");
        assertThat(ControlMessage.deploymentIdFromKey(new byte[] {0, 0, 0, 42})).isEqualTo("42");
        assertThat(ControlMessage.keyFor("255")).containsExactly(0xff);
        assertThat(ControlMessage.keyFor("256")).containsExactly(0x01, 0x00);
        assertThat(ControlMessage.keyFor("0")).containsExactly(0x00);
        assertThat(ControlMessage.keyFor("hcopd-run")).isEqualTo(bytes("hcopd-run"));
        for (String id : List.of("0", "1", "127", "128", "65535", "4294967296", "18446744073709551615")) {
            assertThat(ControlMessage.deploymentIdFromKey(ControlMessage.keyFor(id)))
                    .isEqualTo(id);
        }
    }

    @Test
    void theJsonDeploymentIdWinsOverTheKey() {
        String json = KAFKA_ML_RAW.replace(
                "\"incremental\": false", "\"incremental\": false, \"deployment_id\": \"hcopd-a\"");
        assertThat(ControlMessage.parse(new byte[] {0x07}, bytes(json)).deploymentId())
                .isEqualTo("hcopd-a");
        String numeric =
                KAFKA_ML_RAW.replace("\"incremental\": false", "\"incremental\": false, \"deployment_id\": 12");
        assertThat(ControlMessage.parse(null, bytes(numeric)).deploymentId()).isEqualTo("12");
    }

    @Test
    void olderSinksConfigurationKeyIsReadAsInputConfig() {
        String json = KAFKA_ML_RAW.replace("\"input_config\"", "\"configuration\"");
        assertThat(ControlMessage.parse(new byte[] {1}, bytes(json)).inputConfig())
                .containsEntry("data_type", "float32");
    }

    @Test
    void unknownKeysAreKeptWhenReSentToAnotherDeployment() {
        String json = KAFKA_ML_RAW.replace(
                "\"incremental\": false",
                "\"incremental\": false, \"sensor\": {\"site\": \"Malaga\", \"ids\": [1, 2]}");
        ControlMessage original = ControlMessage.parse(new byte[] {0x07}, bytes(json));
        ControlMessage reused = original.withDeploymentId("8");
        assertThat(reused.deploymentId()).isEqualTo("8");
        assertThat(reused.keyBytes()).containsExactly(0x08);
        assertThat(reused.extraFields()).containsEntry("sensor", Map.of("site", "Malaga", "ids", List.of(1, 2)));
        ControlMessage reread = ControlMessage.parse(reused.keyBytes(), reused.toJsonBytes());
        assertThat(reread).isEqualTo(reused);
        assertThat(reread.slices()).isEqualTo(original.slices());
        assertThat(reread.inputConfig()).isEqualTo(original.inputConfig());
        assertThat(reread.datasetRestrictions()).isEqualTo(original.datasetRestrictions());
        assertThat(reread.toJson()).contains("\"sensor\":{\"site\":\"Malaga\",\"ids\":[1,2]}");
    }

    @Test
    void builderRoundTripsThroughJson() {
        ControlMessage message = ControlMessage.builder()
                .slices(List.of(StreamSlice.of("iot", 0, 10, 60), StreamSlice.openEnded("iot", 1, 5)))
                .inputFormat("AVRO")
                .inputConfig(Map.of("data_scheme", "{\"type\":\"record\"}", "label_scheme", "{}"))
                .validationRate(0.2)
                .testRate(0.1)
                .totalMessages(50)
                .description("gateway 3")
                .deploymentId("gw-3")
                .field("origin", "kafkaml")
                .build();
        ControlMessage copy = ControlMessage.parse(message.keyBytes(), message.toJsonBytes());
        assertThat(copy).isEqualTo(message);
        assertThat(copy.slices().get(1).isOpenEnded()).isTrue();
        assertThat(copy.extraFields()).containsEntry("origin", "kafkaml");
        assertThat(copy.toBuilder().deploymentId("gw-4").build().deploymentId()).isEqualTo("gw-4");
    }

    @Test
    void reportsEveryBrokenRuleInOneMessage() {
        String json = """
                {"topic": "hcopd:0:0:120", "input_format": "", "validation_rate": 1.5, "test_rate": "0.1",
                 "total_msg": -3}""";
        assertThatThrownBy(() -> ControlMessage.parse(new byte[] {9}, bytes(json)))
                .isInstanceOf(InvalidControlMessageException.class)
                .hasMessageContaining("'input_format' must be a non-empty string")
                .hasMessageContaining("'validation_rate' must be in [0, 1), was 1.5")
                .hasMessageContaining("'test_rate' must be a number in [0, 1), was \"0.1\"")
                .hasMessageContaining("'total_msg' must be >= 0, was -3")
                .satisfies(e -> assertThat(((InvalidControlMessageException) e).deploymentId())
                        .contains("9"));
    }

    @Test
    void ratesTogetherMustLeaveSomethingToTrainOn() {
        assertThatThrownBy(() -> base().validationRate(0.5).testRate(0.5).build())
                .hasMessageContaining("'validation_rate' + 'test_rate' must be below 1");
        assertThat(base().validationRate(0.5).testRate(0.4).build().testRate()).isEqualTo(0.4);
    }

    @Test
    void totalMessagesCannotExceedTheOffsetsTheSlicesSpan() {
        assertThatThrownBy(() -> base().totalMessages(121).build())
                .hasMessageContaining("'total_msg' is 121 but the slices span only 120 offsets");
    }

    @Test
    void malformedSlicesAreReportedWithTheEntry() {
        assertThatThrownBy(() -> base().build().toBuilder()
                        .field("topic", "hcopd:0:0:120,hcopd:1")
                        .build())
                .isInstanceOf(InvalidControlMessageException.class)
                .hasMessageContaining("'topic': Malformed stream slice 'hcopd:1' (entry 2 of 2");
        assertThatThrownBy(() -> base().build().toBuilder().field("topic", "").build())
                .hasMessageContaining("'topic' names no slice");
    }

    @Test
    void aMessageWithoutAnyDeploymentIdIsRejected() {
        assertThatThrownBy(() -> ControlMessage.parse(null, bytes(KAFKA_ML_RAW)))
                .hasMessageContaining("no deployment id: neither a 'deployment_id' field nor a record key");
        assertThatThrownBy(() -> base().deploymentId("has space").build())
                .hasMessageContaining("deployment id 'has space' is not valid");
    }

    @Test
    void errorsFromARecordNameTopicPartitionAndOffset() {
        ConsumerRecord<byte[], byte[]> record = new ConsumerRecord<>(
                "KAFKA_ML_CONTROL_TOPIC", 0, 42L, new byte[] {3}, bytes("{\"topic\": \"hcopd:0:0:1\", oops}"));
        assertThatThrownBy(() -> ControlMessage.fromRecord(record))
                .isInstanceOf(InvalidControlMessageException.class)
                .hasMessageContaining("at KAFKA_ML_CONTROL_TOPIC-0@42: the value is not JSON (line 1, column")
                .satisfies(e -> {
                    InvalidControlMessageException invalid = (InvalidControlMessageException) e;
                    assertThat(invalid.location()).isEqualTo("KAFKA_ML_CONTROL_TOPIC-0@42");
                    assertThat(invalid.deploymentId()).contains("3");
                });
        assertThatThrownBy(() -> ControlMessage.parse(null, bytes("[1, 2]")))
                .hasMessageContaining("must be a JSON object, was [1,2]");
        assertThatThrownBy(() -> ControlMessage.parse(new byte[] {1}, null)).hasMessageContaining("no value");
    }

    private static ControlMessage.Builder base() {
        return ControlMessage.builder()
                .slices(List.of(StreamSlice.of("hcopd", 0, 0, 120)))
                .inputFormat("RAW")
                .totalMessages(120)
                .deploymentId("1");
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
