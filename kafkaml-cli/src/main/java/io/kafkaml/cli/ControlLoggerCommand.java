package io.kafkaml.cli;

import io.kafkaml.KafkaMl;
import io.kafkaml.common.KafkaAccessException;
import io.kafkaml.common.KafkaMlException;
import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.registry.ControlLogger;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kafkaml control-logger}: the always-on datasource catalog. Copies every control message of the control
 * topic into the registry until stopped (SIGTERM/SIGINT), so that {@code datasources list} shows a stream within
 * seconds of its control message, whoever sent it ({@code kafkaml send}, a {@code DataSink}, Kafka-ML's sinks).
 * Restarting it is harmless: it re-reads the topic and skips what is already recorded. It runs a launcher-less
 * {@link KafkaMl} with its control logger. A refusal by the broker (no {@code READ} on the control topic, no
 * {@code WRITE} on the registry, bad credentials), when it starts or while it runs, that lasts
 * {@value io.kafkaml.config.KafkaMlConfig#CONTROL_LOGGER_REFUSAL_RETRY_MS_CONFIG} (default 30 s) ends it with one line
 * naming the principal, the resource and the operation, and exit status 1; so does any other end of the logger's
 * thread (an {@link Error}), with its reason. SIGTERM/SIGINT ends it with status 0 once the logger has stopped.
 */
@Command(
        name = "control-logger",
        mixinStandardHelpOptions = true,
        description = "Catalog every data stream announced on the control topic in the registry, until stopped.")
final class ControlLoggerCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ClientOptions client;

    @Option(
            names = "--control-topic",
            paramLabel = "TOPIC",
            description = "The control topic (default: $KAFKAML_CONTROL_TOPIC, else KAFKA_ML_CONTROL_TOPIC)")
    String controlTopic;

    @Override
    public Integer call() throws InterruptedException {
        String topic = client.controlTopic(controlTopic);
        if (!client.verbose) {
            // a refusal is this command's one-line error (and exit status 1), not also a log line
            org.apache.logging.log4j.core.config.Configurator.setLevel(
                    ControlLogger.class.getName() + ".failure", org.apache.logging.log4j.Level.OFF);
        }
        KafkaMl ml = startRetryingRefusals(
                () -> client.cataloger(topic),
                client.settings().originals(),
                spec.commandLine().getErr());
        PrintWriter out = spec.commandLine().getOut();
        runUntilShutdown(out, ml, topic, client.registryPrefix());
        return 0;
    }

    /**
     * Starts the cataloger with {@code start}, retrying a refusal by the broker (no ACL on the registry topics yet, a
     * SCRAM user not yet known to every broker) for {@value
     * io.kafkaml.config.KafkaMlConfig#CONTROL_LOGGER_REFUSAL_RETRY_MS_CONFIG}, as the running logger retries its own
     * refusals: ACLs and credentials reach the brokers asynchronously. Each retry prints one line on {@code err}.
     *
     * @throws KafkaMlException the last refusal (a {@link KafkaAccessException}, or a registry error caused by one)
     *     once the retry time is spent; any other failure at once
     * @throws InterruptedException when interrupted while waiting for the next try
     */
    static KafkaMl startRetryingRefusals(Supplier<KafkaMl> start, Map<String, ?> settings, PrintWriter err)
            throws InterruptedException {
        long retryMs = KafkaMlConfig.controlLoggerRefusalRetryMs(settings);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(retryMs);
        long backoffMs = 1_000;
        for (int refusals = 1; ; refusals++) {
            try {
                return start.get();
            } catch (KafkaMlException e) {
                if (KafkaAccessException.find(e, settings, "DESCRIBE").isEmpty()) {
                    throw e; // not a refusal: retrying would not help
                }
                long leftMs = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (leftMs <= 0) {
                    throw e;
                }
                long waitMs = Math.min(backoffMs, leftMs);
                err.println("control-logger: the broker refused the registry (" + refusals + " in a row; final after "
                        + retryMs + " ms, " + KafkaMlConfig.CONTROL_LOGGER_REFUSAL_RETRY_MS_CONFIG + "); retrying in "
                        + waitMs + " ms: " + e.getMessage());
                err.flush();
                Thread.sleep(waitMs);
                backoffMs = Math.min(backoffMs * 2, 5_000);
            }
        }
    }

    /**
     * Prints that the control logger of {@code ml} runs, then waits until the JVM shuts down (closing {@code ml} then)
     * or the logger stops on its own.
     *
     * @throws KafkaAccessException when the broker refused the logger (after closing {@code ml})
     * @throws KafkaMlException when the logger's thread ended otherwise without a shutdown (after closing {@code ml})
     */
    static void runUntilShutdown(PrintWriter out, KafkaMl ml, String topic, String prefix) throws InterruptedException {
        ControlLogger logger = ml.controlLogger().orElseThrow();
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = SignalExit.install("kafkaml-control-logger-shutdown", out, () -> {
            try {
                ml.close(); // a failure is printed by the hook and makes the exit status 1
            } finally {
                out.println("control-logger stopped: " + logger.recorded() + " data stream(s) cataloged, "
                        + logger.malformed() + " malformed control message(s) skipped");
                out.flush();
                stopped.countDown();
            }
        });
        out.println(started(topic, prefix));
        out.flush();
        while (!logger.awaitTermination(Duration.ofSeconds(1))) {
            // ends when the hook closes it, or on its own when the broker refuses it
        }
        // ended, and not by the hook: a refusal, or the thread died of something else (an Error, an interrupt)
        Optional<Throwable> stoppedBy = logger.stoppedBy();
        if (stopped.getCount() > 0) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                stopped.await(); // the JVM is shutting down already: the hook closes everything
                return;
            }
            closeQuietly(out, ml);
            Optional<KafkaAccessException> refused = logger.failure();
            if (refused.isPresent()) {
                throw refused.get();
            }
            throw new KafkaMlException("the control logger stopped unexpectedly: "
                    + stoppedBy.map(Throwable::toString).orElse("its thread ended") + "; nothing more is cataloged");
        }
        stopped.await();
    }

    private static void closeQuietly(PrintWriter out, KafkaMl ml) {
        try {
            ml.close();
        } catch (RuntimeException e) {
            out.println("control-logger: closing failed: " + e.getMessage());
        }
    }

    /** The line printed once the logger runs. */
    static String started(String topic, String prefix) {
        return "control-logger cataloging control topic " + topic + " into registry " + prefix;
    }
}
