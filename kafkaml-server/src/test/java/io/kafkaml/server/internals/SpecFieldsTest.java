package io.kafkaml.server.internals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.kafkaml.training.Normalization;
import io.kafkaml.training.TrainingSpec;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SpecFieldsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static Map<String, Object> check(String spec) throws Exception {
        return SpecFields.check(JSON.readTree(spec), JSON);
    }

    private static void refused(String spec, String... reason) {
        assertThatThrownBy(() -> check(spec))
                .isInstanceOfSatisfying(
                        ApiException.class, e -> assertThat(e.status()).isEqualTo(400))
                .hasMessageContainingAll(reason)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("java.", "Exception", "enum constant"));
    }

    @Test
    void choicesAreReadAsTheCommandLineWritesThem() throws Exception {
        assertThat(TrainingSpec.fromMap(check("{\"normalization\": \"standardize\", \"epochs\": 3}"))
                        .normalization())
                .isEqualTo(Normalization.STANDARDIZE);
        assertThat(TrainingSpec.fromMap(check("{\"normalization\": \"min-max\"}"))
                        .normalization())
                .isEqualTo(Normalization.MIN_MAX);
        assertThat(TrainingSpec.fromMap(check("{\"normalization\": \"MIN_MAX\"}"))
                        .normalization())
                .isEqualTo(Normalization.MIN_MAX);
        assertThat(TrainingSpec.fromMap(check("{\"shuffle\": true, \"epochs\": 2.0}"))
                        .epochs())
                .isEqualTo(2);
        assertThat(check("{\"normalization\": null}")).isEmpty(); // the default
        assertThat(check("null")).isEmpty();
    }

    @Test
    void wrongTypesAreNamedWithTheValueSent() {
        refused("{\"epochs\": \"many\"}", "spec.epochs must be an integer", "\"many\"");
        refused("{\"epochs\": 2.7}", "spec.epochs must be an integer", "2.7");
        refused("{\"shuffle\": \"yes\"}", "spec.shuffle must be true or false");
        refused("{\"shuffle\": 1}", "spec.shuffle must be true or false");
        refused("{\"incremental\": true}", "spec.incremental must be a JSON object");
        refused("{\"semiSupervised\": \"yes\"}", "spec.semiSupervised must be a JSON object");
        refused("{\"normalization\": \"zscore\"}", "spec.normalization must be one of", "standardize", "min-max");
        refused("{\"normalization\": 3}", "spec.normalization must be one of");
        refused("{\"earlyStoppingPatience\": 3}", "needs spec.earlyStoppingMetric");
        refused("{\"epochz\": 5}", "[epochz]", "epochs");
        refused("\"x\"", "Field 'spec' must be a JSON object");
    }

    @Test
    void theIncrementalAndSemiSupervisedObjectsAreCheckedKeyByKey() throws Exception {
        // review R9: a typo or a wrong type inside a nested object no longer trains with the defaults
        refused(
                "{\"incremental\": {\"indefinte\": true, \"windowRecord\": 500}}",
                "spec.incremental.indefinte",
                "spec.incremental.windowRecord",
                "windowRecords");
        refused("{\"incremental\": {\"indefinite\": \"yes\"}}", "spec.incremental.indefinite must be true or false");
        refused("{\"incremental\": {\"indefinite\": 1}}", "spec.incremental.indefinite must be true or false");
        refused("{\"incremental\": {\"windowRecords\": \"500\"}}", "spec.incremental.windowRecords must be an integer");
        refused("{\"incremental\": {\"improvement\": \"0.1\"}}", "spec.incremental.improvement must be a number");
        refused(
                "{\"incremental\": {\"change\": \"sideways\"}}",
                "spec.incremental.change must be one of",
                "up",
                "down");
        refused(
                "{\"incremental\": {\"badRecordPolicy\": \"ignore\"}}",
                "spec.incremental.badRecordPolicy must be one of",
                "skip");
        refused("{\"incremental\": {\"monitoringMetric\": 3}}", "spec.incremental.monitoringMetric must be");
        refused(
                "{\"semiSupervised\": {\"rounds\": 2, \"confidence\": 0.9, \"round\": 1}}",
                "spec.semiSupervised.round",
                "confidence",
                "rounds");
        refused(
                "{\"semiSupervised\": {\"rounds\": 2.5, \"confidence\": 0.9}}",
                "spec.semiSupervised.rounds must be an integer");
        refused(
                "{\"semiSupervised\": {\"rounds\": 2, \"confidence\": \"high\"}}",
                "spec.semiSupervised.confidence must be a number");
        refused("{\"semiSupervised\": {\"rounds\": 2}}", "spec.semiSupervised.confidence is required");
        // choices in the command line's spelling, and the whole object read back as sent
        TrainingSpec spec =
                TrainingSpec.fromMap(check("{\"incremental\": {\"indefinite\": true, \"windowRecords\": 500,"
                        + " \"change\": \"up\", \"badRecordPolicy\": \"skip\", \"monitoringMetric\": \"accuracy\","
                        + " \"windowTimeMs\": null, \"startFrom\": \"earliest\"}, \"semiSupervised\": {\"rounds\": 2,"
                        + " \"confidence\": 0.9}}"));
        assertThat(spec.incremental().indefinite()).isTrue();
        assertThat(spec.incremental().windowRecords()).isEqualTo(500);
        assertThat(spec.incremental().startFrom()).isEqualTo(io.kafkaml.training.IncrementalSpec.StartFrom.EARLIEST);
        assertThat(spec.incremental().toMap())
                .containsEntry("change", "UP")
                .containsEntry("badRecordPolicy", "SKIP")
                .containsEntry("monitoringMetric", "accuracy");
        assertThat(spec.semiSupervised().rounds()).isEqualTo(2);
    }

    @Test
    void everyIncrementalSettingTheSpecWritesIsKnown() {
        assertThat(SpecFields.incrementalFields())
                .containsAll(io.kafkaml.training.IncrementalSpec.builder()
                        .groupId("g")
                        .windowTime(java.time.Duration.ofSeconds(1))
                        .deadLetterTopic("dlq")
                        .build()
                        .toMap()
                        .keySet());
    }

    @Test
    void everyFieldTheSpecWritesIsKnown() {
        assertThat(TrainingSpec.fieldNames())
                .containsAll(TrainingSpec.builder().build().toMap().keySet());
    }
}
