package io.kafkaml.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every public type of a public package (not {@code ..internals..}) of every library module says in its class javadoc
 * whether it is thread-safe (STYLE.md 9 and 17; issue 13), and one that is {@code AutoCloseable} says how it is
 * closed. Checked on the sources, so a new public type without it fails the build. Javadoc's own {@code missing}
 * doclint group is not on (it would ask for a comment on every member); this check asks for the class-level rule.
 */
class PublicJavadocTest {

    private static final List<String> LIBRARY_MODULES = List.of(
            "kafkaml-core",
            "kafkaml-raw",
            "kafkaml-avro",
            "kafkaml-keras",
            "kafkaml-k8s",
            "kafkaml-testkit",
            "kafkaml-server");
    /** Words that state a threading rule: "Thread-safe", "Not thread-safe", "Thread safety: ...", "immutable", ... */
    static final Pattern THREADING = Pattern.compile(
            "threading|thread[- ]safe|thread safety|immutable|thread-confined|any thread|any number of threads"
                    + "|one thread|single thread|same thread",
            Pattern.CASE_INSENSITIVE);

    private static final Pattern ANNOTATIONS = Pattern.compile("\\s*(@[\\w.]+(\\([^)]*\\))?\\s*)*", Pattern.DOTALL);

    /** What is missing from one source file's class javadoc, or an empty list. */
    static List<String> missing(String source, String typeName) {
        Matcher declaration = Pattern.compile(
                        "^public\\s+(?:(?:final|abstract|sealed|non-sealed)\\s+)*(class|interface|enum|record)\\s+"
                                + Pattern.quote(typeName) + "\\b[^{]*",
                        Pattern.MULTILINE)
                .matcher(source);
        if (!declaration.find()) {
            return List.of(); // not a public top-level type
        }
        String before = source.substring(0, declaration.start());
        int start = before.lastIndexOf("/**");
        int end = before.lastIndexOf("*/");
        String doc = start >= 0
                        && end > start
                        && ANNOTATIONS.matcher(before.substring(end + 2)).matches()
                ? before.substring(start, end)
                : "";
        List<String> missing = new ArrayList<>();
        if (doc.isEmpty()) {
            missing.add("no class javadoc");
        } else if (!THREADING.matcher(doc).find()) {
            missing.add("no thread-safety statement");
        }
        if (Pattern.compile("\\b(AutoCloseable|Closeable)\\b")
                        .matcher(declaration.group())
                        .find()
                && !doc.toLowerCase(java.util.Locale.ROOT).contains("close")) {
            missing.add("AutoCloseable, but its javadoc does not say how it is closed");
        }
        return missing;
    }

    @Test
    void everyPublicTypeStatesItsThreadSafetyAndACloseableOneItsClosing() throws IOException {
        List<String> offenders = new ArrayList<>();
        int checked = 0;
        for (String module : LIBRARY_MODULES) {
            Path sources = Path.of("..", module, "src", "main", "java");
            assertThat(sources).as("sources of %s", module).isDirectory();
            List<Path> files;
            try (Stream<Path> walk = Files.walk(sources)) {
                files = walk.filter(p -> p.toString().endsWith(".java"))
                        .filter(p -> !p.getFileName().toString().equals("package-info.java"))
                        .filter(p -> !sources.relativize(p).toString().contains("internals"))
                        .sorted()
                        .toList();
            }
            for (Path file : files) {
                String name = file.getFileName().toString().replace(".java", "");
                List<String> missing = missing(Files.readString(file, StandardCharsets.UTF_8), name);
                checked++;
                if (!missing.isEmpty()) {
                    offenders.add(file.normalize() + ": " + String.join("; ", missing));
                }
            }
        }
        assertThat(checked).as("public source files checked").isGreaterThan(100);
        assertThat(offenders)
                .as(
                        "say in the class javadoc whether the type is thread-safe (and, if AutoCloseable, how it is closed)")
                .isEmpty();
    }

    @Test
    void theCheckFindsATypeWithoutAThreadingRule() {
        String without = "package a;\n/**\n * A thing.\n */\npublic final class Thing implements AutoCloseable {}\n";
        assertThat(missing(without, "Thing"))
                .containsExactly(
                        "no thread-safety statement", "AutoCloseable, but its javadoc does not say how it is closed");
        String with = "package a;\n/**\n * A thing.\n *\n * <p>Thread-safe; close() is idempotent.\n */\n"
                + "@Deprecated\npublic final class Thing implements AutoCloseable {}\n";
        assertThat(missing(with, "Thing")).isEmpty();
        assertThat(missing("package a;\npublic record R(int x) {}\n", "R")).containsExactly("no class javadoc");
    }
}
