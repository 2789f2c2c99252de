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
import io.kafkaml.metrics.InferenceMetrics;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.ControlLogger;
import io.kafkaml.registry.Datasource;
import io.kafkaml.registry.Deployment;
import io.kafkaml.registry.EntityNotFoundException;
import io.kafkaml.registry.ModelVersion;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.server.internals.Route.Body;
import io.kafkaml.training.TrainingSpec;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The route table of {@code /api/v1}. Where Kafka-ML's back end (its Django {@code automl/urls.py}) has an endpoint of
 * the same meaning, the path keeps its name and {@link Route#kafkaMl()} names it.
 *
 * <p>Each route is declared as {@code get(path, tag, summary)} (or {@code post}, {@code delete}) with what the OpenAPI
 * document says of it, then its code: {@link Declared#json} answers the value it returns as JSON, {@link
 * Declared#handle} answers by itself. A lookup that finds nothing throws {@link EntityNotFoundException} through
 * {@link #found}, which {@link ApiError} turns into a 404 with the one-line reason.
 */
final class Routes implements AutoCloseable {

    private final KafkaMl ml;
    private final ObjectMapper json;
    private final long maxArtifactBytes;
    private final Map<String, Training> trainings = new ConcurrentHashMap<>();
    private final Map<String, LocalInference> inferences;
    /** The meters of the inference deployments started here (by deployment object), bound while they run. */
    private final Map<LocalInference, InferenceMetrics> inferenceMeters = new ConcurrentHashMap<>();
    /** Ids of inference deployments a request is starting now (a second start of the same id is refused). */
    private final java.util.Set<String> starting = ConcurrentHashMap.newKeySet();
    /** Ids of inference deployments a request is scaling now (a second scale is refused until it answers). */
    private final java.util.Set<String> scaling = ConcurrentHashMap.newKeySet();

    private final int maxReplicas;
    private final java.util.concurrent.atomic.AtomicBoolean closing;

    /** How long a cancel waits for the deployment to end before it answers 202. */
    private static final java.time.Duration CANCEL_WAIT = java.time.Duration.ofSeconds(10);

    private final MeterRegistry meters;
    private final List<Route> table = new ArrayList<>();

    Routes(
            KafkaMl ml,
            ObjectMapper json,
            Map<String, LocalInference> inferences,
            MeterRegistry meters,
            int maxReplicas,
            java.util.concurrent.atomic.AtomicBoolean closing) {
        this.ml = ml;
        this.maxReplicas = maxReplicas;
        this.closing = closing;
        this.json = json;
        this.inferences = inferences;
        this.meters = meters;
        this.maxArtifactBytes = KafkaMlConfig.maxArtifactBytes(ml.config().originals());
        models();
        configurations();
        deployments();
        results();
        datasources();
        inferencesRoutes();
        health();
    }

    /** Removes the meters of the inference deployments started here (the deployments are closed by {@link Api}). */
    @Override
    public void close() {
        inferenceMeters.values().forEach(InferenceMetrics::close);
        inferenceMeters.clear();
    }

    List<Route> table() {
        return table;
    }

    // ---- declaring routes

    /** The code of a route that answers a value as JSON. */
    @FunctionalInterface
    private interface Answer {
        Object answer(Context ctx) throws Exception;
    }

    /** A route being declared: what the OpenAPI document says of it (defaults: no body, a JSON object, 200). */
    private final class Declared {
        private final HandlerType method;
        private final String path;
        private final String tag;
        private final String summary;
        private String kafkaMl;
        private Body body = NONE;
        private Body response = JSON_OBJECT;
        private int status = 200;
        private List<String> query = List.of();
        private final Map<String, String> fields = new LinkedHashMap<>();

        private Declared(HandlerType method, String path, String tag, String summary) {
            this.method = method;
            this.path = path;
            this.tag = tag;
            this.summary = summary;
        }

        /** The Kafka-ML back-end endpoint of the same meaning. */
        Declared kafkaMl(String endpoint) {
            this.kafkaMl = endpoint;
            return this;
        }

        /** The request body (default none). */
        Declared body(Body body) {
            this.body = body;
            return this;
        }

        /** What a successful answer holds (default a JSON object). */
        Declared response(Body response) {
            this.response = response;
            return this;
        }

        /** The status of a successful answer (default 200). */
        Declared status(int status) {
            this.status = status;
            return this;
        }

        /** The query parameters it reads. */
        Declared query(String... names) {
            this.query = List.of(names);
            return this;
        }

        /**
         * The fields of its JSON object body as {@code name:type} (JSON Schema type, or {@code any}): the OpenAPI
         * document lists them and {@link Routes#body} refuses any other.
         */
        Declared fields(String... namesAndTypes) {
            for (String field : namesAndTypes) {
                int colon = field.indexOf(':');
                fields.put(field.substring(0, colon), field.substring(colon + 1));
            }
            return this;
        }

        /** Answers what {@code answer} returns as JSON with the declared status. */
        void json(Answer answer) {
            handle(ctx -> ctx.json(answer.answer(ctx)));
        }

        /** Answers as {@code handler} does; a 200 it leaves becomes the declared status. */
        void handle(Handler handler) {
            int declared = status;
            List<String> names = List.copyOf(fields.keySet());
            table.add(new Route(
                    method, path, tag, summary, kafkaMl, body, response, declared, query, Map.copyOf(fields), ctx -> {
                        ctx.attribute(FIELDS, names);
                        handler.handle(ctx);
                        if (ctx.statusCode() == 200 && declared != 200) {
                            ctx.status(declared);
                        }
                    }));
        }
    }

    private Declared get(String path, String tag, String summary) {
        return new Declared(HandlerType.GET, path, tag, summary);
    }

    private Declared post(String path, String tag, String summary) {
        return new Declared(HandlerType.POST, path, tag, summary);
    }

    private Declared delete(String path, String tag, String summary) {
        return new Declared(HandlerType.DELETE, path, tag, summary)
                .response(NONE)
                .status(204);
    }

    /**
     * The value of a lookup, or a 404 naming what was looked for.
     *
     * @param kind what it is, as {@link EntityNotFoundException} names it ({@code model}, {@code result}, ...)
     */
    private static <T> T found(Optional<T> value, String kind, String id) {
        return value.orElseThrow(() -> new EntityNotFoundException(kind, id));
    }

    private static String id(Context ctx) {
        return ctx.pathParam("id");
    }

    private static String name(Context ctx) {
        return ctx.pathParam("name");
    }

    // ---- models

    private void models() {
        get("/models", "models", "List the registered models")
                .kafkaMl("GET /models/")
                .response(JSON_ARRAY)
                .json(ctx -> ml.models().list().stream().map(Routes::describe).toList());
        post(
                        "/models",
                        "models",
                        "Register a model from DL4J configuration JSON: {name, description, configuration}; validated "
                                + "(the network is built) before it is stored")
                .kafkaMl("POST /models/")
                .body(JSON_OBJECT)
                .fields("name:string", "description:string", "configuration:any")
                .status(201)
                .json(ctx -> {
                    JsonNode body = body(ctx);
                    JsonNode configuration = required(body, "configuration");
                    String text = configuration.isTextual() ? configuration.asText() : configuration.toString();
                    return describe(ml.models()
                            .register(ModelDefinition.fromJson(
                                    text(body, "name"), optionalText(body, "description", ""), text)));
                });
        post(
                        "/models/{name}/keras",
                        "models",
                        "Register a model from a Keras 2 .h5 file (the request body; ?description=); size-limited by "
                                + KafkaMlConfig.MAX_ARTIFACT_BYTES_CONFIG + ", imported before anything is stored")
                .body(BINARY)
                .status(201)
                .query("description")
                .json(this::uploadKeras);
        get("/models/{name}", "models", "Show a model with its DL4J configuration")
                .kafkaMl("GET /models/<pk>")
                .json(ctx -> {
                    ModelDefinition model = found(ml.models().get(name(ctx)), "model", name(ctx));
                    Map<String, Object> description = describe(model);
                    description.put("configuration", model.configuration());
                    return description;
                });
        delete("/models/{name}", "models", "Delete a model (refused while a configuration uses it)")
                .kafkaMl("DELETE /models/<pk>")
                .handle(ctx -> ml.models().delete(name(ctx)));
    }

    private Map<String, Object> uploadKeras(Context ctx) throws IOException {
        long declared = ctx.contentLength();
        if (declared > maxArtifactBytes) {
            throw tooLarge(declared);
        }
        String type = RequestChecks.mediaType(ctx.header("Content-Type"));
        if (!type.equals("application/octet-stream") && !type.equals("application/x-hdf5")) {
            throw new ApiException(
                    415,
                    "Send the .h5 file as 'Content-Type: application/octet-stream' (was "
                            + (type.isEmpty() ? "none" : "'" + type + "'") + ")");
        }
        Path file = Files.createTempFile("kafkaml-upload-", ".h5");
        try {
            // streamed to the file and counted as it comes (a chunked body declares no length): never more than the
            // limit is read or held
            long copied = 0;
            try (java.io.InputStream in = ctx.bodyInputStream();
                    java.io.OutputStream out = Files.newOutputStream(file)) {
                byte[] buffer = new byte[64 * 1024];
                for (int read = in.read(buffer); read >= 0; read = in.read(buffer)) {
                    copied += read;
                    if (copied > maxArtifactBytes) {
                        throw new ApiException(
                                413,
                                "The model file holds more than the limit of " + maxArtifactBytes + " bytes ("
                                        + KafkaMlConfig.MAX_ARTIFACT_BYTES_CONFIG + "): raise "
                                        + KafkaMlConfig.MAX_ARTIFACT_BYTES_CONFIG + " to register it");
                    }
                    out.write(buffer, 0, read);
                }
            }
            if (copied == 0) {
                throw new ApiException(400, "The request body is empty: send the Keras .h5 file as the body");
            }
            if (!KerasModels.isKerasFile(file)) {
                throw new ApiException(400, "The body is not a Keras .h5 file (no HDF5 signature)");
            }
            KerasModels.ImportedModel imported;
            try {
                imported = KerasModels.importModel(
                        name(ctx),
                        ctx.queryParamAsClass("description", String.class).getOrDefault(""),
                        file,
                        ml.config().originals());
            } catch (io.kafkaml.model.InvalidModelException e) {
                // the reason names the upload, not the server's temporary file
                throw new io.kafkaml.model.InvalidModelException(
                        String.valueOf(e.getMessage()).replace(file.toString(), "(the request body)"), e);
            }
            ModelDefinition model = ml.registry().registerModel(imported.definition(), imported.network());
            Map<String, Object> answer = describe(model);
            answer.put("notes", imported.notes());
            return answer;
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
        get("/configurations", "configurations", "List the configurations")
                .kafkaMl("GET /configurations/")
                .response(JSON_ARRAY)
                .json(ctx -> ml.configurations().list());
        post("/configurations", "configurations", "Create a configuration: {name, description, models: [model names]}")
                .kafkaMl("POST /configurations/")
                .body(JSON_OBJECT)
                .fields("name:string", "description:string", "models:array")
                .status(201)
                .json(ctx -> {
                    JsonNode body = body(ctx);
                    JsonNode names = required(body, "models");
                    if (!names.isArray()) {
                        throw new ApiException(400, "Field 'models' must be an array of model names");
                    }
                    List<String> models = new ArrayList<>();
                    for (JsonNode model : names) {
                        if (!model.isTextual() || model.asText().isBlank()) {
                            throw new ApiException(400, "Field 'models' must be an array of model names, got " + names);
                        }
                        models.add(model.asText());
                    }
                    return ml.configurations()
                            .create(new Configuration(
                                    text(body, "name"), optionalText(body, "description", ""), models));
                });
        get("/configurations/{name}", "configurations", "Show a configuration")
                .kafkaMl("GET /configurations/<pk>")
                .json(ctx -> found(ml.configurations().get(name(ctx)), "configuration", name(ctx)));
        delete("/configurations/{name}", "configurations", "Delete a configuration")
                .kafkaMl("DELETE /configurations/<pk>")
                .handle(ctx -> ml.configurations().delete(name(ctx)));
    }

    // ---- training deployments

    private void deployments() {
        get("/deployments", "deployments", "List the training deployments")
                .kafkaMl("GET /deployments/")
                .response(JSON_ARRAY)
                .json(ctx -> ml.registry().deployments());
        post(
                        "/deployments",
                        "deployments",
                        "Deploy a configuration for training: {configuration, deploymentId? (string or number), "
                                + "spec?: TrainingSpec fields, each optional with the defaults of TrainingSpec.builder() "
                                + "(epochs 1, batchSize 32, shuffle false, seed 42, evaluationBatchSize 256, "
                                + "normalization none|standardize|min-max, splitOrder shuffled, badRecordPolicy fail, "
                                + "earlyStoppingMetric, earlyStoppingPatience, incremental {...}, semiSupervised {...})}; "
                                + "it waits for its data stream on the control topic")
                .kafkaMl("POST /deployments/")
                .body(JSON_OBJECT)
                .fields("configuration:string", "deploymentId:any", "spec:object")
                .status(201)
                .json(ctx -> {
                    JsonNode body = body(ctx);
                    String configuration = text(body, "configuration");
                    Map<String, Object> fields = SpecFields.check(body.get("spec"), json);
                    TrainingSpec spec = TrainingSpec.fromMap(fields);
                    Training training = body.hasNonNull("deploymentId")
                            ? ml.train(configuration, spec, idText(body, "deploymentId"))
                            : ml.train(configuration, spec);
                    trainings.put(training.deploymentId(), training);
                    return deployment(training.deploymentId());
                });
        get("/deployments/{id}", "deployments", "A training deployment's status")
                .json(ctx -> deployment(id(ctx)));
        post(
                        "/deployments/{id}/cancel",
                        "deployments",
                        "Cancel a training deployment started by this server: the record after the cancel, CANCELLED "
                                + "(200), or 202 with the record as it is when its runner has not stopped within 10 s; "
                                + "409 when it has already ended")
                .kafkaMl("POST /results/stop/<pk>")
                .handle(ctx -> {
                    Deployment known = deployment(id(ctx)); // 404 when unknown
                    if (known.status().isTerminal()) {
                        throw new ApiException(
                                409, "Deployment '" + id(ctx) + "' has already ended (" + known.status() + ")");
                    }
                    Training training = trainings.get(id(ctx));
                    if (training == null) {
                        throw new ApiException(
                                409,
                                "Deployment '" + id(ctx) + "' was not started by this server: cancel it where it runs");
                    }
                    training.cancel();
                    // the answer is the record after the cancel: CANCELLED (200) once its runner has stopped, else
                    // the record as it is (202: the cancel goes on)
                    boolean ended = training.await(CANCEL_WAIT).isPresent();
                    ctx.status(ended ? 200 : 202).json(deployment(id(ctx)));
                });
        get("/deployments/results/{id}", "deployments", "The results of a training deployment")
                .kafkaMl("GET /deployments/results/<pk>")
                .response(JSON_ARRAY)
                .json(ctx -> ml.results().of(deployment(id(ctx)).id()));
    }

    private Deployment deployment(String id) {
        return found(ml.registry().deployment(id), "deployment", id);
    }

    private TrainingResult result(String id) {
        return found(ml.results().get(id), "result", id);
    }

    // ---- results

    private void results() {
        get("/results", "results", "List the training results")
                .kafkaMl("GET /results/")
                .response(JSON_ARRAY)
                .json(ctx -> ml.results().list());
        get("/results/{id}", "results", "A result: status, test metrics, confusion matrix, last and best epoch")
                .kafkaMl("GET /results/<pk>")
                .json(ctx -> result(id(ctx)));
        get("/results/chart/{id}", "results", "The per-epoch metrics of a result, in epoch order")
                .kafkaMl("GET /results/chart/<pk>")
                .response(JSON_ARRAY)
                .json(ctx -> ml.results().epochs(result(id(ctx)).id()));
        get(
                        "/results/confusion_matrix/{id}",
                        "results",
                        "The confusion matrix of a result's test split: {result, labels (class indices, as strings), "
                                + "matrix (rows actual, columns predicted)}")
                .kafkaMl("GET /results/confusion_matrix/<pk>")
                .json(ctx -> {
                    TrainingResult result = result(id(ctx));
                    if (result.confusionMatrix() == null) {
                        throw new ApiException(
                                404,
                                "Result '" + result.id() + "' has no confusion matrix (status " + result.status()
                                        + "; it needs a test split and a classifier)");
                    }
                    Map<String, Object> answer = new LinkedHashMap<>();
                    answer.put("result", result.id());
                    // the class indices of the labels (a kafkaml stream's labels are class numbers)
                    answer.put(
                            "labels",
                            java.util.stream.IntStream.range(0, result.confusionMatrix().length)
                                    .mapToObj(String::valueOf)
                                    .toList());
                    answer.put("matrix", result.confusionMatrix());
                    return answer;
                });
        get(
                        "/results/model/{id}",
                        "results",
                        "Download the trained model (DL4J ModelSerializer bytes); header X-Checksum-SHA256 holds its "
                                + "digest")
                .kafkaMl("GET /results/model/<pk>")
                .response(BINARY)
                .handle(ctx -> {
                    TrainingResult result = result(id(ctx));
                    if (result.artifact() == null) {
                        throw new ApiException(
                                409,
                                "Result '" + result.id() + "' has no trained model yet (status " + result.status()
                                        + ")");
                    }
                    byte[] bytes = ml.results().model(result.id());
                    ml.registry()
                            .artifact(result.artifact())
                            .map(a -> a.sha256())
                            .ifPresent(sha256 -> ctx.header("X-Checksum-SHA256", sha256));
                    ctx.header("Content-Disposition", "attachment; filename=\"" + result.id() + ".zip\"");
                    ctx.contentType("application/octet-stream").result(bytes);
                });
        get(
                        "/results/{id}/versions",
                        "results",
                        "The model versions of a result (incremental training publishes one per window): {result, "
                                + "promoted (the version in serving, or null), versions: [ModelVersion], promotions: "
                                + "[Promotion], oldest first}")
                .json(ctx -> {
                    TrainingResult result = result(id(ctx));
                    Map<String, Object> answer = new LinkedHashMap<>();
                    answer.put("result", result.id());
                    answer.put(
                            "promoted",
                            ml.results()
                                    .promotedVersion(result.id())
                                    .map(ModelVersion::version)
                                    .orElse(null));
                    answer.put("versions", ml.results().versions(result.id()));
                    answer.put("promotions", ml.results().promotions(result.id()));
                    return answer;
                });
        post(
                        "/results/{id}/promote",
                        "results",
                        "Promote a version of a result into serving: {version, reason?}; an older version than the "
                                + "promoted one is a rollback. Inference deployments that follow the result switch to "
                                + "it between batches")
                .body(JSON_OBJECT)
                .fields("version:integer", "reason:string")
                .json(ctx -> {
                    JsonNode body = body(ctx);
                    TrainingResult result = result(id(ctx));
                    JsonNode version = required(body, "version");
                    if (!version.canConvertToExactIntegral() || version.asInt() < 1) {
                        throw new ApiException(400, "Field 'version' must be a version number (1, 2, ...)");
                    }
                    return ml.results().promote(result.id(), version.asInt(), optionalText(body, "reason", "manual"));
                });
    }

    // ---- datasources

    private void datasources() {
        get(
                        "/datasources",
                        "datasources",
                        "The cataloged data streams, each with its availability (expired slices, deleted topics)")
                .kafkaMl("GET /datasources/")
                .response(JSON_ARRAY)
                .json(ctx -> {
                    List<Map<String, Object>> rows = new ArrayList<>();
                    for (Datasource datasource : ml.datasources().list()) {
                        Map<String, Object> row = json.convertValue(datasource, MAP);
                        row.put("availability", ml.registry().availability(datasource));
                        rows.add(row);
                    }
                    return rows;
                });
        post(
                        "/datasources/kafka",
                        "datasources",
                        "Re-send a cataloged data stream to a training deployment: {datasource, deploymentId}; no data "
                                + "copied")
                .kafkaMl("POST /datasources/kafka")
                .body(JSON_OBJECT)
                .fields("datasource:string", "deploymentId:any")
                .handle(ctx -> {
                    JsonNode body = body(ctx);
                    String datasource = text(body, "datasource");
                    String deploymentId = idText(body, "deploymentId");
                    // a re-send to no deployment would be a control message nothing reads (and would move the
                    // next generated deployment id past it)
                    deployment(deploymentId);
                    ctx.contentType("application/json")
                            .result(ml.datasources()
                                    .resend(datasource, deploymentId)
                                    .toJson());
                });
    }

    // ---- inference deployments

    private void inferencesRoutes() {
        get(
                        "/inferences",
                        "inferences",
                        "The inference deployments in the registry, with the counters of those this server runs")
                .kafkaMl("GET /inferences/")
                .response(JSON_ARRAY)
                .json(ctx -> ml.registry().inferences().stream()
                        .map(i -> inference(i.id()))
                        .toList());
        post(
                        "/inferences",
                        "inferences",
                        "Serve a trained model: {resultId, inputTopic, outputTopic, replicas?, id?, maxBatchSize?, "
                                + "deadLetterTopic?}; replicas run in this server, their meters at its /metrics")
                .kafkaMl("POST /results/inference/<pk>")
                .body(JSON_OBJECT)
                .fields(
                        "resultId:string",
                        "inputTopic:string",
                        "outputTopic:string",
                        "replicas:integer",
                        "id:string",
                        "maxBatchSize:integer",
                        "deadLetterTopic:string")
                .status(201)
                .json(ctx -> {
                    JsonNode body = body(ctx);
                    String resultId = result(text(body, "resultId")).id();
                    InferenceSpec.Builder spec = InferenceSpec.builder(
                                    resultId, text(body, "inputTopic"), text(body, "outputTopic"))
                            .replicas(integer(body, "replicas", 1, 1, maxReplicas));
                    if (body.hasNonNull("maxBatchSize")) {
                        spec.maxBatchSize(integer(body, "maxBatchSize", 0, 1, Integer.MAX_VALUE));
                    }
                    if (body.hasNonNull("deadLetterTopic")) {
                        spec.deadLetterTopic(text(body, "deadLetterTopic"));
                    }
                    String id = body.hasNonNull("id") ? text(body, "id") : "infer-" + resultId.replace('.', '-');
                    InferenceSpec built = spec.build();
                    if (!starting.add(id)) {
                        throw new ApiException(409, "Inference '" + id + "' is being started by another request");
                    }
                    try {
                        LocalInference running = inferences.get(id);
                        if (running != null && running.state() == LocalInference.State.RUNNING) {
                            throw new ApiException(
                                    409,
                                    "Inference '" + id + "' is already running in this server: scale it (POST "
                                            + "/inferences/" + id + "/scale) or stop it first");
                        }
                        start(id, resultId, built);
                    } finally {
                        starting.remove(id);
                    }
                    return inference(id);
                });
        get(
                        "/inferences/{id}",
                        "inferences",
                        "An inference deployment: its record and, when this server runs it, replicas and counters")
                .json(ctx -> inference(id(ctx)));
        post("/inferences/{id}/scale", "inferences", "Scale an inference deployment this server runs: {replicas}")
                .body(JSON_OBJECT)
                .fields("replicas:integer")
                .json(ctx -> {
                    JsonNode body = body(ctx);
                    if (!body.hasNonNull("replicas")) {
                        throw new ApiException(400, "Missing field 'replicas' in the request body");
                    }
                    scale(id(ctx), integer(body, "replicas", 0, 0, maxReplicas));
                    return inference(id(ctx));
                });
        post(
                        "/inferences/{id}/stop",
                        "inferences",
                        "Stop an inference deployment this server runs (each replica finishes and commits its batch)")
                .kafkaMl("POST /inferences/<pk>")
                .json(ctx -> {
                    LocalInference inference = running(id(ctx));
                    inference.close();
                    inferences.remove(inference.id(), inference);
                    InferenceMetrics metrics = inferenceMeters.remove(inference);
                    if (metrics != null) {
                        metrics.close();
                    }
                    return inference(id(ctx));
                });
    }

    // ---- health

    private void health() {
        get(
                        "/health",
                        "health",
                        "Whether the server serves: {status: UP, state, controlLogger} (200), or 503 {status: DOWN} "
                                + "when its facade is not RUNNING or the server is stopping (state STOPPING: new "
                                + "mutating calls get 503 while requests in flight finish); for readiness and liveness "
                                + "probes. status DEGRADED (still 200: the API "
                                + "serves) when its control logger stopped on its own: controlLogger {state: FAILED, "
                                + "reason} (the datasource catalog is no longer updated)")
                .handle(ctx -> {
                    KafkaMl.State state = ml.state();
                    // a draining server refuses new calls: its probe says so, so that traffic moves elsewhere
                    boolean serving = state == KafkaMl.State.RUNNING && !closing.get();
                    Map<String, Object> answer = new LinkedHashMap<>();
                    // the facade answers only while RUNNING (a closed one throws): before and after, no logger
                    Optional<ControlLogger> logger =
                            state == KafkaMl.State.RUNNING ? ml.controlLogger() : Optional.empty();
                    Optional<Throwable> loggerStopped = logger.flatMap(ControlLogger::stoppedBy);
                    answer.put("status", !serving ? "DOWN" : loggerStopped.isPresent() ? "DEGRADED" : "UP");
                    answer.put("state", closing.get() ? "STOPPING" : state.name());
                    logger.ifPresent(running -> {
                        Map<String, Object> catalog = new LinkedHashMap<>();
                        catalog.put("state", loggerStopped.isPresent() ? "FAILED" : "RUNNING");
                        loggerStopped.ifPresent(e -> catalog.put(
                                "reason",
                                e instanceof io.kafkaml.common.KafkaAccessException ? e.getMessage() : e.toString()));
                        answer.put("controlLogger", catalog);
                    });
                    ctx.status(serving ? 200 : 503).json(answer);
                });
    }

    /**
     * Starts an inference deployment and binds its meters; if anything after the start fails, or the server began to
     * stop meanwhile, the deployment is stopped again (no deployment runs behind an error answer).
     */
    private void start(String id, String resultId, InferenceSpec spec) {
        LocalInference inference = ml.serve(id, spec);
        InferenceMetrics metrics = null;
        try {
            // its counters at the server's /metrics, read from its InferenceStats at each scrape
            metrics = InferenceMetrics.of(inference, resultId, ml.config().originals());
            metrics.bindTo(meters);
            LocalInference replaced = inferences.put(id, inference);
            inferenceMeters.put(inference, metrics);
            if (replaced != null) {
                InferenceMetrics old = inferenceMeters.remove(replaced);
                if (old != null) {
                    old.close();
                }
            }
            if (closing.get()) {
                throw new ApiException(503, "The kafkaml server is stopping");
            }
        } catch (RuntimeException e) {
            inferences.remove(id, inference);
            inferenceMeters.remove(inference);
            if (metrics != null) {
                metrics.close();
            }
            inference.close();
            throw e;
        }
    }

    /**
     * Scales one replica at a time, so that reads of the deployment, a stop and the server's shutdown get in between
     * (each step holds the deployment's lock only while it starts or stops one replica); a shutdown ends the scale at
     * the next step. One scale per deployment at a time.
     */
    private void scale(String id, int target) {
        LocalInference inference = running(id);
        if (!scaling.add(id)) {
            throw new ApiException(409, "Inference '" + id + "' is being scaled by another request: retry after it");
        }
        try {
            int current = inference.replicas().size();
            do {
                if (closing.get()) {
                    throw new ApiException(
                            503, "The kafkaml server is stopping: the scale stopped at " + current + " replica(s)");
                }
                current += Integer.signum(target - current);
                try {
                    inference.scale(current);
                } catch (IllegalStateException e) {
                    if (inference.state() != LocalInference.State.RUNNING) {
                        throw new ApiException(
                                409,
                                "Inference '" + id + "' was stopped while it was scaled (" + inference.state() + ")");
                    }
                    throw e;
                }
            } while (current != target);
        } finally {
            scaling.remove(id);
        }
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
        // null (not NaN, which JSON has not) before the first batch
        counters.put("batchLatencyP50Millis", finite(stats.batchLatencyMillis(50)));
        counters.put("batchLatencyP99Millis", finite(stats.batchLatencyMillis(99)));
        return counters;
    }

    private static Double finite(double value) {
        return Double.isFinite(value) ? value : null;
    }

    // ---- request bodies

    /** The request attribute holding the field names the route's body may hold. */
    private static final String FIELDS = "kafkaml.body.fields";

    private static final com.fasterxml.jackson.core.type.TypeReference<Map<String, Object>> MAP =
            new com.fasterxml.jackson.core.type.TypeReference<>() {};

    /**
     * The request's JSON object: its {@code Content-Type} must be JSON (415 otherwise: a web page can send only plain
     * text, forms and multipart across origins without a CORS preflight) and it may hold only the named fields (400
     * naming an unknown one: a typo would silently take the default).
     */
    private JsonNode body(Context ctx) {
        String text = ctx.body();
        if (text.isBlank()) {
            throw new ApiException(400, "The request body is empty: send a JSON object");
        }
        if (!RequestChecks.isJson(ctx.header("Content-Type"))) {
            throw new ApiException(
                    415,
                    "The request body must be sent as 'Content-Type: application/json' (was "
                            + (ctx.header("Content-Type") == null ? "none" : "'" + ctx.header("Content-Type") + "'")
                            + ")");
        }
        JsonNode node;
        try {
            node = json.readTree(text);
        } catch (JsonProcessingException e) {
            throw new ApiException(
                    400,
                    "Malformed JSON in the request body: " + e.getOriginalMessage()
                            + (e.getLocation() == null
                                    ? ""
                                    : " (line " + e.getLocation().getLineNr() + ", column "
                                            + e.getLocation().getColumnNr() + ")"));
        }
        if (node == null || !node.isObject()) {
            throw new ApiException(400, "The request body must be a JSON object");
        }
        List<String> known = ctx.attribute(FIELDS) == null ? List.of() : ctx.attribute(FIELDS);
        List<String> unknown = new ArrayList<>();
        node.fieldNames().forEachRemaining(field -> {
            if (!known.contains(field)) {
                unknown.add(field);
            }
        });
        if (!unknown.isEmpty()) {
            throw new ApiException(
                    400, "Unknown field(s) " + unknown + " in the request body; the fields are " + known);
        }
        return node;
    }

    /**
     * An integer field in {@code [min, max]}, or {@code defaultValue} when absent or null; 400 naming the field and
     * the value sent when it is not an integral number ({@code "two"}, {@code 2.5}, {@code true}) or out of range.
     */
    private int integer(JsonNode body, String field, int defaultValue, int min, int max) {
        JsonNode value = body.get(field);
        if (value == null || value.isNull()) {
            return defaultValue;
        }
        if (!value.isNumber() || !value.canConvertToExactIntegral() || !value.canConvertToInt()) {
            throw new ApiException(400, "Field '" + field + "' must be an integer, got " + value);
        }
        int number = value.intValue();
        if (number < min || number > max) {
            throw new ApiException(
                    400,
                    "Field '" + field + "' must be in [" + min + ", " + max + "], got " + number
                            + ("replicas".equals(field)
                                    ? " (the server's maximum: kafkaml server --max-replicas, "
                                            + "KafkaMlServer.Builder.maxReplicas)"
                                    : ""));
        }
        return number;
    }

    /** An optional string field, or {@code defaultValue} when absent or null; 400 when it is not a string. */
    private static String optionalText(JsonNode body, String field, String defaultValue) {
        JsonNode value = body.get(field);
        if (value == null || value.isNull()) {
            return defaultValue;
        }
        if (!value.isTextual()) {
            throw new ApiException(400, "Field '" + field + "' must be a string, got " + value);
        }
        return value.asText();
    }

    /** A deployment id: a non-empty string or a whole number (Kafka-ML's ids are numbers). */
    private static String idText(JsonNode body, String field) {
        JsonNode value = required(body, field);
        if (value.isIntegralNumber() && value.canConvertToLong() && value.longValue() >= 0) {
            return Long.toString(value.longValue());
        }
        return text(body, field);
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
