package io.kafkaml.benchmarks;

import java.util.List;

/** A benchmark of the suite: measures kafkaml against a baseline in the same run. */
public interface Benchmark {

    /** The name given on the command line. */
    String name();

    /** One line for {@code --help}. */
    String description();

    /**
     * Whether the benchmark runs against the suite's cluster (the embedded broker unless {@code --bootstrap-servers}
     * is given). One that starts brokers of its own says {@code false}: no embedded broker is started for it, and its
     * {@link BenchmarkContext#admin()} is {@code null} unless bootstrap servers were given.
     */
    default boolean usesCluster() {
        return true;
    }

    /**
     * Runs the benchmark and returns its measurements. A result whose extra field {@code valid} is {@code false}
     * (a measurement that broke its guarantee) is printed, then makes the suite exit with status 1.
     */
    List<BenchmarkResult> run(BenchmarkContext context) throws Exception;
}
