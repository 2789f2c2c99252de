package io.kafkaml.server.internals;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The OpenAPI 3.0 document of {@code /api/v1}, generated from the route table (the same {@link Route} values Javalin
 * serves), built as a Jackson tree: paths, methods, path and query parameters, request and response media types,
 * the token scheme of mutating calls, the error schema, and {@code x-kafka-ml} with the Kafka-ML endpoint of the same
 * meaning.
 */
final class OpenApi {

    private static final Pattern PATH_PARAM = Pattern.compile("\\{([^}]+)}");

    private OpenApi() {}

    static ObjectNode document(List<Route> routes, ObjectMapper json) {
        ObjectNode doc = json.createObjectNode();
        doc.put("openapi", "3.0.3");
        ObjectNode info = doc.putObject("info");
        info.put("title", "kafkaml server API");
        info.put("version", "v1");
        info.put(
                "description",
                "Models, configurations, training deployments, results, datasources and inference "
                        + "deployments of one kafkaml registry. Errors are {status, error, reason}.");
        doc.putArray("servers").addObject().put("url", Api.PREFIX);
        ObjectNode components = doc.putObject("components");
        ObjectNode bearer = components.putObject("securitySchemes").putObject("bearer");
        bearer.put("type", "http");
        bearer.put("scheme", "bearer");
        ObjectNode error = components.putObject("schemas").putObject("Error");
        error.put("type", "object");
        ObjectNode properties = error.putObject("properties");
        properties.putObject("status").put("type", "integer");
        properties.putObject("error").put("type", "string");
        properties.putObject("reason").put("type", "string");
        ObjectNode paths = doc.putObject("paths");
        for (Route route : routes) {
            ObjectNode path =
                    paths.has(route.path()) ? (ObjectNode) paths.get(route.path()) : paths.putObject(route.path());
            ObjectNode operation = path.putObject(route.method().name().toLowerCase(Locale.ROOT));
            operation.putArray("tags").add(route.tag());
            operation.put("summary", route.summary());
            operation.put("operationId", operationId(route));
            if (route.kafkaMl() != null) {
                operation.put("x-kafka-ml", route.kafkaMl());
            }
            ArrayNode parameters = operation.putArray("parameters");
            Matcher matcher = PATH_PARAM.matcher(route.path());
            while (matcher.find()) {
                ObjectNode parameter = parameters.addObject();
                parameter.put("name", matcher.group(1));
                parameter.put("in", "path");
                parameter.put("required", true);
                parameter.putObject("schema").put("type", "string");
            }
            for (String query : route.queryParams()) {
                ObjectNode parameter = parameters.addObject();
                parameter.put("name", query);
                parameter.put("in", "query");
                parameter.putObject("schema").put("type", "string");
            }
            if (route.body() != Route.Body.NONE) {
                ObjectNode body = operation.putObject("requestBody");
                body.put("required", true);
                ObjectNode media = schema(route.body(), json);
                if (!route.fields().isEmpty()) {
                    ObjectNode schema = (ObjectNode) media.get("schema");
                    ObjectNode fieldTypes = schema.putObject("properties");
                    route.fields().forEach((name, type) -> {
                        ObjectNode property = fieldTypes.putObject(name);
                        if (!"any".equals(type)) {
                            property.put("type", type);
                        }
                    });
                    schema.put("additionalProperties", false);
                }
                body.putObject("content").set(route.body().mediaType(), media);
            }
            if (route.mutating()) {
                operation.putArray("security").addObject().putArray("bearer");
            }
            ObjectNode responses = operation.putObject("responses");
            ObjectNode ok = responses.putObject(String.valueOf(route.status()));
            ok.put("description", "done");
            if (route.response() != Route.Body.NONE) {
                ok.putObject("content").set(route.response().mediaType(), schema(route.response(), json));
            }
            ObjectNode failed = responses.putObject("default");
            failed.put("description", "an error: 4xx refused (the reason says why), 5xx failed");
            failed.putObject("content")
                    .putObject("application/json")
                    .putObject("schema")
                    .put("$ref", "#/components/schemas/Error");
        }
        return doc;
    }

    private static ObjectNode schema(Route.Body body, ObjectMapper json) {
        ObjectNode media = json.createObjectNode();
        ObjectNode schema = media.putObject("schema");
        switch (body) {
            case JSON_ARRAY -> schema.put("type", "array").putObject("items").put("type", "object");
            case BINARY -> schema.put("type", "string").put("format", "binary");
            case EVENTS -> schema.put("type", "string");
            default -> schema.put("type", "object");
        }
        return media;
    }

    private static String operationId(Route route) {
        StringBuilder id = new StringBuilder(route.method().name().toLowerCase(Locale.ROOT));
        for (String part : route.path().split("[/{}_]+")) {
            if (!part.isEmpty()) {
                id.append(Character.toUpperCase(part.charAt(0))).append(part.substring(1));
            }
        }
        return id.toString();
    }
}
