package io.kafkaml.cli;

import io.kafkaml.control.ControlMessage;
import io.kafkaml.registry.Datasource;
import io.kafkaml.registry.DatasourceAvailability;
import io.kafkaml.registry.Registry;
import io.kafkaml.stream.StreamSlice;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code kafkaml datasources list|resend}. */
@Command(
        name = "datasources",
        mixinStandardHelpOptions = true,
        description = "List recorded data streams and re-send one to another deployment.",
        subcommands = {DatasourcesCommand.ListDatasources.class, DatasourcesCommand.Resend.class})
final class DatasourcesCommand {

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List data streams, available or expired.")
    static final class ListDatasources extends ListCommand<Datasource> {
        @Override
        List<Datasource> items(Registry registry) {
            return registry.datasources();
        }

        @Override
        Object json(Registry registry, Datasource datasource) {
            return describe(registry, datasource);
        }

        @Override
        List<String> header() {
            return List.of("ID", "DEPLOYMENT", "FORMAT", "RECORDS", "SLICES", "AVAILABLE");
        }

        @Override
        List<String> row(Registry registry, Datasource datasource) {
            Map<String, Object> r = describe(registry, datasource);
            Object available = r.get("available");
            return List.of(
                    String.valueOf(r.get("id")),
                    String.valueOf(r.get("deploymentId")),
                    text(r.get("inputFormat")),
                    text(r.get("totalMessages")),
                    text(r.get("slices")),
                    Boolean.TRUE.equals(available)
                            ? "true"
                            : (available == null ? "unknown" : "false")
                                    + (r.get("reason") == null ? "" : " (" + r.get("reason") + ")"));
        }

        private static String text(Object value) {
            return value == null ? "-" : value.toString();
        }

        /**
         * One entry; never fails the listing as a whole: a stream whose topic was deleted, whose slices expired,
         * or whose recorded message cannot be read (or checked) is listed with the reason.
         */
        private static Map<String, Object> describe(Registry registry, Datasource datasource) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("id", datasource.id());
            row.put("deploymentId", datasource.deploymentId());
            row.put("recordedAt", datasource.recordedAt());
            ControlMessage message;
            try {
                message = datasource.message();
            } catch (RuntimeException e) {
                row.put("available", false);
                row.put("reason", "unreadable control message: " + e.getMessage());
                return row;
            }
            row.put("inputFormat", message.inputFormat());
            row.put("totalMessages", message.totalMessages() < 0 ? null : message.totalMessages());
            row.put(
                    "slices",
                    message.unboundedTopic()
                            .map(t -> t + " (incremental)")
                            .orElse(StreamSlice.formatList(message.slices())));
            try {
                DatasourceAvailability availability = registry.availability(datasource);
                row.put("available", availability.available());
                row.put("expired", StreamSlice.formatList(availability.expired()));
                row.put("deletedTopics", availability.deletedTopics());
                row.put("unreadableTopics", availability.unreadableTopics());
                if (!availability.available()) {
                    row.put("reason", availability.reason());
                }
            } catch (RuntimeException e) {
                row.put("available", null);
                row.put("reason", "could not check: " + e.getMessage());
            }
            return row;
        }
    }

    @Command(
            name = "resend",
            mixinStandardHelpOptions = true,
            description = "Re-send a recorded data stream to another deployment (no data is copied).")
    static final class Resend implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ClientOptions client;

        @Option(names = "--datasource", required = true, paramLabel = "ID", description = "The datasource")
        String datasource;

        @Option(names = "--deployment-id", required = true, paramLabel = "ID", description = "The new deployment")
        String deploymentId;

        @Override
        public Integer call() {
            try (Registry registry = client.registry()) {
                ControlMessage message = registry.resend(datasource, deploymentId);
                spec.commandLine()
                        .getOut()
                        .println("sent "
                                + message.unboundedTopic()
                                        .map(topic -> "the online stream of topic " + topic)
                                        .orElseGet(() -> StreamSlice.formatList(message.slices()))
                                + " to deployment " + message.deploymentId());
                return 0;
            }
        }
    }
}
