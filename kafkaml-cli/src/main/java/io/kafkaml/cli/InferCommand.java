package io.kafkaml.cli;

import io.kafkaml.inference.InferenceSpec;
import io.kafkaml.inference.LocalInference;
import io.kafkaml.inference.ProcessingGuarantee;
import io.kafkaml.registry.Registry;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kafkaml infer}: serves a trained model until interrupted; on SIGTERM or SIGINT each replica finishes its
 * batch and commits, and the command exits 0.
 */
@Command(name = "infer", mixinStandardHelpOptions = true,
        description = "Serve a trained model from an input topic to an output topic until interrupted.")
final class InferCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;
    @Mixin
    ClientOptions client;
    @Option(names = "--result", required = true, paramLabel = "RESULT_ID", description = "The result, deploymentId.model")
    String result;
    @Option(names = "--input-topic", required = true, paramLabel = "IN", description = "Where inputs are read")
    String inputTopic;
    @Option(names = "--output-topic", required = true, paramLabel = "OUT", description = "Where predictions go")
    String outputTopic;
    @Option(names = "--replicas", defaultValue = "1", description = "Default: ${DEFAULT-VALUE}")
    int replicas;
    @Option(names = "--exactly-once", description = "Predictions and offsets in one transaction")
    boolean exactlyOnce;
    @Option(names = "--dlq-topic", paramLabel = "T", description = "Where undecodable inputs go")
    String dlqTopic;
    @Option(names = "--id", paramLabel = "ID", description = "The inference deployment's id (default: from the result)")
    String id;

    @Override
    public Integer call() throws InterruptedException {
        InferenceSpec inferenceSpec = InferenceSpec.builder(result, inputTopic, outputTopic).replicas(replicas)
                .guarantee(exactlyOnce ? ProcessingGuarantee.EXACTLY_ONCE : ProcessingGuarantee.AT_LEAST_ONCE)
                .deadLetterTopic(dlqTopic).build();
        String deployment = id != null ? id : "infer-" + result.replace('.', '-');
        Registry registry = client.registry();
        LocalInference inference = LocalInference.start(registry, client.clientConfig(), deployment, inferenceSpec);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            inference.close();
            registry.close();
            spec.commandLine().getOut().println("stopped " + deployment + ": " + inference.stats());
            spec.commandLine().getOut().flush();
            stopped.countDown();
            // Every batch is finished and committed: a requested stop is a success, not the JVM's 143.
            Runtime.getRuntime().halt(0);
        }, "kafkaml-infer-shutdown"));
        spec.commandLine().getOut().println("serving " + result + " from " + inputTopic + " to " + outputTopic + " with "
                + replicas + " replica(s) as " + deployment);
        spec.commandLine().getOut().flush();
        stopped.await();
        return 0;
    }
}
