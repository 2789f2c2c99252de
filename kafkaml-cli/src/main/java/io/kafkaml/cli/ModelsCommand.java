package io.kafkaml.cli;

import io.kafkaml.common.KafkaMlException;
import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.keras.KerasModels;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.EntityNotFoundException;
import io.kafkaml.registry.Registry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code kafkaml models register|list|show}. */
@Command(
        name = "models",
        mixinStandardHelpOptions = true,
        description = "Register, list and show models.",
        subcommands = {ModelsCommand.Register.class, ModelsCommand.ListModels.class, ModelsCommand.Show.class})
final class ModelsCommand {

    static Map<String, Object> describe(ModelDefinition model) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("name", model.name());
        row.put("description", model.description());
        row.put("summary", model.summary());
        row.put("weightsArtifact", model.weightsArtifact().orElse(null));
        return row;
    }

    @Command(
            name = "register",
            mixinStandardHelpOptions = true,
            description = "Register a model from DL4J configuration JSON or a Keras .h5 file.")
    static final class Register implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ClientOptions client;

        @Option(names = "--name", required = true, description = "The model's name")
        String name;

        @Option(
                names = "--file",
                required = true,
                paramLabel = "F",
                description = "DL4J configuration JSON or a Keras 2 " + ".h5 file (HDF5)")
        Path file;

        @Option(names = "--description", defaultValue = "", description = "A description")
        String description;

        @Override
        public Integer call() throws IOException {
            long maxBytes = KafkaMlConfig.maxArtifactBytes(client.clientConfig());
            if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
                throw new KafkaMlException("The model file " + file
                        + (Files.exists(file) ? " is not a readable file" : " does not exist"));
            }
            if (Files.size(file) > maxBytes) {
                throw new KafkaMlException("The model file " + file + " holds " + Files.size(file) + " bytes, over the "
                        + "limit of " + maxBytes + " bytes (" + KafkaMlConfig.MAX_ARTIFACT_BYTES_CONFIG + "): raise "
                        + KafkaMlConfig.MAX_ARTIFACT_BYTES_CONFIG + " to register it");
            }
            try (Registry registry = client.registry()) {
                ModelDefinition model;
                if (KerasModels.isKerasFile(file)) {
                    KerasModels.ImportedModel imported =
                            KerasModels.importModel(name, description, file, client.clientConfig());
                    model = registry.registerModel(imported.definition(), imported.network());
                    imported.notes().forEach(note -> spec.commandLine().getOut().println("note: " + note));
                } else {
                    model = registry.registerModel(ModelDefinition.fromJson(
                            name,
                            description,
                            Files.readString(file),
                            KafkaMlConfig.maxModelParameters(client.clientConfig())));
                }
                spec.commandLine()
                        .getOut()
                        .println("registered model " + model.name() + ": "
                                + model.summary().inputSize() + " input(s), "
                                + model.summary().outputSize() + " output(s), "
                                + model.summary().parameterCount() + " parameters, "
                                + model.summary().outputKind().name().toLowerCase(java.util.Locale.ROOT));
                return 0;
            }
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the registered models.")
    static final class ListModels extends ListCommand<ModelDefinition> {
        @Override
        List<ModelDefinition> items(Registry registry) {
            return registry.models();
        }

        @Override
        Object json(Registry registry, ModelDefinition model) {
            return describe(model);
        }

        @Override
        List<String> header() {
            return List.of("NAME", "INPUTS", "OUTPUTS", "PARAMETERS", "KIND", "DESCRIPTION");
        }

        @Override
        List<String> row(Registry registry, ModelDefinition m) {
            return List.of(
                    m.name(),
                    String.valueOf(m.summary().inputSize()),
                    String.valueOf(m.summary().outputSize()),
                    String.valueOf(m.summary().parameterCount()),
                    m.summary().outputKind().name(),
                    m.description());
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Show a model, with its configuration.")
    static final class Show implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ClientOptions client;

        @Parameters(paramLabel = "N", description = "The model's name")
        String name;

        @Override
        public Integer call() {
            try (Registry registry = client.registry()) {
                ModelDefinition model =
                        registry.model(name).orElseThrow(() -> new EntityNotFoundException("model", name));
                Map<String, Object> description = describe(model);
                description.put("configuration", model.configuration());
                Output.json(spec.commandLine().getOut(), description);
                return 0;
            }
        }
    }
}
