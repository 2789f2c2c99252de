package io.kafkaml.cli;

import io.kafkaml.KafkaMl;
import io.kafkaml.registry.EntityNotFoundException;
import io.kafkaml.registry.EpochMetrics;
import io.kafkaml.registry.Registry;
import io.kafkaml.registry.TrainingResult;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code kafkaml results list|epochs|export|chart}. A result holds a summary (last and best epoch, test metrics);
 * {@code epochs} and {@code chart} read the full per-epoch history from the registry's metrics topic.
 */
@Command(
        name = "results",
        mixinStandardHelpOptions = true,
        description = "List and export training results.",
        subcommands = {
            ResultsCommand.ListResults.class,
            ResultsCommand.Epochs.class,
            ResultsCommand.Export.class,
            ResultsCommand.Chart.class
        })
final class ResultsCommand {

    @Command(
            name = "list",
            mixinStandardHelpOptions = true,
            description = "List results: model, status, training loss, validation and test metrics, time.")
    static final class ListResults extends ListCommand<TrainingResult> {
        @Option(names = "--deployment-id", paramLabel = "ID", description = "Only this deployment's results")
        String deploymentId;

        @Override
        List<TrainingResult> items(Registry registry) {
            return deploymentId == null ? registry.results() : registry.results(deploymentId);
        }

        @Override
        List<String> header() {
            return List.of("RESULT", "MODEL", "STATUS", "EPOCHS", "LOSS", "VALIDATION", "TEST", "SECONDS");
        }

        @Override
        List<String> row(Registry registry, TrainingResult r) {
            EpochMetrics last = r.lastEpoch();
            return List.of(
                    r.id(),
                    r.model(),
                    r.status().name(),
                    String.valueOf(r.epochCount()),
                    last == null ? "" : String.format("%.4f", last.loss()),
                    last == null ? "" : Output.metrics(last.validation()),
                    Output.metrics(r.testMetrics()),
                    String.format("%.1f", r.trainingMillis() / 1000.0));
        }
    }

    @Command(
            name = "epochs",
            mixinStandardHelpOptions = true,
            description = "Print a result's per-epoch history (training loss, validation metrics, duration), read from "
                    + "the registry's metrics topic; for an incremental run one row per window, with its records and "
                    + "prequential (test-then-train) metrics.")
    static final class Epochs extends ListCommand<EpochMetrics> {
        @Parameters(paramLabel = "RESULT_ID", description = "The result, deploymentId.model")
        String resultId;

        @Override
        List<EpochMetrics> items(Registry registry) {
            if (registry.result(resultId).isEmpty()) {
                throw new EntityNotFoundException("result", resultId);
            }
            return registry.epochs(resultId);
        }

        @Override
        List<String> header() {
            return List.of("EPOCH", "LOSS", "VALIDATION", "MILLIS", "RECORDS", "PREQUENTIAL");
        }

        @Override
        List<String> row(Registry registry, EpochMetrics e) {
            return List.of(
                    String.valueOf(e.epoch()),
                    String.format("%.4f", e.loss()),
                    Output.metrics(e.validation()),
                    String.valueOf(e.millis()),
                    e.records() == 0 ? "" : String.valueOf(e.records()),
                    Output.metrics(e.prequential()));
        }
    }

    @Command(
            name = "export",
            mixinStandardHelpOptions = true,
            description = "Write a trained model to a file that DL4J's ModelSerializer restores.")
    static final class Export implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ClientOptions client;

        @Parameters(paramLabel = "RESULT_ID", description = "The result, deploymentId.model")
        String resultId;

        @Option(names = "--out", required = true, paramLabel = "FILE", description = "Where to write the model")
        Path out;

        @Override
        public Integer call() {
            try (KafkaMl ml = KafkaMl.builder(client.clientConfig())
                    .controlLogger(false)
                    .registryTimeout(Duration.ofSeconds(30))
                    .build()
                    .start()) {
                long bytes = ml.results().export(resultId, out);
                spec.commandLine().getOut().println("wrote " + bytes + " bytes to " + out);
                return 0;
            }
        }
    }

    @Command(
            name = "chart",
            mixinStandardHelpOptions = true,
            description = "Draw a result's per-epoch loss and validation metric curves as a PNG image.")
    static final class Chart implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ClientOptions client;

        @Parameters(paramLabel = "RESULT_ID", description = "The result, deploymentId.model")
        String resultId;

        @Option(names = "--out", required = true, paramLabel = "FILE.png", description = "Where to write the image")
        Path out;

        @Override
        public Integer call() throws IOException {
            try (Registry registry = client.registry()) {
                TrainingResult result =
                        registry.result(resultId).orElseThrow(() -> new EntityNotFoundException("result", resultId));
                Charts.write(result, registry.epochs(resultId), out);
                spec.commandLine().getOut().println("wrote " + out);
                return 0;
            }
        }
    }
}
