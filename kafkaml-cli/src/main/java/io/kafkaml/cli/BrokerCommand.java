package io.kafkaml.cli;

import io.kafkaml.KafkaMl;
import io.kafkaml.common.KafkaMlException;
import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.registry.ControlLogger;
import io.kafkaml.testkit.BrokerSecurity;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kafkaml broker}: a local single-node KRaft broker until interrupted, with the control logger running in
 * the same process (unless {@code --no-control-logger}), so that every data stream announced on the control topic
 * is in the datasource catalog within seconds even when nothing else runs.
 */
@Command(
        name = "broker",
        mixinStandardHelpOptions = true,
        description = "Run a local single-node Kafka broker (KRaft) and the control logger until interrupted.")
final class BrokerCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--port", defaultValue = "9092", description = "Client port (default: ${DEFAULT-VALUE}; 0 = free)")
    int port;

    @Option(names = "--data-dir", paramLabel = "DIR", description = "Keep the broker's data here across restarts")
    Path dataDir;

    @Option(
            names = "--registry-prefix",
            paramLabel = "PREFIX",
            description = "Registry the control logger writes to (default: $KAFKAML_REGISTRY_PREFIX, else kafkaml)")
    String registryPrefix;

    @Option(
            names = "--control-topic",
            paramLabel = "TOPIC",
            description = "Control topic the control logger catalogs (default: $KAFKAML_CONTROL_TOPIC, else "
                    + "KAFKA_ML_CONTROL_TOPIC)")
    String controlTopic;

    @Option(names = "--no-control-logger", description = "Run only the broker (no datasource catalog)")
    boolean noControlLogger;

    @Option(
            names = "--security",
            description = "Secure the broker: one SASL_SSL listener (SCRAM-SHA-512 and PLAIN "
                    + "over TLS with a certificate authority generated now), the standard authorizer with ACLs, super user "
                    + "'admin'; writes client properties files and prints their paths")
    boolean security;

    @Option(
            names = "--scram-user",
            paramLabel = "NAME:PASSWORD",
            description = "With --security: a SCRAM-SHA-512 user created through the Admin API (no ACL: grant with "
                    + "kafka-acls.sh --command-config <admin properties>); repeatable")
    java.util.List<String> scramUsers = new java.util.ArrayList<>();

    @Option(
            names = "--security-dir",
            paramLabel = "DIR",
            description = "With --security: where the client properties files go (default: a new temporary directory)")
    Path securityDir;

    @Option(
            names = "--verbose",
            description = "Show the broker's startup warnings too (a fresh broker's empty " + "metadata log, normal)")
    boolean verbose;

    /** The controller logs its normal first activation as a WARN; kept off the terminal unless --verbose. */
    private static final String CONTROLLER_LOGGER = "org.apache.kafka.controller.QuorumController";

    @Override
    public Integer call() throws InterruptedException {
        EmbeddedKafkaBroker.Builder builder = EmbeddedKafkaBroker.builder().port(port);
        if (dataDir != null) {
            builder.dataDirectory(dataDir);
        }
        if (!security && (!scramUsers.isEmpty() || securityDir != null)) {
            throw new picocli.CommandLine.ParameterException(
                    spec.commandLine(), "--scram-user and --security-dir need --security");
        }
        if (security) {
            builder.security(BrokerSecurity.builder().build());
        }
        if (!verbose) {
            org.apache.logging.log4j.core.config.Configurator.setLevel(
                    CONTROLLER_LOGGER, org.apache.logging.log4j.Level.ERROR);
        }
        EmbeddedKafkaBroker broker = builder.build().start();
        if (!verbose) {
            // started: the controller's later warnings are the record of the process again
            org.apache.logging.log4j.core.config.Configurator.setLevel(
                    CONTROLLER_LOGGER, org.apache.logging.log4j.Level.WARN);
        }
        java.util.List<String> propertiesFiles;
        try {
            propertiesFiles = security ? writeClientProperties(broker) : java.util.List.of();
        } catch (RuntimeException | IOException e) {
            broker.close();
            throw new KafkaMlException("Could not set up the secured broker's users: " + e.getMessage(), e);
        }
        KafkaMlConfig settings = KafkaMlConfig.fromEnvironment(System.getenv());
        String prefix = registryPrefix != null ? registryPrefix : settings.registryPrefix();
        String topic = controlTopic != null ? controlTopic : settings.controlTopic();
        KafkaMl catalog = null;
        if (!noControlLogger) {
            java.util.Map<String, Object> catalogSettings = new java.util.HashMap<>(broker.clientConfig());
            catalogSettings.put(KafkaMlConfig.REGISTRY_PREFIX_CONFIG, prefix);
            catalogSettings.put(KafkaMlConfig.CONTROL_TOPIC_CONFIG, topic);
            catalog = KafkaMl.builder(catalogSettings)
                    .withoutLauncher()
                    .controlLogger(true)
                    .registryTimeout(Duration.ofSeconds(30))
                    .build()
                    .start();
        }
        KafkaMl logger = catalog;
        CountDownLatch stopped = new CountDownLatch(1);
        SignalExit.install("kafkaml-broker-shutdown", spec.commandLine().getOut(), () -> {
            try {
                SignalExit.closeAll(logger, broker); // the broker is closed even when the logger's close failed
            } finally {
                stopped.countDown();
            }
        });
        spec.commandLine().getOut().println("bootstrap.servers=" + broker.bootstrapServers());
        for (String line : propertiesFiles) {
            spec.commandLine().getOut().println(line);
        }
        if (logger != null) {
            spec.commandLine().getOut().println(ControlLoggerCommand.started(topic, prefix));
        }
        spec.commandLine().getOut().flush();
        // the broker runs on if its catalog's logger stops on its own (a refusal, an Error): say so once
        ControlLogger catalogLogger =
                logger == null ? null : logger.controlLogger().orElse(null);
        while (!stopped.await(1, java.util.concurrent.TimeUnit.SECONDS)) {
            java.util.Optional<Throwable> failed =
                    catalogLogger == null ? java.util.Optional.empty() : catalogLogger.stoppedBy();
            if (failed.isPresent()) {
                spec.commandLine()
                        .getErr()
                        .println("kafkaml broker: control-logger FAILED, the datasource catalog is no longer "
                                + "updated (the broker runs on): "
                                + (failed.get() instanceof io.kafkaml.common.KafkaAccessException refused
                                        ? refused.getMessage()
                                        : failed.get().toString()));
                spec.commandLine().getErr().flush();
                catalogLogger = null;
            }
        }
        return 0;
    }

    /** Creates the SCRAM users and writes one {@code <user>.properties} per user; returns the lines to print. */
    private java.util.List<String> writeClientProperties(EmbeddedKafkaBroker broker) throws IOException {
        Path dir = securityDir != null
                ? Files.createDirectories(securityDir)
                : Files.createTempDirectory("kafkaml-broker-security-");
        java.util.List<String> lines = new java.util.ArrayList<>();
        String admin = broker.security().superUser();
        lines.add("client properties (super user " + admin + "): " + write(dir, admin, broker.clientConfig()));
        for (String user : scramUsers) {
            int colon = user.indexOf(':');
            if (colon <= 0 || colon == user.length() - 1) {
                throw new IllegalArgumentException("--scram-user takes NAME:PASSWORD, was '" + user + "'");
            }
            String name = user.substring(0, colon);
            broker.createScramUser(name, user.substring(colon + 1));
            lines.add("client properties (SCRAM-SHA-512 user " + name + ", no ACL yet): "
                    + write(dir, name, broker.clientConfig(name)));
        }
        return lines;
    }

    private static Path write(Path dir, String user, java.util.Map<String, Object> config) throws IOException {
        java.util.Properties properties = new java.util.Properties();
        config.forEach((key, value) -> properties.setProperty(key, String.valueOf(value)));
        Path file = dir.resolve(user + ".properties");
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try (java.io.OutputStream out = Files.newOutputStream(file)) {
            properties.store(
                    out, "kafkaml broker --security: settings for " + user + " (use with --config; holds a password)");
        }
        return file.toAbsolutePath();
    }
}
