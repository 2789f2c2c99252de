package io.kafkaml.testkit;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The one way kafkaml's tests reach the reference data outside the repository: the real data sets of
 * {@code shared/data} (HCOPD, NO3, iris, digits, wine, breast cancer; see its {@code README.md}) and the failing
 * inputs with their expected values of {@code shared/cases}. The build passes their directories to every test JVM
 * (Surefire and Failsafe) as the system properties {@value #DATA_PROPERTY} and {@value #CASES_PROPERTY}
 * ({@code ${maven.multiModuleProjectDirectory}/../shared/data} and {@code .../shared/cases}: the directory beside the
 * checkout); run from an IDE, set the same properties. Nothing is guessed from the working directory: a test whose
 * data is missing fails naming the property and the path it tried.
 *
 * <pre>{@code
 * Path csv = SharedData.data("hcopd", "HCOPD_Dataset.csv");
 * Path bom = SharedData.cases("csv-bom", "bom.csv");
 * }</pre>
 *
 * <p>Stateless and thread-safe.
 */
public final class SharedData {

    /** The system property naming the {@code shared/data} directory. */
    public static final String DATA_PROPERTY = "kafkaml.shared.data";
    /** The system property naming the {@code shared/cases} directory. */
    public static final String CASES_PROPERTY = "kafkaml.shared.cases";

    private SharedData() {}

    /**
     * A file or directory of {@code shared/data}.
     *
     * @throws IllegalStateException if {@value #DATA_PROPERTY} is not set or the path does not exist, naming both
     */
    public static Path data(String first, String... more) {
        return resolve(DATA_PROPERTY, first, more);
    }

    /**
     * A file or directory of {@code shared/cases}.
     *
     * @throws IllegalStateException if {@value #CASES_PROPERTY} is not set or the path does not exist, naming both
     */
    public static Path cases(String first, String... more) {
        return resolve(CASES_PROPERTY, first, more);
    }

    private static Path resolve(String property, String first, String... more) {
        String directory = System.getProperty(property);
        if (directory == null || directory.isBlank()) {
            throw new IllegalStateException("System property " + property + " is not set: the build sets it for "
                    + "Surefire and Failsafe (the parent pom); set it to the shared directory beside the checkout");
        }
        Path path = Path.of(directory, first).resolve(Path.of("", more));
        if (!Files.exists(path)) {
            throw new IllegalStateException("Reference data not found: "
                    + path.toAbsolutePath().normalize() + " (" + property + "=" + directory + ")");
        }
        return path;
    }
}
