package io.kafkaml.cli;

import io.kafkaml.inference.LocalInference;
import io.kafkaml.registry.Registry;
import java.io.PrintWriter;
import java.time.Duration;

/**
 * How {@code kafkaml infer} and {@code kafkaml worker} (role infer) live and die: they serve until the inference
 * deployment FAILs (exit 1, the reason on stderr), is stopped for every process ({@code kafkaml inferences stop}:
 * exit 0) or a SIGTERM/SIGINT comes (this process leaves; if it owns the deployment while others serve it, it hands
 * ownership over to them); then the replicas finish or abandon
 * their batches and the process exits 0 within the shutdown grace, even when no broker can be reached (a
 * watchdog halts the JVM when the grace has passed).
 */
final class InferenceProcess {

    private InferenceProcess() {}

    /** Serves until FAILED (returns 1) or a signal (the JVM halts from the shutdown hook). */
    static int serve(
            LocalInference inference,
            Registry registry,
            Duration grace,
            PrintWriter out,
            PrintWriter err,
            String label) {
        Thread hook = new Thread(
                () -> {
                    Thread watchdog = new Thread(
                            () -> {
                                try {
                                    Thread.sleep(grace.toMillis());
                                } catch (InterruptedException e) {
                                    return;
                                }
                                out.println("stopped " + label + " after the shutdown grace of " + grace.toMillis()
                                        + " ms, abandoning what was unfinished: " + inference.stats());
                                out.flush();
                                Runtime.getRuntime().halt(inference.state() == LocalInference.State.FAILED ? 1 : 0);
                            },
                            "kafkaml-shutdown-watchdog");
                    watchdog.setDaemon(true);
                    watchdog.start();
                    // close(grace) returns within what it is given (replicas, then the registry record); leave a little
                    // of
                    // the grace for closing the registry client and the output
                    inference.close(grace.multipliedBy(9).dividedBy(10));
                    registry.close();
                    out.println("stopped " + label + ": " + inference.stats());
                    out.flush();
                    // Every batch is finished and committed (or abandoned to be predicted again): a requested stop is a
                    // success, not the JVM's 143.
                    Runtime.getRuntime().halt(inference.state() == LocalInference.State.FAILED ? 1 : 0);
                },
                "kafkaml-inference-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        while (!inference.awaitTermination(Duration.ofDays(1))) {
            // serve until FAILED or stopped by the hook
        }
        if (inference.state() == LocalInference.State.FAILED) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                return 1; // already shutting down: the hook exits
            }
            err.println("kafkaml: inference " + label + " FAILED: " + inference.failure());
            err.flush();
            registry.close();
            return 1;
        }
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
            // stopped for every process ('kafkaml inferences stop', or by another process's stop): a success
            registry.close();
            out.println("stopped " + label + " (the deployment was stopped): " + inference.stats());
            out.flush();
            return 0;
        } catch (IllegalStateException e) {
            // a signal came: the hook stops it and halts the JVM
        }
        try {
            Thread.currentThread().join(); // stopped by the hook, which halts the JVM
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }
}
