package io.kafkaml.cli;

import io.kafkaml.registry.Deployment;
import io.kafkaml.registry.Registry;
import java.util.List;
import picocli.CommandLine.Command;

/** {@code kafkaml deployments list}. */
@Command(
        name = "deployments",
        mixinStandardHelpOptions = true,
        description = "List training deployments.",
        subcommands = {DeploymentsCommand.ListDeployments.class})
final class DeploymentsCommand {

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List training deployments.")
    static final class ListDeployments extends ListCommand<Deployment> {
        @Override
        List<Deployment> items(Registry registry) {
            return registry.deployments();
        }

        @Override
        List<String> header() {
            return List.of("ID", "CONFIGURATION", "STATUS", "UPDATED", "ERROR");
        }

        @Override
        List<String> row(Registry registry, Deployment d) {
            return List.of(
                    d.id(),
                    d.configuration(),
                    d.status().name(),
                    String.valueOf(d.updatedAt()),
                    d.error() == null ? "" : d.error());
        }
    }
}
