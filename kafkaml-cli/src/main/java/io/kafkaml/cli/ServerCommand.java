package io.kafkaml.cli;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.kafkaml.KafkaMl;
import io.kafkaml.k8s.JobStatusWatcher;
import io.kafkaml.k8s.KubernetesTrainingLauncher;
import io.kafkaml.metrics.TrainingMetrics;
import io.kafkaml.server.KafkaMlServer;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.ArgGroup;
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
            names = "--max-replicas",
            defaultValue = "" + KafkaMlServer.DEFAULT_MAX_REPLICAS,
            description = "The most replicas an inference deployment may be started or scaled to through the API "
                    + "(default: ${DEFAULT-VALUE}; more is answered 400)")
    int maxReplicas;

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

    @Option(
            names = "--kubernetes",
            description = "Run training deployments as Kubernetes Jobs (in-cluster service account, else the current "
                    + "kubeconfig context) instead of in this process; inference deployments still run here")
    boolean kubernetes;

    @ArgGroup(exclusive = false, heading = "Kubernetes (with --kubernetes)%n")
    K8sCommand.Cluster cluster = new K8sCommand.Cluster();

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        String bearer = token != null ? token : System.getenv(KafkaMlServer.TOKEN_ENV);
        try {
            // a bad --host/--token/--max-replicas is a usage error, found before a broker or facade is started
            KafkaMlServer.builder(Map.of())
                    .host(host)
                    .port(port)
                    .token(bearer)
                    .maxReplicas(maxReplicas)
                    .build();
        } catch (IllegalArgumentException e) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        EmbeddedKafkaBroker broker = embeddedBroker
                ? EmbeddedKafkaBroker.builder().port(brokerPort).build().start()
                : null;
        KafkaMl ml = null;
        KafkaMlServer server = null;
        KubernetesClient kube = null;
        JobStatusWatcher watcher = null;
        TrainingMetrics trainingMeters = new TrainingMetrics();
        try {
            Map<String, Object> settings = client.clientConfig();
            if (broker != null) {
                settings.putAll(broker.clientConfig());
                out.println("embedded broker: bootstrap.servers=" + broker.bootstrapServers());
            }
            KafkaMl.Builder facade = KafkaMl.builder(settings)
                    .registryTimeout(Duration.ofSeconds(30))
                    .trainingThreads(trainingThreads)
                    .trainingListener(trainingMeters);
            if (kubernetes) {
                kube = new KubernetesClientBuilder().build();
                KubernetesClient forLauncher = kube;
                facade.launcher((registry, config, listener) -> new KubernetesTrainingLauncher(
                        forLauncher,
                        cluster.manifests(this.client, spec.commandLine().getErr())
                                .settings(),
                        registry));
            }
            ml = facade.build().start();
            if (kube != null) {
                // pods that fail before their worker records it (image pull, OOM kill) end their results FAILED
                watcher = new JobStatusWatcher(kube, cluster.namespace, ml.registry());
            }
            server = KafkaMlServer.builder(ml)
                    .host(host)
                    .port(port)
                    .token(bearer)
                    .maxReplicas(maxReplicas)
                    .build()
                    .start();
            trainingMeters.bindTo(server.meterRegistry());
        } catch (RuntimeException e) {
            if (watcher != null) {
                watcher.close();
            }
            if (ml != null) {
                ml.close();
            }
            if (kube != null) {
                kube.close();
            }
            if (broker != null) {
                broker.close();
            }
            throw e;
        }
        // bound to every interface: an address a browser on this machine can open, not 0.0.0.0
        boolean wildcard = host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]");
        java.net.URI shown = wildcard ? java.net.URI.create("http://127.0.0.1:" + server.port() + "/") : server.uri();
        out.println("kafkaml server: dashboard " + shown + ", API " + shown + "api/v1 (OpenAPI " + shown
                + "api/v1/openapi.json)" + (wildcard ? "; listening on every interface" : "")
                + (bearer == null ? "" : "; mutating calls need the token"));
        out.flush();
        CountDownLatch stopped = new CountDownLatch(1);
        KafkaMlServer running = server;
        KafkaMl facade = ml;
        KubernetesClient kubeClient = kube;
        JobStatusWatcher jobs = watcher;
        SignalExit.install("kafkaml-server-shutdown", out, () -> {
            try {
                // each closed even when one before it failed; the first failure makes the exit status 1
                SignalExit.closeAll(running, jobs, facade, kubeClient, broker);
                out.println("kafkaml server stopped");
            } finally {
                stopped.countDown();
            }
        });
        stopped.await();
        return 0;
    }
}
