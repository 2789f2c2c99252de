package io.kafkaml.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * What the CLI integration tests share: the model they register and the steps a user types before any data is sent
 * (register a model, create a configuration of it, start training), run by whichever {@link Cli} a test drives: in
 * this JVM ({@link KafkaMlCliIT}), as a user with a settings file ({@link SecureClusterIT}) or as a child process
 * ({@link ChildProcessIT}).
 */
final class CliFixture {

    private CliFixture() {}

    /** One {@code kafkaml} command line run to its end. */
    @FunctionalInterface
    interface Cli {
        /** Runs {@code kafkaml args...} and returns its exit status and output. */
        KafkaMlCliIT.Run run(String... args) throws Exception;
    }

    /** The model the CLI tests train: {@code features} inputs, a ReLU layer of 8, two softmax classes (seed 1). */
    static NeuralNetConfiguration.ListBuilder mlp(int features) {
        return new NeuralNetConfiguration.Builder()
                .seed(1)
                .updater(new Adam(0.01))
                .list()
                .layer(new DenseLayer.Builder()
                        .nIn(features)
                        .nOut(8)
                        .activation(Activation.RELU)
                        .build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                        .nIn(8)
                        .nOut(2)
                        .activation(Activation.SOFTMAX)
                        .build());
    }

    /** The parameter count of {@link #mlp}{@code (features)}. */
    static int mlpParameters(int features) {
        return features * 8 + 8 + 8 * 2 + 2;
    }

    /** Writes {@link #mlp}{@code (features)} as DL4J JSON to {@code file}, as a user hands it to {@code models register}. */
    static Path mlpFile(Path file, int features) throws Exception {
        Files.writeString(file, mlp(features).build().toJson());
        return file;
    }

    /** {@code models register --name model --file file}, then {@code configurations create} of that one model. */
    static void registerAndConfigure(Cli cli, String model, Path file, String configuration) throws Exception {
        KafkaMlCliIT.Run registered = cli.run("models", "register", "--name", model, "--file", file.toString());
        assertThat(registered.status()).as(registered.out() + registered.err()).isZero();
        assertThat(registered.out()).contains("registered");
        KafkaMlCliIT.Run created = cli.run("configurations", "create", "--name", configuration, "--models", model);
        assertThat(created.status()).as(created.out() + created.err()).isZero();
        assertThat(created.out()).contains("created");
    }

    /** The {@code train} command line that waits for the training to end, with {@code options} added. */
    static String[] trainAndWait(String configuration, int epochs, String... options) {
        List<String> args = new ArrayList<>(
                List.of("train", "--configuration", configuration, "--epochs", String.valueOf(epochs), "--wait"));
        args.addAll(List.of(options));
        return args.toArray(String[]::new);
    }
}
