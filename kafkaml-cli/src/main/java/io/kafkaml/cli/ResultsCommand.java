package io.kafkaml.cli;

import io.kafkaml.KafkaMl;
import io.kafkaml.registry.EntityNotFoundException;
import io.kafkaml.registry.EpochMetrics;
import io.kafkaml.registry.ModelVersion;
import io.kafkaml.registry.Promotion;
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
 * {@code kafkaml results list|epochs|export|chart|versions|promote}. A result holds a summary (last and best epoch,
 * test metrics); {@code epochs} and {@code chart} read the full per-epoch history from the registry's metrics topic;
 * {@code versions} lists the model versions published under it (incremental training), {@code promote} promotes one
 * into serving (or rolls back to an older one).
 */
@Command(
        name = "results",
        mixinStandardHelpOptions = true,
        description = "List and export training results.",
        subcommands = {
            ResultsCommand.ListResults.class,
            ResultsCommand.Epochs.class,
            ResultsCommand.Export.class,
            ResultsCommand.Chart.class,
            ResultsCommand.Versions.class,
            ResultsCommand.Promote.class,
            ResultsCommand.Unpin.class
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
            description = "Write a trained model (or one of its versions, --version) to a file that DL4J's "
                    + "ModelSerializer restores.")
    static final class Export implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ClientOptions client;

        @Parameters(paramLabel = "RESULT_ID", description = "The result, deploymentId.model")
        String resultId;

        @Option(names = "--out", required = true, paramLabel = "FILE", description = "Where to write the model")
        Path out;

        @Option(
                names = "--version",
                paramLabel = "N",
                description = "A model version of the result (see 'results versions'); default: the trained model")
        Integer version;

        @Override
        public Integer call() {
            try (KafkaMl ml = KafkaMl.builder(client.clientConfig())
                    .controlLogger(false)
                    .registryTimeout(Duration.ofSeconds(30))
                    .build()
                    .start()) {
                long bytes = version == null
                        ? ml.results().export(resultId, out)
                        : ml.results().exportVersion(resultId, version, out);
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

    @Command(
            name = "versions",
            mixinStandardHelpOptions = true,
            description = "List the model versions of a result: number, whether it is the promoted one (*), metrics, "
                    + "offsets seen, when, why.")
    static final class Versions extends ListCommand<ModelVersion> {
        @Parameters(paramLabel = "RESULT_ID", description = "The result, deploymentId.model")
        String resultId;

        private int promoted;

        @Override
        List<ModelVersion> items(Registry registry) {
            if (registry.result(resultId).isEmpty()) {
                throw new EntityNotFoundException("result", resultId);
            }
            promoted =
                    registry.latestPromotion(resultId).map(Promotion::version).orElse(0);
            return registry.versions(resultId);
        }

        @Override
        Object json(Registry registry, ModelVersion version) {
            java.util.Map<String, Object> node = new java.util.LinkedHashMap<>();
            node.put("resultId", version.resultId());
            node.put("version", version.version());
            node.put("promoted", version.version() == promoted);
            node.put("metrics", version.metrics());
            node.put("offsets", version.offsets());
            node.put("createdAt", version.createdAt());
            node.put("reason", version.reason());
            node.put("artifact", version.artifact());
            node.put("normalizer", version.normalizer());
            return node;
        }

        @Override
        List<String> header() {
            return List.of("VERSION", "PROMOTED", "METRICS", "OFFSETS", "CREATED", "REASON");
        }

        @Override
        List<String> row(Registry registry, ModelVersion v) {
            return List.of(
                    String.valueOf(v.version()),
                    v.version() == promoted ? "*" : "",
                    Output.metrics(v.metrics()),
                    v.offsets().entrySet().stream()
                            .map(e -> e.getKey() + ":" + e.getValue())
                            .collect(java.util.stream.Collectors.joining(",")),
                    v.createdAt()
                            .truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
                            .toString(),
                    v.reason());
        }
    }

    @Command(
            name = "promote",
            mixinStandardHelpOptions = true,
            description = "Promote a model version of a result into serving: inference deployments that follow the "
                    + "result (infer --follow) switch to it between batches. Promoting an older version than the "
                    + "promoted one is a rollback. It pins the result: an incremental run then records the versions "
                    + "its policy accepts without promoting them, until 'results unpin' (or --no-pin).")
    static final class Promote implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ClientOptions client;

        @Parameters(paramLabel = "RESULT_ID", description = "The result, deploymentId.model")
        String resultId;

        @Option(names = "--version", required = true, paramLabel = "N", description = "The version to promote")
        int version;

        @Option(names = "--reason", paramLabel = "TEXT", description = "Recorded with the promotion (default: manual)")
        String reason = "manual";

        @Option(names = "--json", description = "Print the promotion as JSON, for scripts")
        boolean json;

        @Option(
                names = "--no-pin",
                description = "Do not pin the result: an incremental run's policy may promote a later version")
        boolean noPin;

        @Override
        public Integer call() {
            try (Registry registry = client.registry()) {
                Promotion promotion = registry.promote(resultId, version, reason, !noPin);
                if (json) {
                    Output.json(spec.commandLine().getOut(), promotion);
                } else {
                    spec.commandLine()
                            .getOut()
                            .println((promotion.rollback() ? "rolled back " : "promoted ") + resultId + " to version "
                                    + promotion.version()
                                    + (promotion.previousVersion() == 0
                                            ? ""
                                            : " (was " + promotion.previousVersion() + ")")
                                    + (promotion.pinned()
                                            ? "; pinned: an incremental run records the versions its policy "
                                                    + "accepts without promoting them until 'kafkaml results unpin "
                                                    + resultId + "'"
                                            : ""));
                }
                return 0;
            }
        }
    }

    @Command(
            name = "unpin",
            mixinStandardHelpOptions = true,
            description = "Release a result pinned by 'results promote': an incremental run's policy promotes again "
                    + "(its next window that beats the promoted version).")
    static final class Unpin implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ClientOptions client;

        @Parameters(paramLabel = "RESULT_ID", description = "The result, deploymentId.model")
        String resultId;

        @Option(names = "--reason", paramLabel = "TEXT", description = "Recorded with the change (default: manual)")
        String reason = "manual";

        @Override
        public Integer call() {
            try (Registry registry = client.registry()) {
                Promotion promotion = registry.unpin(resultId, reason);
                spec.commandLine()
                        .getOut()
                        .println("unpinned " + resultId + " (version " + promotion.version() + " stays promoted until "
                                + "the policy promotes a better one)");
                return 0;
            }
        }
    }
}
