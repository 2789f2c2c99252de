package io.kafkaml.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.benchmarks.InferenceBenchmarks.FirstPrediction.ClassLoads;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * How {@code first-prediction --appcds true} tells that its variant used the archive (review R15): JDK 17's
 * {@code -Xlog:class+load} names the dynamic archive as {@code shared objects file (top)}, the JDK's own base archive
 * without {@code (top)}, and a class read from a jar by its location.
 */
class ClassLoadsTest {

    @Test
    void countsEveryLoadedClassAndThoseFromTheDynamicArchive() {
        List<String> log = List.of(
                "[0.011s][info][class,load] java.lang.Object source: shared objects file",
                "[0.412s][info][class,load] picocli.CommandLine source: shared objects file (top)",
                "[0.413s][info][class,load] io.kafkaml.cli.KafkaMlCli source: shared objects file (top)",
                "[0.700s][info][class,load] io.kafkaml.cli.InferCommand source: file:/opt/kafkaml/kafkaml.jar",
                "[0.701s][info][class,load] jdk.internal.reflect.GeneratedMethodAccessor1 source: __JVM_DefineClass__",
                "[0.702s][warning][cds] some other line");

        assertThat(ClassLoads.of(log)).isEqualTo(new ClassLoads(5, 2));
    }

    @Test
    void aRunWithoutTheArchiveHasNoClassFromIt() {
        List<String> log = List.of(
                "[0.011s][info][class,load] java.lang.Object source: shared objects file",
                "[0.700s][info][class,load] io.kafkaml.cli.InferCommand source: file:/opt/kafkaml/kafkaml.jar");

        assertThat(ClassLoads.of(log).fromArchive()).isZero();
    }
}
