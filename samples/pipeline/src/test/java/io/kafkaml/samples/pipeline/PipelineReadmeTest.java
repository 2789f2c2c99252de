package io.kafkaml.samples.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** README.md leads with the pipeline sample: its code block is the tested code of {@link Pipeline#run}. */
class PipelineReadmeTest {

    @Test
    void readmeShowsTheSampleAsItIs() throws IOException {
        List<String> source = Files.readAllLines(
                Path.of("src", "main", "java", "io", "kafkaml", "samples", "pipeline", "Pipeline.java"),
                StandardCharsets.UTF_8);
        int begin = indexOf(source, "// readme:begin");
        int end = indexOf(source, "// readme:end");
        String sample = dedent(source.subList(begin + 1, end));
        String readme = Files.readString(Path.of("..", "..", "README.md"), StandardCharsets.UTF_8);
        assertThat(readme)
                .as("README.md holds the lines between the readme markers of Pipeline.java, dedented")
                .contains("```java\n" + sample + "```\n");
    }

    private static int indexOf(List<String> lines, String marker) {
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).strip().startsWith(marker)) {
                return i;
            }
        }
        throw new AssertionError("Pipeline.java has no line " + marker);
    }

    private static String dedent(List<String> lines) {
        int indent = lines.stream()
                .filter(l -> !l.isBlank())
                .mapToInt(l -> l.length() - l.stripLeading().length())
                .min()
                .orElse(0);
        return lines.stream()
                .map(l -> l.isBlank() ? "" : l.substring(indent))
                .collect(Collectors.joining("\n", "", "\n"));
    }
}
