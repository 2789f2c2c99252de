package io.kafkaml.server.internals;

import static io.kafkaml.server.internals.Route.Body.BINARY;
import static io.kafkaml.server.internals.Route.Body.JSON_ARRAY;
import static io.kafkaml.server.internals.Route.Body.JSON_OBJECT;
import static io.kafkaml.server.internals.Route.Body.NONE;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import io.kafkaml.KafkaMl;
import io.kafkaml.Training;
import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.inference.InferenceSpec;
import io.kafkaml.inference.InferenceStats;
import io.kafkaml.inference.LocalInference;
import io.kafkaml.keras.KerasModels;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.Datasource;
import io.kafkaml.registry.Deployment;
import io.kafkaml.registry.EntityNotFoundException;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.server.internals.Route.Body;
import io.kafkaml.training.TrainingSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The route table of {@code /api/v1}. Where Kafka-ML's back end (its Django {@code automl/urls.py}) has an endpoint of
 * the same meaning, the path keeps its name and {@link Route#kafkaMl()} names it.
 */
final class Routes {

    private final KafkaMl ml;
    private final ObjectMapper json;
    private final long maxArtifactBytes;
    private final Map<String, Training> trainings = new ConcurrentHashMap<>();
    private final Map<String, LocalInference> inferences;
    private final List<Route> table = new ArrayList<>();

    Routes(KafkaMl ml, ObjectMapper json, Map<String, LocalInference> inferences) {
        this.ml = ml;
        this.json = json;
        this.inferences = inferences;
        this.maxArtifactBytes = KafkaMlConfig.maxArtifactBytes(ml.config().originals());
        models();
        configurations();
        deployments();
        results();
        datasources();
        inferencesRoutes();
    }

    List<Route> table() {
        return table;
    }

    private void add(
            HandlerType method,
            String path,
            String tag,
            String summary,
            String kafkaMl,
            Body body,
            Body response,
            int status,
            List<String> query,
            Handler handler) {
        table.add(new Route(method, path, tag, summary, kafkaMl, body, response, status, query, ctx -> {
            handler.handle(ctx);
            if (ctx.statusCode() == 200 && status != 200) {
                ctx.status(status);
            }
        }));
    }

    // ---- models

    private void models() {
        add(
                HandlerType.GET,
                "/models",
                "models",
                "List the registered models",
                "GET /models/",
                NONE,
                JSON_ARRAY,
                200,
                List.of(),
                ctx -> ctx.json(
                        ml.models().list().stream().map(Routes::describe).toList()));
        add(
                HandlerType.POST,
                "/models",
                "models",
                "Register a model from DL4J configuration JSON: {name, description, configuration}; validated (the "
                        + "network is built) before it is stored",
                "POST /models/",
                JSON_OBJECT,
                JSON_OBJECT,
                201,
                List.of(),
                ctx -> {
                    JsonNode body = body(ctx);
                    JsonNode configuration = required(body, "configuration");
                    String text = configuration.isTextual() ? configuration.asText() : configuration.toString();
                    ModelDefinition model = ml.models()
                            .register(ModelDefinition.fromJson(
                                    text(body, "name"), body.path("description").asText(""), text));
                    ctx.json(describe(model));
                });
        add(
                HandlerType.POST,
                "/models/{name}/keras",
                "models",
                "Register a model from a Keras 2 .h5 file (the request body; ?description=); size-limited by "
                        + KafkaMlConfig.MAX_ARTIFACT_BYTES_CONFIG + ", imported before anything is stored",
                null,
                BINARY,
                JSON_OBJECT,
                201,
                List.of("description"),
                this::uploadKeras);
        add(
                HandlerType.GET,
                "/models/{name}",
                "models",
                "Show a model with its DL4J configuration",
                "GET /models/<pk>",
                NONE,
                JSON_OBJECT,
                200,
                List.of(),
                ctx -> {
                    String name = ctx.pathParam("name");
                    ModelDefinition model =
                            ml.models().get(name).orElseThrow(() -> new EntityNotFoundException("model", name));
                    Map<String, Object> description = describe(model);
                    description.put("configuration", model.configuration());
                    ctx.json(description);
                });
        add(
                HandlerType.DELETE,
                "/models/{name}",
                "models",
                "Delete a model (refused while a configuration uses it)",
                "DELETE /models/<pk>",
                NONE,
                NONE,
                204,
                List.of(),
                ctx -> ml.models().delete(ctx.pathParam("name")));
    }

    private void uploadKeras(Context ctx) throws IOException {
        long declared = ctx.contentLength();
        if (declared > maxArtifactBytes) {
            throw tooLarge(declared);
        }
        byte[] bytes = ctx.bodyAsBytes();
        if (bytes.length > maxArtifactBytes) {
            throw tooLarge(bytes.length);
        }
        if (bytes.length == 0) {
            throw new ApiException(400, "The request body is empty: send the Keras .h5 file as the body");
        }
        Path file = Files.createTempFile("kafkaml-upload-", ".h5");
        try {
            Files.write(file, bytes);
            if (!KerasModels.isKerasFile(file)) {
                throw new ApiException(400, "The body is not a Keras .h5 file (no HDF5 signature)");
            }
            KerasModels.ImportedModel imported = KerasModels.importModel(
                    ctx.pathParam("name"),
                    ctx.queryParamAsClass("description", String.class).getOrDefault(""),
                    file,
                    ml.config().originals());
            ModelDefinition model = ml.registry().registerModel(imported.definition(), imported.network());
            Map<String, Object> answer = describe(model);
            answer.put("notes", imported.notes());
            ctx.json(answer);
        } finally {
            Files.deleteIfExists(file);
        }
    }

    private ApiException tooLarge(long bytes) {
        return new ApiException(
                413,
                "The model file holds " + bytes + " bytes, over the limit of " + maxArtifactBytes
                        + " bytes (" + KafkaMlConfig.MAX_ARTIFACT_BYTES_CONFIG + "): raise "
                        + KafkaMlConfig.MAX_ARTIFACT_BYTES_CONFIG + " to register it");
    }

    /** A model as the API lists it. */
    static Map<String, Object> describe(ModelDefinition model) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("name", model.name());
        row.put("description", model.description());
        row.put("summary", model.summary());
        row.put("weightsArtifact", model.weightsArtifact().orElse(null));
        return row;
    }

    // ---- configurations

    private void configurations() {
        add(
                HandlerType.GET,
                "/configurations",
                "configurations",
                "List the configurations",
                "GET /configurations/",
                NONE,
                JSON_ARRAY,
                200,
                List.of(),
                ctx -> ctx.json(ml.configurations().list()));
        add(
                HandlerType.POST,
                "/configurations",
                "configurations",
                "Create a configuration: {name, description, models: [model names]}",
                "POST /configurations/",
                JSON_OBJECT,
                JSON_OBJECT,
                201,
                List.of(),
                ctx -> {
                    JsonNode body = body(ctx);
                    List<String> models = new ArrayList<>();
                    required(body, "models").forEach(m -> models.add(m.asText()));
                    ctx.json(ml.configurations()
                            .create(new Configuration(
                                    text(body, "name"), body.path("description").asText(""), models)));
                });
        add(
                HandlerType.GET,
                "/configurations/{name}",
                "configurations",
                "Show a configuration",
                "GET /configurations/<pk>",
                NONE,
                JSON_OBJECT,
                200,
                List.of(),
                ctx -> {
                    String name = ctx.pathParam("name");
                    ctx.json(ml.configurations()
                            .get(name)
                            .orElseThrow(() -> new EntityNotFoundException("configuration", name)));
                });
        add(
                HandlerType.DELETE,
                "/configurations/{name}",
                "configurations",
                "Delete a configuration",
                "DELETE /configurations/<pk>",
                NONE,
                NONE,
                204,
                List.of(),
                ctx -> ml.configurations().delete(ctx.pathParam("name")));
    }

    // ---- training deployments

    private void deployments() {
        add(
                HandlerType.GET,
                "/deployments",
                "deployments",
                "List the training deployments",
                "GET /deployments/",
                NONE,
                JSON_ARRAY,
                200,
                List.of(),
                ctx -> ctx.json(ml.registry().deployments()));
        add(
                HandlerType.POST,
                "/deployments",
                "deployments",
                "Deploy a configuration for training: {configuration, deploymentId?, spec: TrainingSpec fields "
                        + "(batchSize, epochs, shuffle, seed, splitOrder, normalization, ...)}; it waits for its data "
                        + "stream on the control topic",
                "POST /deployments/",
                JSON_OBJECT,
                JSON_OBJECT,
                201,
                List.of(),
                ctx -> {
                    JsonNode body = body(ctx);
                    String configuration = text(body, "configuration");
                    Map<String, Object> fields = body.has("spec") ? json.convertValue(body.get("spec"), MAP) : Map.of();
                    TrainingSpec spec = TrainingSpec.fromMap(fields);
                    Training training = body.hasNonNull("deploymentId")
                            ? ml.train(
                                    configuration,
                                    spec,
                                    body.get("deploymentId").asText())
                            : ml.train(configuration, spec);
                    trainings.put(training.deploymentId(), training);
                    ctx.json(deployment(training.deploymentId()));
                });
        add(
                HandlerType.GET,
                "/deployments/{id}",
                "deployments",
                "A training deployment's status",
                null,
                NONE,
                JSON_OBJECT,
                200,
                List.of(),
                ctx -> ctx.json(deployment(ctx.pathParam("id"))));
        add(
                HandlerType.POST,
                "/deployments/{id}/cancel",
                "deployments",
                "Cancel a training deployment started by this server (its results end CANCELLED)",
                "POST /results/stop/<pk>",
                NONE,
                JSON_OBJECT,
                200,
                List.of(),
                ctx -> {
                    String id = ctx.pathParam("id");
                    Training training = trainings.get(id);
                    if (training == null) {
                        deployment(id); // 404 when unknown
                        throw new ApiException(
                                409,
                                "Deployment '" + id + "' was not started by this server: " + "cancel it where it runs");
                    }
                    training.cancel();
                    ctx.json(deployment(id));
                });
        add(
                HandlerType.GET,
                "/deployments/results/{id}",
                "deployments",
                "The results of a training deployment",
                "GET /deployments/results/<pk>",
                NONE,
                JSON_ARRAY,
                200,
                List.of(),
                ctx -> ctx.json(ml.results().of(ctx.pathParam("id"))));
    }

    private Deployment deployment(String id) {
        return ml.registry().deployment(id).orElseThrow(() -> new EntityNotFoundException("deployment", id));
    }

    // ---- results

    private void results() {
        add(
                HandlerType.GET,
                "/results",
                "results",
                "List the training results",
                "GET /results/",
                NONE,
                JSON_ARRAY,
                200,
                List.of(),
                ctx -> ctx.json(ml.results().list()));
        add(
                HandlerType.GET,
                "/results/{id}",
                "results",
                "A result: status, test metrics, confusion matrix, last and best epoch",
                "GET /results/<pk>",
                NONE,
                JSON_OBJECT,
                200,
                List.of(),
                ctx -> ctx.json(result(ctx.pathParam("id"))));
        add(
                HandlerType.GET,
                "/results/chart/{id}",
                "results",
                "The per-epoch metrics of a result, in epoch order",
                "GET /results/chart/<pk>",
                NONE,
                JSON_ARRAY,
                200,
                List.of(),
                ctx -> {
                    result(ctx.pathParam("id"));
                    ctx.json(ml.results().epochs(ctx.pathParam("id")));
                });
        add(
                HandlerType.GET,
                "/results/confusion_matrix/{id}",
                "results",
                "The confusion matrix of a result's test split: {labels, matrix} (rows actual, columns predicted)",
                "GET /results/confusion_matrix/<pk>",
                NONE,
                JSON_OBJECT,
                200,
                List.of(),
                ctx -> {
                    TrainingResult result = result(ctx.pathParam("id"));
                    if (result.confusionMatrix() == null) {
                        throw new ApiException(
                                404,
                                "Result '" + result.id() + "' has no confusion matrix (status " + result.status()
                                        + "; it needs a test split and a classifier)");
                    }
                    Map<String, Object> answer = new LinkedHashMap<>();
                    answer.put("result", result.id());
                    answer.put("matrix", result.confusionMatrix());
                    ctx.json(answer);
                });
        add(
                HandlerType.GET,
                "/results/model/{id}",
                "results",
                "Download the trained model (DL4J ModelSerializer bytes); header X-Checksum-SHA256 holds its digest",
                "GET /results/model/<pk>",
                NONE,
                BINARY,
                200,
                List.of(),
                ctx -> {
                    TrainingResult result = result(ctx.pathParam("id"));
                    byte[] bytes = ml.results().model(result.id());
                    String sha256 = ml.registry()
                            .artifact(result.artifact())
                            .map(a -> a.sha256())
                            .orElse("");
                    ctx.header("X-Checksum-SHA256", sha256);
                    ctx.header("Content-Disposition", "attachment; filename=\"" + result.id() + ".zip\"");
                    ctx.contentType("application/octet-stream").result(bytes);
                });
    }

    private TrainingResult result(String id) {
        return ml.results().get(id).orElseThrow(() -> new EntityNotFoundException("result", id));
    }

    // ---- datasources

    private void datasources() {
        add(
                HandlerType.GET,
                "/datasources",
                "datasources",
                "The cataloged data streams, each with its availability (expired slices, deleted topics)",
                "GET /datasources/",
                NONE,
                JSON_ARRAY,
                200,
                List.of(),
                ctx -> {
                    List<Map<String, Object>> rows = new ArrayList<>();
                    for (Datasource datasource : ml.datasources().list()) {
                        Map<String, Object> row = json.convertValue(datasource, MAP);
                        row.put("availability", ml.registry().availability(datasource));
                        rows.add(row);
                    }
                    ctx.json(rows);
                });
        add(
                HandlerType.POST,
                "/datasources/kafka",
                "datasources",
                "Re-send a cataloged data stream to a training deployment: {datasource, deploymentId}; no data copied",
                "POST /datasources/kafka",
                JSON_OBJECT,
                JSON_OBJECT,
                200,
                List.of(),
                ctx -> {
                    JsonNode body = body(ctx);
                    ctx.contentType("application/json")
                            .result(ml.datasources()
                                    .resend(text(body, "datasource"), text(body, "deploymentId"))
                                    .toJson());
                });
    }

    // ---- inference deployments

    private void inferencesRoutes() {
        add(
                HandlerType.GET,
                "/inferences",
                "inferences",
                "The inference deployments in the registry, with the counters of those this server runs",
                "GET /inferences/",
                NONE,
                JSON_ARRAY,
                200,
                List.of(),
                ctx -> ctx.json(ml.registry().inferences().stream()
                        .map(i -> inference(i.id()))
                        .toList()));
        add(
                HandlerType.POST,
                "/inferences",
                "inferences",
                "Serve a trained model: {resultId, inputTopic, outputTopic, replicas?, id?, maxBatchSize?, "
                        + "deadLetterTopic?}; replicas run in this server",
                "POST /results/inference/<pk>",
                JSON_OBJECT,
                JSON_OBJECT,
                201,
                List.of(),
                ctx -> {
                    JsonNode body = body(ctx);
                    String resultId = text(body, "resultId");
                    result(resultId);
                    InferenceSpec.Builder spec = InferenceSpec.builder(
                                    resultId, text(body, "inputTopic"), text(body, "outputTopic"))
                            .replicas(body.path("replicas").asInt(1));
                    if (body.hasNonNull("maxBatchSize")) {
                        spec.maxBatchSize(body.get("maxBatchSize").asInt());
                    }
                    if (body.hasNonNull("deadLetterTopic")) {
                        spec.deadLetterTopic(body.get("deadLetterTopic").asText());
                    }
                    LocalInference inference = body.hasNonNull("id")
                            ? ml.serve(body.get("id").asText(), spec.build())
                            : ml.serve(spec.build());
                    inferences.put(inference.id(), inference);
                    ctx.json(inference(inference.id()));
                });
        add(
                HandlerType.GET,
                "/inferences/{id}",
                "inferences",
                "An inference deployment: its record and, when this server runs it, replicas and counters",
                null,
                NONE,
                JSON_OBJECT,
                200,
                List.of(),
                ctx -> ctx.json(inference(ctx.pathParam("id"))));
        add(
                HandlerType.POST,
                "/inferences/{id}/scale",
                "inferences",
                "Scale an inference deployment this server runs: {replicas}",
                null,
                JSON_OBJECT,
                JSON_OBJECT,
                200,
                List.of(),
                ctx -> {
                    int replicas = required(body(ctx), "replicas").asInt(-1);
                    running(ctx.pathParam("id")).scale(replicas);
                    ctx.json(inference(ctx.pathParam("id")));
                });
        add(
                HandlerType.POST,
                "/inferences/{id}/stop",
                "inferences",
                "Stop an inference deployment this server runs (each replica finishes and commits its batch)",
                "POST /inferences/<pk>",
                NONE,
                JSON_OBJECT,
                200,
                List.of(),
                ctx -> {
                    LocalInference inference = running(ctx.pathParam("id"));
                    inference.close();
                    inferences.remove(inference.id(), inference);
                    ctx.json(inference(ctx.pathParam("id")));
                });
    }

    private LocalInference running(String id) {
        LocalInference inference = inferences.get(id);
        if (inference == null || inference.state() != LocalInference.State.RUNNING) {
            if (ml.registry().inference(id).isEmpty()) {
                throw new EntityNotFoundException("inference", id);
            }
            throw new ApiException(409, "Inference '" + id + "' is not running in this server");
        }
        return inference;
    }

    /** An inference deployment's record, and its live counters when this server runs it. */
    Map<String, Object> inference(String id) {
        Map<String, Object> answer = new LinkedHashMap<>();
        ml.registry().inference(id).ifPresent(record -> answer.put("record", record));
        LocalInference local = inferences.get(id);
        if (local == null && answer.isEmpty()) {
            throw new EntityNotFoundException("inference", id);
        }
        answer.put("id", id);
        if (local != null) {
            answer.put("state", local.state());
            answer.put("replicas", local.replicas().size());
            answer.put("failure", local.failure());
            answer.put("counters", counters(local.stats()));
        }
        return answer;
    }

    static Map<String, Object> counters(InferenceStats stats) {
        Map<String, Object> counters = new LinkedHashMap<>();
        counters.put("recordsIn", stats.recordsIn());
        counters.put("recordsOut", stats.recordsOut());
        counters.put("deadLettered", stats.deadLettered());
        counters.put("dropped", stats.dropped());
        counters.put("batches", stats.batches());
        counters.put("batchLatencyP50Millis", stats.batchLatencyMillis(50));
        counters.put("batchLatencyP99Millis", stats.batchLatencyMillis(99));
        return counters;
    }

    // ---- request bodies

    private static final com.fasterxml.jackson.core.type.TypeReference<Map<String, Object>> MAP =
            new com.fasterxml.jackson.core.type.TypeReference<>() {};

    private JsonNode body(Context ctx) {
        String text = ctx.body();
        if (text.isBlank()) {
            throw new ApiException(400, "The request body is empty: send a JSON object");
        }
        try {
            JsonNode node = json.readTree(text);
            if (node == null || !node.isObject()) {
                throw new ApiException(400, "The request body must be a JSON object");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new ApiException(
                    400,
                    "Malformed JSON in the request body: " + e.getOriginalMessage()
                            + (e.getLocation() == null
                                    ? ""
                                    : " (line " + e.getLocation().getLineNr() + ", column "
                                            + e.getLocation().getColumnNr() + ")"));
        }
    }

    private static JsonNode required(JsonNode body, String field) {
        JsonNode value = body.get(field);
        if (value == null || value.isNull()) {
            throw new ApiException(400, "Missing field '" + field + "' in the request body");
        }
        return value;
    }

    private static String text(JsonNode body, String field) {
        JsonNode value = required(body, field);
        if (!value.isTextual() || value.asText().isBlank()) {
            throw new ApiException(400, "Field '" + field + "' must be a non-empty string");
        }
        return value.asText();
    }
}
