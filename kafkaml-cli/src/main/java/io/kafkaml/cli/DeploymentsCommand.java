package io.kafkaml.cli;

import io.kafkaml.registry.Deployment;
import io.kafkaml.registry.Registry;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code kafkaml deployments list}. */
@Command(name = "deployments", mixinStandardHelpOptions = true, description = "List training deployments.",
        subcommands = {DeploymentsCommand.ListDeployments.class})
final class DeploymentsCommand {

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List training deployments.")
    static final class ListDeployments implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        ClientOptions client;
        @Option(names = "--json", description = "One JSON array, for scripts")
        boolean json;

        @Override
        public Integer call() {
            try (Registry registry = client.registry()) {
                List<Deployment> deployments = registry.deployments();
                if (json) {
                    Output.json(spec.commandLine().getOut(), deployments);
                } else {
                    Output.table(spec.commandLine().getOut(), List.of("ID", "CONFIGURATION", "STATUS", "UPDATED", "ERROR"),
                            deployments.stream().map(d -> List.of(d.id(), d.configuration(), d.status().name(),
                                    String.valueOf(d.updatedAt()), d.error() == null ? "" : d.error())).toList());
                }
                return 0;
            }
        }
    }
}
