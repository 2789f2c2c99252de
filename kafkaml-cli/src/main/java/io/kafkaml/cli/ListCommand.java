package io.kafkaml.cli;

import io.kafkaml.KafkaMl;
import io.kafkaml.registry.Registry;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * What every {@code ... list} command does: read entities from the registry of a launcher-less {@link KafkaMl}, print
 * them as a table for people or, with {@code --json}, as one JSON array for scripts.
 *
 * @param <T> the entity listed
 */
abstract class ListCommand<T> implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ClientOptions client;

    @Option(names = "--json", description = "One JSON array, for scripts")
    boolean json;

    /** The entities to list. */
    abstract List<T> items(Registry registry);

    /** An entity as JSON sees it (the entity itself by default). */
    Object json(Registry registry, T item) {
        return item;
    }

    /** The table's header. */
    abstract List<String> header();

    /** An entity's table row, one cell per header column. */
    abstract List<String> row(Registry registry, T item);

    @Override
    public Integer call() {
        try (KafkaMl ml = client.facade()) {
            Registry registry = ml.registry();
            List<T> items = items(registry);
            if (json) {
                Output.json(
                        spec.commandLine().getOut(),
                        items.stream().map(item -> json(registry, item)).toList());
            } else {
                Output.table(
                        spec.commandLine().getOut(),
                        header(),
                        items.stream().map(item -> row(registry, item)).toList());
            }
            return 0;
        }
    }
}
