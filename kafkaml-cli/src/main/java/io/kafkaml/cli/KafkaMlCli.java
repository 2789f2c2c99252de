package io.kafkaml.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code kafkaml} command: {@code java -jar kafkaml-cli/target/kafkaml.jar COMMAND ...}. Every command has
 * {@code --help}; errors are one line ({@code --verbose} for the stack trace); exit codes: 0 done, 1 failed,
 * 2 bad usage.
 */
@Command(name = "kafkaml", mixinStandardHelpOptions = true, version = "kafkaml 0.1.0-SNAPSHOT",
        description = "Deep learning on Kafka data streams: models, configurations, training, inference.",
        subcommands = {BrokerCommand.class, ModelsCommand.class, ConfigurationsCommand.class, TrainCommand.class,
            SendCommand.class, DeploymentsCommand.class, ResultsCommand.class, InferCommand.class, InferencesCommand.class,
            DatasourcesCommand.class, ControlLoggerCommand.class, WorkerCommand.class, QuickstartCommand.class, K8sCommand.class})
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
            cmd.getErr().println("kafkaml " + cmd.getCommandName() + ": " + message(exception));
            if (verbose) {
                exception.printStackTrace(cmd.getErr());
            }
            cmd.getErr().flush();
            return 1;
        });
        return commandLine;
    }

    static String message(Throwable exception) {
        String message = exception.getMessage();
        return message == null || message.isBlank() ? exception.getClass().getSimpleName() : message;
    }

    public static void main(String[] args) {
        int status = commandLine(new PrintWriter(System.out, true), new PrintWriter(System.err, true)).execute(args);
        System.exit(status);
    }
}
