package io.kafkaml.inference;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kafkaml.model.OutputKind;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Predictions are JSON a strict parser reads, whatever the network outputs. */
class PredictionJsonTest {

    private static final ObjectMapper STRICT =
            new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private static JsonNode parse(float[] values, OutputKind kind) throws IOException {
        byte[] json = ServedModel.predictionJson(values, 1, values.length - 1, kind, 0.5);
        return STRICT.readTree(new String(json, StandardCharsets.UTF_8)); // fails on NaN, Infinity, junk
    }

    @Test
    void finiteOutputsAreWrittenAsBeforeWithTheirClass() throws IOException {
        float[] values = {9f, 0.000335f, 0.999665f}; // offset 1: the 9 belongs to another row
        assertThat(new String(
                        ServedModel.predictionJson(values, 1, 2, OutputKind.MULTI_CLASS, 0.5), StandardCharsets.UTF_8))
                .isEqualTo("{\"values\":[3.35E-4,0.999665],\"class\":1}");
        assertThat(parse(new float[] {0, 0.7f}, OutputKind.BINARY).get("class").asInt())
                .isEqualTo(1);
        assertThat(parse(new float[] {0, 0.7f, 0.2f, 0.9f}, OutputKind.MULTI_LABEL)
                        .get("classes")
                        .toString())
                .isEqualTo("[0,2]");
        assertThat(parse(new float[] {0, -3.5f}, OutputKind.REGRESSION).toString())
                .isEqualTo("{\"values\":[-3.5]}");
    }

    @Test
    void nanAndInfinitiesAreNullAndTakeNoPartInTheClass() throws IOException {
        JsonNode multi = parse(new float[] {0, Float.NaN, 0.2f, Float.NEGATIVE_INFINITY, 0.1f}, OutputKind.MULTI_CLASS);
        assertThat(multi.get("values").toString()).isEqualTo("[null,0.2,null,0.1]");
        assertThat(multi.get("class").asInt()).isEqualTo(1);

        JsonNode allNaN = parse(new float[] {0, Float.NaN, Float.NaN}, OutputKind.MULTI_CLASS);
        assertThat(allNaN.get("class").isNull()).isTrue();

        JsonNode binary = parse(new float[] {0, Float.NaN}, OutputKind.BINARY);
        assertThat(binary.get("values").get(0).isNull()).isTrue();
        assertThat(binary.get("class").isNull()).isTrue();

        JsonNode labels = parse(new float[] {0, Float.POSITIVE_INFINITY, 0.9f, Float.NaN}, OutputKind.MULTI_LABEL);
        assertThat(labels.get("classes").toString()).isEqualTo("[1]");

        JsonNode regression = parse(new float[] {0, Float.POSITIVE_INFINITY}, OutputKind.REGRESSION);
        assertThat(regression.toString()).isEqualTo("{\"values\":[null]}");
    }
}
