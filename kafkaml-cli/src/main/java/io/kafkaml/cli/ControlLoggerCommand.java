package io.kafkaml.cli;

import io.kafkaml.registry.ControlLogger;
import io.kafkaml.registry.Registry;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kafkaml control-logger}: the always-on datasource catalog. Copies every control message of the control
 * topic into the registry until stopped (SIGTERM/SIGINT), so that {@code datasources list} shows a stream within
 * seconds of its control message, whoever sent it ({@code kafkaml send}, a {@code DataSink}, Kafka-ML's sinks).
 * Restarting it is harmless: it re-reads the topic and skips what is already recorded.
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
        Registry registry = client.registry();
        ControlLogger logger = ControlLogger.start(client.clientConfig(), registry, topic);
        PrintWriter out = spec.commandLine().getOut();
        runUntilShutdown(out, logger, registry, topic, client.registryPrefix());
        return 0;
    }

    /** Prints that the logger runs, then waits until the JVM shuts down, closing the logger and registry then. */
    static void runUntilShutdown(
            PrintWriter out, ControlLogger logger, AutoCloseable registry, String topic, String prefix)
            throws InterruptedException {
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            logger.close();
                            try {
                                registry.close();
                            } catch (Exception e) {
                                out.println("control-logger: closing the registry failed: " + e.getMessage());
                            }
                            out.println("control-logger stopped: " + logger.recorded() + " data stream(s) cataloged, "
                                    + logger.malformed() + " malformed control message(s) skipped");
                            out.flush();
                            stopped.countDown();
                        },
                        "kafkaml-control-logger-shutdown"));
        out.println(started(topic, prefix));
        out.flush();
        stopped.await();
    }

    /** The line printed once the logger runs. */
    static String started(String topic, String prefix) {
        return "control-logger cataloging control topic " + topic + " into registry " + prefix;
    }
}
