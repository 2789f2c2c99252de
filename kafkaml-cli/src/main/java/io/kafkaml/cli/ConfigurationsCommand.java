package io.kafkaml.cli;

import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.Registry;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code kafkaml configurations create|list}. */
@Command(
        name = "configurations",
        mixinStandardHelpOptions = true,
        description = "Create and list configurations.",
        subcommands = {ConfigurationsCommand.Create.class, ConfigurationsCommand.ListConfigurations.class})
final class ConfigurationsCommand {

    @Command(
            name = "create",
            mixinStandardHelpOptions = true,
            description = "Create a configuration: a set of registered models trained together.")
    static final class Create implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ClientOptions client;

        @Option(names = "--name", required = true, description = "The configuration's name")
        String name;

        @Option(names = "--models", required = true, split = ",", paramLabel = "a,b,c", description = "Model names")
        List<String> models;

        @Option(names = "--description", defaultValue = "", description = "A description")
        String description;

        @Override
        public Integer call() {
            try (Registry registry = client.registry()) {
                Configuration configuration =
                        registry.createConfiguration(new Configuration(name, description, models));
                spec.commandLine()
                        .getOut()
                        .println("created configuration " + configuration.name() + " " + configuration.models());
                return 0;
            }
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the configurations.")
    static final class ListConfigurations extends ListCommand<Configuration> {
        @Override
        List<Configuration> items(Registry registry) {
            return registry.configurations();
        }

        @Override
        List<String> header() {
            return List.of("NAME", "MODELS", "DESCRIPTION");
        }

        @Override
        List<String> row(Registry registry, Configuration c) {
            return List.of(c.name(), String.join(",", c.models()), c.description());
        }
    }
}
