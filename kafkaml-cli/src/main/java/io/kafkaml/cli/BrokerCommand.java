package io.kafkaml.cli;

import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.registry.ControlLogger;
import io.kafkaml.registry.Registry;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import java.time.Duration;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code kafkaml broker}: a local single-node KRaft broker until interrupted, with the control logger running in
 * the same process (unless {@code --no-control-logger}), so that every data stream announced on the control topic
 * is in the datasource catalog within seconds even when nothing else runs.
 */
@Command(name = "broker", mixinStandardHelpOptions = true,
        description = "Run a local single-node Kafka broker (KRaft) and the control logger until interrupted.")
final class BrokerCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--port", defaultValue = "9092", description = "Client port (default: ${DEFAULT-VALUE}; 0 = free)")
    int port;

    @Option(names = "--data-dir", paramLabel = "DIR", description = "Keep the broker's data here across restarts")
    Path dataDir;

    @Option(names = "--registry-prefix", paramLabel = "PREFIX",
            description = "Registry the control logger writes to (default: $KAFKAML_REGISTRY_PREFIX, else kafkaml)")
    String registryPrefix;

    @Option(names = "--control-topic", paramLabel = "TOPIC",
            description = "Control topic the control logger catalogs (default: $KAFKAML_CONTROL_TOPIC, else "
                    + "KAFKA_ML_CONTROL_TOPIC)")
    String controlTopic;

    @Option(names = "--no-control-logger", description = "Run only the broker (no datasource catalog)")
    boolean noControlLogger;

    @Override
    public Integer call() throws InterruptedException {
        EmbeddedKafkaBroker.Builder builder = EmbeddedKafkaBroker.builder().port(port);
        if (dataDir != null) {
            builder.dataDirectory(dataDir);
        }
        EmbeddedKafkaBroker broker = builder.build().start();
        KafkaMlConfig settings = KafkaMlConfig.fromEnvironment(System.getenv());
        String prefix = registryPrefix != null ? registryPrefix : settings.registryPrefix();
        String topic = controlTopic != null ? controlTopic : settings.controlTopic();
        Registry registry = noControlLogger ? null
                : Registry.connect(broker.clientConfig(), prefix, Duration.ofSeconds(30));
        ControlLogger logger = registry == null ? null : ControlLogger.start(broker.clientConfig(), registry, topic);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (logger != null) {
                logger.close();
                registry.close();
            }
            broker.close();
            stopped.countDown();
        }, "kafkaml-broker-shutdown"));
        spec.commandLine().getOut().println("bootstrap.servers=" + broker.bootstrapServers());
        if (logger != null) {
            spec.commandLine().getOut().println(ControlLoggerCommand.started(topic, prefix));
        }
        spec.commandLine().getOut().flush();
        stopped.await();
        return 0;
    }
}
