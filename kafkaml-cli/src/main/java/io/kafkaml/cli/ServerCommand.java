package io.kafkaml.cli;

import io.kafkaml.KafkaMl;
import io.kafkaml.server.KafkaMlServer;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kafkaml server}: the control plane in one process until interrupted: the {@code KafkaMl} facade (registry,
 * control logger, local training launcher, inference deployments) behind the REST API ({@code /api/v1}) and the web
 * dashboard. With {@code --embedded-broker} it first starts a single-node broker in the same process, so one command
 * gives a working system on one machine.
 */
@Command(
        name = "server",
        mixinStandardHelpOptions = true,
        description = {
            "Run the kafkaml server (REST API under /api/v1, web dashboard) until interrupted.",
            "Binds " + KafkaMlServer.DEFAULT_HOST + " unless --host; bound elsewhere it needs a token (--token or $"
                    + KafkaMlServer.TOKEN_ENV + ") that mutating calls send as 'Authorization: Bearer <token>'."
        })
final class ServerCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ClientOptions client;

    @Option(
            names = "--host",
            paramLabel = "ADDRESS",
            defaultValue = KafkaMlServer.DEFAULT_HOST,
            description = "Address to bind (default: ${DEFAULT-VALUE}; 0.0.0.0 for every interface, needs a token)")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "HTTP port (default: ${DEFAULT-VALUE}; 0 = free)")
    int port;

    @Option(
            names = "--token",
            paramLabel = "TOKEN",
            description = "Bearer token required by mutating calls (default: $" + KafkaMlServer.TOKEN_ENV + ")")
    String token;

    @Option(
            names = "--embedded-broker",
            description =
                    "Start a single-node Kafka broker in this process and use it (--bootstrap-servers is ignored)")
    boolean embeddedBroker;

    @Option(
            names = "--broker-port",
            defaultValue = "9092",
            description = "With --embedded-broker: its client port (default: ${DEFAULT-VALUE}; 0 = free)")
    int brokerPort;

    @Option(
            names = "--training-threads",
            defaultValue = "1",
            description = "Training deployments trained at the same time in this process (default: ${DEFAULT-VALUE})")
    int trainingThreads;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        String bearer = token != null ? token : System.getenv(KafkaMlServer.TOKEN_ENV);
        EmbeddedKafkaBroker broker = embeddedBroker
                ? EmbeddedKafkaBroker.builder().port(brokerPort).build().start()
                : null;
        KafkaMl ml = null;
        KafkaMlServer server = null;
        try {
            Map<String, Object> settings = client.clientConfig();
            if (broker != null) {
                settings.putAll(broker.clientConfig());
                out.println("embedded broker: bootstrap.servers=" + broker.bootstrapServers());
            }
            ml = KafkaMl.builder(settings)
                    .registryTimeout(Duration.ofSeconds(30))
                    .trainingThreads(trainingThreads)
                    .build()
                    .start();
            server = KafkaMlServer.builder(ml)
                    .host(host)
                    .port(port)
                    .token(bearer)
                    .build()
                    .start();
        } catch (RuntimeException e) {
            if (ml != null) {
                ml.close();
            }
            if (broker != null) {
                broker.close();
            }
            throw e;
        }
        out.println("kafkaml server: dashboard " + server.uri() + ", API " + server.uri() + "api/v1 (OpenAPI "
                + server.uri() + "api/v1/openapi.json)" + (bearer == null ? "" : "; mutating calls need the token"));
        out.flush();
        CountDownLatch stopped = new CountDownLatch(1);
        KafkaMlServer running = server;
        KafkaMl facade = ml;
        SignalExit.install("kafkaml-server-shutdown", out, () -> {
            try {
                running.close();
                facade.close();
                if (broker != null) {
                    broker.close();
                }
            } finally {
                stopped.countDown();
            }
        });
        stopped.await();
        return 0;
    }
}
