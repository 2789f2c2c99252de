package io.kafkaml.benchmarks;

import java.util.List;

/** A benchmark of the suite: measures kafkaml against a baseline in the same run. */
public interface Benchmark {

    /** The name given on the command line. */
    String name();

    /** One line for {@code --help}. */
    String description();

    /** Runs the benchmark and returns its measurements. */
    List<BenchmarkResult> run(BenchmarkContext context) throws Exception;
}
