package io.kafkaml.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.config.KafkaMlConfig;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

class BoundedDecoderTest {

    @Test
    void aRecordOverTheByteLimitIsRefusedBeforeParsingNamingTheSettingAndItsLocation() {
        RecordDecoder decoder = RecordFormats.bounded(new JsonFormat().newDecoder(Map.of("data_reshape", "2")), 16);
        float[] features = new float[2];
        decoder.decodeFeatures(null, "[1.5, 2]".getBytes(StandardCharsets.UTF_8), features, 0);
        assertThat(features).containsExactly(1.5f, 2f);

        // 17 bytes of text that is not even JSON: the limit is checked before the bytes are parsed
        byte[] big = "[1, 2, 3, 4, 5, 6".getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> decoder.decodeFeatures(null, big, features, 0))
                .isInstanceOf(RecordDecodeException.class)
                .hasMessageContaining("17 bytes")
                .hasMessageContaining("limit of 16 bytes per record (kafkaml.max.record.bytes)");
        // the key counts too
        byte[] key = new byte[11]; // 11 + 6 = 17 bytes
        assertThatThrownBy(() -> decoder.decodeLabels(key, "[1, 2]".getBytes(StandardCharsets.UTF_8), features, 0))
                .isInstanceOf(RecordDecodeException.class)
                .hasMessageContaining("16 bytes per record");
        assertThatThrownBy(() -> decoder.decodeFeatures(null, big, features, 0))
                .isInstanceOfSatisfying(
                        RecordDecodeException.class,
                        refused -> assertThat(refused.at("images", 3, 42L).getMessage())
                                .startsWith("Cannot decode record images-3@42: the record holds 17 bytes")
                                .doesNotContain("\n"));
        assertThat(decoder.featureCount()).isEqualTo(2);
    }

    @Test
    void theLimitIsReadFromSettingsValidatedAndDefaulted() {
        assertThat(KafkaMlConfig.maxRecordBytes(Map.of())).isEqualTo(KafkaMlConfig.DEFAULT_MAX_RECORD_BYTES);
        assertThat(KafkaMlConfig.maxRecordBytes(Map.of(KafkaMlConfig.MAX_RECORD_BYTES_CONFIG, "1024")))
                .isEqualTo(1024L);
        assertThatThrownBy(() -> KafkaMlConfig.maxRecordBytes(Map.of(KafkaMlConfig.MAX_RECORD_BYTES_CONFIG, "0")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(KafkaMlConfig.MAX_RECORD_BYTES_CONFIG);
        assertThat(KafkaMlConfig.maxRecordValues(Map.of(KafkaMlConfig.MAX_RECORD_VALUES_CONFIG, 7L)))
                .isEqualTo(7L);
    }
}
