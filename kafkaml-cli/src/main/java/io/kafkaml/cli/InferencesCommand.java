package io.kafkaml.cli;

import io.kafkaml.registry.Inference;
import io.kafkaml.registry.Registry;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;

/**
 * {@code kafkaml inferences list}: the inference deployments the registry records, with their status as it is now: a
 * deployment recorded RUNNING whose heartbeat lease has passed (its processes were killed without recording it) is
 * shown {@code STALE}, with when it was last seen alive.
 */
@Command(name = "inferences", mixinStandardHelpOptions = true, description = "List inference deployments.",
        subcommands = {InferencesCommand.ListInferences.class})
final class InferencesCommand {

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "List inference deployments; RUNNING ones with no heartbeat within their lease show STALE.")
    static final class ListInferences extends ListCommand<Inference> {
        private final Instant now = Instant.now();

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
            json.put("liveStatus", item.liveStatus(now));
            json.put("heartbeatAt", item.heartbeatAt() == null ? null : item.heartbeatAt().toString());
            json.put("leaseMs", item.leaseMs());
            json.put("restarts", item.restarts());
            json.put("error", item.error());
            json.put("createdAt", String.valueOf(item.createdAt()));
            json.put("updatedAt", String.valueOf(item.updatedAt()));
            return json;
        }

        @Override
        List<String> header() {
            return List.of("ID", "RESULT", "INPUT", "OUTPUT", "REPLICAS", "STATUS", "LAST SEEN", "RESTARTS", "ERROR");
        }

        @Override
        List<String> row(Registry registry, Inference i) {
            String seen = i.heartbeatAt() == null ? "" : i.heartbeatAt() + " ("
                    + Duration.between(i.heartbeatAt(), now).toSeconds() + " s ago)";
            return List.of(i.id(), i.resultId(), String.valueOf(i.inputTopic()), String.valueOf(i.outputTopic()),
                    String.valueOf(i.replicas()), i.liveStatus(now), seen, String.valueOf(i.restarts()),
                    i.error() == null ? "" : i.error());
        }
    }
}
