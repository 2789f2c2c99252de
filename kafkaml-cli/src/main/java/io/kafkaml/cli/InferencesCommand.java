package io.kafkaml.cli;

import io.kafkaml.inference.InferenceLiveness;
import io.kafkaml.registry.Inference;
import io.kafkaml.registry.Registry;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;

/**
 * {@code kafkaml inferences list}: the inference deployments the registry records, with their status as it is now: a
 * deployment recorded RUNNING that no process serves (its consumer group has no member; its processes were killed
 * without recording it) is shown {@code STALE} ({@link InferenceLiveness}, one look: a deployment whose replicas are
 * still joining their group may show STALE for a moment). Where the group cannot be described (no Describe ACL),
 * one look cannot see a heartbeat stop and RUNNING is shown as recorded.
 */
@Command(
        name = "inferences",
        mixinStandardHelpOptions = true,
        description = "List inference deployments.",
        subcommands = {InferencesCommand.ListInferences.class})
final class InferencesCommand {

    @Command(
            name = "list",
            mixinStandardHelpOptions = true,
            description = "List inference deployments; RUNNING ones no process serves (no consumer in their group) "
                    + "show STALE.")
    static final class ListInferences extends ListCommand<Inference> {
        private final Map<String, String> live = new java.util.HashMap<>();

        private String liveStatus(Registry registry, Inference item) {
            return live.computeIfAbsent(
                    item.id(), id -> item.liveStatus(InferenceLiveness.alive(registry, item, Duration.ZERO)));
        }

        @Override
        List<Inference> items(Registry registry) {
            return registry.inferences();
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
            json.put("liveStatus", liveStatus(registry, item));
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
                    liveStatus(registry, i),
                    owner,
                    seen,
                    String.valueOf(i.restarts()),
                    i.error() == null ? "" : i.error());
        }
    }
}
