package io.kafkaml.server.internals;

import io.javalin.http.HandlerType;
import io.kafkaml.KafkaMl;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.server.internals.Route.Body;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code /models}: register (DL4J JSON or a Keras file), list, show, delete. */
final class ModelRoutes {

    private final KafkaMl ml;

    ModelRoutes(KafkaMl ml, Api api) {
        this.ml = ml;
    }

    void addTo(List<Route> routes) {
        routes.add(Api.route(
                HandlerType.GET,
                "/models",
                "models",
                "List the registered models",
                "GET /models/",
                Body.NONE,
                Body.JSON_ARRAY,
                200,
                List.of(),
                ctx -> ctx.json(
                        ml.models().list().stream().map(ModelRoutes::describe).toList())));
    }

    /** A model as the API shows it (its DL4J configuration only in {@code GET /models/{name}}). */
    static Map<String, Object> describe(ModelDefinition model) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("name", model.name());
        row.put("description", model.description());
        row.put("summary", model.summary());
        row.put("weightsArtifact", model.weightsArtifact().orElse(null));
        return row;
    }
}
