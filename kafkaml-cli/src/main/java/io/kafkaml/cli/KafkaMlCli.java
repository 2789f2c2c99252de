package io.kafkaml.cli;

import io.kafkaml.common.KafkaAccessException;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.config.Configurator;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code kafkaml} command: {@code java -jar kafkaml-cli/target/kafkaml.jar COMMAND ...}. Every command has
 * {@code --help}; errors are one line ({@code --verbose} for the stack trace); exit codes: 0 done, 1 failed,
 * 2 bad usage.
 */
@Command(
        name = "kafkaml",
        mixinStandardHelpOptions = true,
        version = "kafkaml 0.1.0-SNAPSHOT",
        description = "Deep learning on Kafka data streams: models, configurations, training, inference.",
        subcommands = {
            BrokerCommand.class,
            ModelsCommand.class,
            ConfigurationsCommand.class,
            TrainCommand.class,
            SendCommand.class,
            DeploymentsCommand.class,
            ResultsCommand.class,
            InferCommand.class,
            InferencesCommand.class,
            PredictCommand.class,
            DatasourcesCommand.class,
            ControlLoggerCommand.class,
            WorkerCommand.class,
            QuickstartCommand.class,
            ServerCommand.class,
            K8sCommand.class
        })
public final class KafkaMlCli implements Runnable {

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "Missing a command; see kafkaml --help");
    }

    /** Builds the command line with kafkaml's error handling. */
    public static CommandLine commandLine(PrintWriter out, PrintWriter err) {
        CommandLine commandLine = new CommandLine(new KafkaMlCli());
        commandLine.setOut(out);
        commandLine.setErr(err);
        commandLine.setExecutionExceptionHandler((exception, cmd, parseResult) -> {
            boolean verbose = parseResult.originalArgs().contains("--verbose");
            // the whole command path ("kafkaml models register: …"), not only its last word
            cmd.getErr().println(cmd.getCommandSpec().qualifiedName() + ": " + message(exception, cmd));
            if (verbose) {
                exception.printStackTrace(cmd.getErr());
            }
            cmd.getErr().flush();
            return 1;
        });
        return commandLine;
    }

    /**
     * The one-line message of a failed command: a refusal by the broker (a missing ACL, a failed SASL
     * authentication, a TLS handshake) is named with the principal, the resource and the operation kafkaml needed
     * unless the exception's own message already says it.
     */
    static String message(Throwable exception, CommandLine cmd) {
        String message = message(exception);
        Object client = cmd.getMixins().get("client");
        Map<String, Object> config = Map.of();
        if (client instanceof ClientOptions options) {
            try {
                config = options.clientConfig();
            } catch (RuntimeException e) {
                // the settings themselves were the error; the message says so
            }
        }
        String operation = "send".equals(cmd.getCommandName()) ? "WRITE" : "DESCRIBE and READ";
        Optional<KafkaAccessException> access = KafkaAccessException.find(exception, config, operation);
        boolean saysItAlready =
                message.contains(" is not authorized to ") || message.contains(" could not authenticate ");
        if (access.isPresent() && !message.contains(access.get().getMessage()) && !saysItAlready) {
            return message.length() > 200
                            || message.contains("\n")
                            || access.get().kind() != KafkaAccessException.Kind.AUTHORIZATION
                    ? access.get().getMessage()
                    : message + ": " + access.get().getMessage();
        }
        return message.replaceAll("\\s*\\R\\s*", " ");
    }

    static String message(Throwable exception) {
        String message = exception.getMessage();
        return message == null || message.isBlank() ? exception.getClass().getSimpleName() : message;
    }

    public static void main(String[] args) {
        quietKafkaClientLogs(args);
        int status = commandLine(new PrintWriter(System.out, true), new PrintWriter(System.err, true))
                .execute(args);
        SignalExit.mainExiting(status);
        System.exit(status);
    }

    /**
     * Kafka's own WARN/ERROR lines (a refused connection each second, a failed handshake's 37-line stack trace) are
     * kept off the terminal: kafkaml reports the failure itself in one line. {@code --verbose} shows them, and the
     * long-running {@code broker}, {@code worker} and {@code server} keep them (their logs are the record of the process).
     */
    private static void quietKafkaClientLogs(String[] args) {
        List<String> arguments = Arrays.asList(args);
        if (arguments.contains("--verbose")) {
            // the default configuration (log4j2.xml) shows warnings only; --verbose shows kafkaml's progress too
            Configurator.setRootLevel(Level.INFO);
            Configurator.setLevel("io.kafkaml", Level.INFO);
            Configurator.setLevel("org.deeplearning4j.nn.conf.inputs.InputType", Level.WARN);
            return;
        }
        if (arguments.contains("broker") || arguments.contains("worker") || arguments.contains("server")) {
            return;
        }
        // setAllLevels: also the loggers log4j2.xml configures below them (NetworkClient at ERROR printed a failed
        // SASL authentication's line before kafkaml's own)
        Configurator.setAllLevels("org.apache.kafka", Level.OFF);
        Configurator.setAllLevels("kafka", Level.OFF);
    }
}
