package io.kafkaml.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * Checks {@link PublicApiRules} against every library module's main classes. It lives in the CLI module because
 * the CLI depends on all of them (core, raw, avro, keras, k8s, server, testkit).
 */
class PublicApiTest {

    @Test
    void noPublicSignatureOfAnyLibraryModuleExposesAnInternalsType() {
        JavaClasses classes = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("io.kafkaml");
        // the import saw every library module, not only this one
        assertThat(classes.stream().map(c -> c.getPackageName()))
                .contains(
                        "io.kafkaml",
                        "io.kafkaml.format.raw",
                        "io.kafkaml.format.avro",
                        "io.kafkaml.keras",
                        "io.kafkaml.k8s",
                        "io.kafkaml.server",
                        "io.kafkaml.testkit");
        PublicApiRules.NO_INTERNALS_IN_PUBLIC_SIGNATURES.check(classes);
    }
}
