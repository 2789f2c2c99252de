package io.kafkaml.cli;

import io.kafkaml.inference.InferenceLiveness;
import io.kafkaml.registry.Inference;
import io.kafkaml.registry.Registry;
import java.time.Duration;
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

/**
 * {@code kafkaml inferences}: list inference deployments with what their consumer groups show now, stop one for every
 * process that serves it, or forget one the registry cannot judge.
 *
 * <p>{@code list} looks at each RUNNING (or RELEASED) deployment's consumer group for a short window
 * ({@code --window-ms}, default 3000): a member seen, or its owner's heartbeat moving, shows it as recorded; a group
 * empty during the whole window shows {@code RUNNING (no consumers)}: it may be scaling to 0, restarting a replica,
 * loading a model, or its processes are gone (a new {@code kafkaml infer} of the id takes it over once its group has
 * stayed empty for a lease). Where the group may not be described (no DESCRIBE ACL), {@code RUNNING (liveness
 * unknown)}.
 */
@Command(
        name = "inferences",
        mixinStandardHelpOptions = true,
        description = "List, stop or forget inference deployments.",
        subcommands = {
            InferencesCommand.ListInferences.class,
            InferencesCommand.StopInference.class,
            InferencesCommand.ForgetInference.class
        })
final class InferencesCommand {

    /** {@code liveStatus} in JSON of a deployment whose group had no member during the whole look. */
    static final String NO_CONSUMERS = "NO_CONSUMERS";
    /** {@code liveStatus} in JSON of a deployment whose group may not be described. */
    static final String UNKNOWN = "UNKNOWN";

    @Command(
            name = "list",
            mixinStandardHelpOptions = true,
            description = {
                "List inference deployments. A RUNNING one whose consumer group has no member during the whole look "
                        + "(--window-ms) shows 'RUNNING (no consumers)': scaling to 0, restarting, loading a model, or "
                        + "its processes are gone; 'RUNNING (liveness unknown)' where the group may not be described "
                        + "(grant DESCRIBE on groups prefixed kafkaml-inference-). RELEASED: its owner left "
                        + "(SIGTERM) while other processes served it; one of them, or the next 'infer', claims it.",
            })
    static final class ListInferences extends ListCommand<Inference> {
        @Option(
                names = "--window-ms",
                paramLabel = "MS",
                defaultValue = "3000",
                description =
                        "How long to watch the consumer groups of RUNNING deployments (default: ${DEFAULT-VALUE})")
        long windowMs;

        private Map<String, InferenceLiveness.Look> looks;

        @Override
        List<Inference> items(Registry registry) {
            List<Inference> all = registry.inferences();
            looks = InferenceLiveness.look(registry, all, Duration.ofMillis(Math.max(0, windowMs)));
            return all;
        }

        /** The status as shown in JSON's {@code liveStatus}. */
        private String liveStatus(Inference item) {
            InferenceLiveness.Look look = looks.get(item.id());
            if (look == null || look == InferenceLiveness.Look.SERVED) {
                return item.status();
            }
            return look == InferenceLiveness.Look.NO_CONSUMERS ? NO_CONSUMERS : UNKNOWN;
        }

        /** The status as shown in the table. */
        private String shownStatus(Inference item) {
            String live = liveStatus(item);
            return switch (live) {
                case NO_CONSUMERS -> item.status() + " (no consumers)";
                case UNKNOWN -> item.status() + " (liveness unknown)";
                default -> live;
            };
        }

        @Override
        Object json(Registry registry, Inference item) {
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("id", item.id());
            json.put("resultId", item.resultId());
            json.put("inputTopic", item.inputTopic());
            json.put("outputTopic", item.outputTopic());
            json.put("replicas", item.replicas());
            json.put("status", item.status());
            json.put("liveStatus", liveStatus(item));
            json.put(
                    "heartbeatAt",
                    item.heartbeatAt() == null ? null : item.heartbeatAt().toString());
            json.put("leaseMs", item.leaseMs());
            json.put("owner", item.owner());
            json.put("generation", item.generation());
            json.put("supervisedBy", item.supervisedBy());
            json.put("restarts", item.restarts());
            json.put("error", item.error());
            json.put("createdAt", String.valueOf(item.createdAt()));
            json.put("updatedAt", String.valueOf(item.updatedAt()));
            return json;
        }

        @Override
        List<String> header() {
            return List.of(
                    "ID",
                    "RESULT",
                    "INPUT",
                    "OUTPUT",
                    "REPLICAS",
                    "STATUS",
                    "OWNER",
                    "LAST HEARTBEAT",
                    "RESTARTS",
                    "ERROR");
        }

        @Override
        List<String> row(Registry registry, Inference i) {
            // the owner's clock, shown as written: never compared with this machine's
            String seen = i.heartbeatAt() == null ? "" : i.heartbeatAt().toString();
            String owner = i.supervisedBy() != null
                    ? i.supervisedBy()
                    : i.owner() == null ? "" : i.owner() + " (gen " + i.generation() + ")";
            return List.of(
                    i.id(),
                    i.resultId(),
                    String.valueOf(i.inputTopic()),
                    String.valueOf(i.outputTopic()),
                    String.valueOf(i.replicas()),
                    shownStatus(i),
                    owner,
                    seen,
                    String.valueOf(i.restarts()),
                    i.error() == null ? "" : i.error());
        }
    }

    /** Who a command writes as: the command and this host, so that the record says who stopped it. */
    static String requestedBy(String command) {
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            host = "unknown-host";
        }
        return "kafkaml inferences " + command + "@" + host + "/"
                + ProcessHandle.current().pid();
    }

    @Command(
            name = "stop",
            mixinStandardHelpOptions = true,
            description = {
                "Stop an inference deployment for every process that serves it: records the next generation STOPPED; "
                        + "each 'kafkaml infer' of it finishes its batch and exits 0 at its next heartbeat "
                        + "(kafkaml.inference.heartbeat.interval.ms). A SIGTERM instead stops one process only (its "
                        + "owner role passes to the others). A deployment run by Kubernetes is stopped with its "
                        + "launcher.",
            })
    static final class StopInference implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ClientOptions client;

        @Parameters(paramLabel = "ID", description = "The inference deployment's id")
        String id;

        @Override
        public Integer call() {
            try (Registry registry = client.registry()) {
                var stopped = registry.stopInference(id, requestedBy("stop"));
                if (stopped.isEmpty()) {
                    spec.commandLine().getErr().println("kafkaml: no inference deployment '" + id + "'");
                    return 1;
                }
                spec.commandLine()
                        .getOut()
                        .println("stopped " + id + " (generation "
                                + stopped.get().generation() + "); its processes stop at their next heartbeat");
                return 0;
            }
        }
    }

    @Command(
            name = "forget",
            mixinStandardHelpOptions = true,
            description = {
                "Remove an inference deployment from the registry whatever its status, e.g. one written by a version "
                        + "before ownership that no process can judge or end. Processes of this version that serve "
                        + "it stop; older ones go on unrecorded. Needs --force.",
            })
    static final class ForgetInference implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ClientOptions client;

        @Parameters(paramLabel = "ID", description = "The inference deployment's id")
        String id;

        @Option(names = "--force", description = "Required: the record is removed without asking its processes")
        boolean force;

        @Override
        public Integer call() {
            if (!force) {
                spec.commandLine()
                        .getErr()
                        .println("kafkaml: 'inferences forget' removes the record without asking its processes; "
                                + "add --force (or use 'kafkaml inferences stop " + id + "')");
                return 2;
            }
            try (Registry registry = client.registry()) {
                var forgotten = registry.forgetInference(id, requestedBy("forget"));
                if (forgotten.isEmpty()) {
                    spec.commandLine().getErr().println("kafkaml: no inference deployment '" + id + "'");
                    return 1;
                }
                spec.commandLine()
                        .getOut()
                        .println("forgot " + id + " (was " + forgotten.get().status() + ", generation "
                                + forgotten.get().generation() + ")");
                return 0;
            }
        }
    }
}
