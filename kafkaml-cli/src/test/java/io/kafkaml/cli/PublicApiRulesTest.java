package io.kafkaml.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.lang.EvaluationResult;
import io.kafkaml.archfixture.HidesInternals;
import io.kafkaml.archfixture.LeaksInternals;
import io.kafkaml.archfixture.internals.Hidden;
import org.junit.jupiter.api.Test;

/** Shows that {@link PublicApiRules} fails on a leak and passes on internals used privately. */
class PublicApiRulesTest {

    @Test
    void everyKindOfLeakInAPublicSignatureIsReported() {
        JavaClasses classes =
                new ClassFileImporter().importClasses(LeaksInternals.class, LeaksInternals.Nested.class, Hidden.class);
        EvaluationResult result = PublicApiRules.NO_INTERNALS_IN_PUBLIC_SIGNATURES.evaluate(classes);

        assertThat(result.hasViolation()).isTrue();
        assertThat(result.getFailureReport().getDetails())
                .anyMatch(d -> d.contains("Hidden in superclass"))
                .anyMatch(d -> d.contains("Hidden in field exposedField"))
                .anyMatch(d -> d.contains("Hidden in <init>(1 parameters) parameter"))
                .anyMatch(d -> d.contains("Hidden in list(0 parameters) return type"))
                .anyMatch(d -> d.contains("Hidden in bounded(1 parameters) type parameter T"))
                .anyMatch(d -> d.contains("Hidden$Failure in fail(0 parameters) throws"))
                .anyMatch(d -> d.contains("LeaksInternals$Nested exposes"))
                .noneMatch(d -> d.contains("privateField")
                        || d.contains("internal(")
                        || d.contains("archfixture.internals.Hidden exposes"));
    }

    @Test
    void internalsUsedOnlyInBodiesPrivateMembersOrNonPublicTypesPass() {
        JavaClasses classes = new ClassFileImporter().importClasses(HidesInternals.class, Hidden.class);
        EvaluationResult result = PublicApiRules.NO_INTERNALS_IN_PUBLIC_SIGNATURES.evaluate(classes);

        assertThat(result.getFailureReport().getDetails()).isEmpty();
    }
}
