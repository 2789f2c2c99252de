package io.kafkaml.server.internals;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import io.javalin.http.sse.SseClient;
import io.javalin.json.JavalinJackson;
import io.kafkaml.KafkaMl;
import io.kafkaml.inference.LocalInference;
import io.kafkaml.registry.EntityNotFoundException;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.server.internals.Route.Body;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The REST API under {@code /api/v1} over one {@link KafkaMl}: the route table, the bearer-token check of mutating
 * calls and the JSON error answers. Thread-safe.
 */
public final class Api implements AutoCloseable {

    /** The path prefix of every route. */
    public static final String PREFIX = "/api/v1";

    /** The request attribute that marks an error answer already given (Javalin's error mappers then leave it). */
    private static final String ANSWERED = "kafkaml.error.answered";

    private static final Logger log = LoggerFactory.getLogger(Api.class);

    private final KafkaMl ml;
    private final byte[] token;
    private final ObjectMapper json;
    private final List<Route> routes = new ArrayList<>();
    private final Map<String, LocalInference> inferences = new ConcurrentHashMap<>();
    private final Routes table;
    private final ScheduledExecutorService events = Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread thread = new Thread(runnable, "kafkaml-server-events");
        thread.setDaemon(true);
        return thread;
    });

    /**
     * @param ml the facade, RUNNING
     * @param token the bearer token of mutating calls, or {@code null} for none
     * @param meters where the meters of the inference deployments this API starts are bound (the server's
     *     {@code /metrics})
     */
    public Api(KafkaMl ml, String token, MeterRegistry meters) {
        this.ml = ml;
        this.token = token == null ? null : token.getBytes(StandardCharsets.UTF_8);
        this.json = new ObjectMapper()
                .registerModule(new JavaTimeModule())
                .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);
        Routes table = new Routes(ml, json, inferences, meters);
        routes.addAll(table.table());
        this.table = table;
    }

    /** The JSON mapper of requests and answers. */
    ObjectMapper json() {
        return json;
    }

    /** The routes, in the order they are served. */
    public List<Route> routes() {
        return List.copyOf(routes);
    }

    /** Registers the JSON mapper, the token check, the routes and the error answers with Javalin. */
    public void configure(JavalinConfig config) {
        config.jsonMapper(new JavalinJackson(json, false));
        config.routes.before(PREFIX + "/*", this::authorize);
        for (Route route : routes) {
            config.routes.addHttpHandler(route.method(), PREFIX + route.path(), route.handler());
        }
        config.http.maxRequestSize = Math.max(
                config.http.maxRequestSize,
                io.kafkaml.config.KafkaMlConfig.maxArtifactBytes(ml.config().originals()) + (1 << 20));
        config.routes.get(PREFIX + "/openapi.json", ctx -> ctx.json(OpenApi.document(documented(), json)));
        // Javalin streams events only to a client that asks for them: anything else gets a reason, not an empty 200
        config.routes.before(PREFIX + "/training/{id}/events", Api::requireEventStream);
        config.routes.before(PREFIX + "/inferences/{id}/events", Api::requireEventStream);
        config.routes.sse(PREFIX + "/training/{id}/events", this::trainingEvents);
        config.routes.sse(PREFIX + "/inferences/{id}/events", this::inferenceEvents);
        config.routes.exception(Exception.class, (e, ctx) -> error(ctx, e));
        config.routes.error(404, ctx -> {
            if (ctx.path().startsWith(PREFIX) && ctx.attribute(ANSWERED) == null) {
                send(ctx, ApiError.of(404, "No such endpoint: " + ctx.method() + " " + ctx.path()));
            }
        });
        config.routes.error(405, ctx -> {
            if (ctx.path().startsWith(PREFIX) && ctx.attribute(ANSWERED) == null) {
                send(ctx, ApiError.of(405, "Method " + ctx.method() + " is not allowed on " + ctx.path()));
            }
        });
    }

    /** An event stream's request must accept {@code text/event-stream} (an {@code EventSource} does). */
    private static void requireEventStream(Context ctx) {
        String accept = ctx.header("Accept");
        if (ctx.method() == HandlerType.GET && (accept == null || !accept.contains("text/event-stream"))) {
            throw new ApiException(
                    406,
                    "This is a Server-Sent Events stream: send 'Accept: text/event-stream' (curl -N -H 'Accept: "
                            + "text/event-stream' ...; a browser's EventSource does)");
        }
    }

    /** The routes and the two event streams, as the OpenAPI document describes them. */
    private List<Route> documented() {
        List<Route> all = new ArrayList<>(routes);
        all.add(new Route(
                HandlerType.GET,
                "/training/{id}/events",
                "deployments",
                "Server-Sent Events of a training deployment's result: epoch (or window) metrics, result, end; "
                        + "send Accept: text/event-stream",
                null,
                Body.NONE,
                Body.EVENTS,
                200,
                List.of(),
                null));
        all.add(new Route(
                HandlerType.GET,
                "/inferences/{id}/events",
                "inferences",
                "Server-Sent Events of an inference deployment's counters; send Accept: text/event-stream",
                null,
                Body.NONE,
                Body.EVENTS,
                200,
                List.of(),
                null));
        return all;
    }

    /** A mutating call must carry the token when one is set (compared in constant time). */
    private void authorize(Context ctx) {
        if (token == null) {
            return;
        }
        HandlerType method = ctx.method();
        if (method == HandlerType.GET || method == HandlerType.HEAD || method == HandlerType.OPTIONS) {
            return;
        }
        String header = ctx.header("Authorization");
        byte[] given = header != null && header.startsWith("Bearer ")
                ? header.substring("Bearer ".length()).trim().getBytes(StandardCharsets.UTF_8)
                : new byte[0];
        if (!MessageDigest.isEqual(token, given)) {
            ctx.header("WWW-Authenticate", "Bearer realm=\"kafkaml\"");
            throw new ApiException(
                    401,
                    header == null
                            ? "This call changes state: send the server's token as 'Authorization: Bearer <token>'"
                            : "The bearer token is not the server's");
        }
    }

    private void error(Context ctx, Exception e) {
        ApiError error = ApiError.of(e, ml.config().originals());
        if (error.status() >= 500) {
            log.warn("{} {} failed: {}", ctx.method(), ctx.path(), e.toString(), e);
        } else {
            log.debug("{} {} refused ({}): {}", ctx.method(), ctx.path(), error.status(), error.reason());
        }
        send(ctx, error);
    }

    private static void send(Context ctx, ApiError error) {
        ctx.attribute(ANSWERED, Boolean.TRUE);
        ctx.status(error.status()).json(error);
    }

    /** Adds a route. */
    static Route route(
            HandlerType method,
            String path,
            String tag,
            String summary,
            String kafkaMl,
            Body body,
            Body response,
            int status,
            List<String> queryParams,
            Handler handler) {
        return new Route(method, path, tag, summary, kafkaMl, body, response, status, queryParams, handler);
    }

    /**
     * Server-Sent Events of a training deployment: an {@code epoch} event per epoch (or window) of each model as its
     * runner appends it to the metrics topic ({@code {result, epoch, loss, validation, millis}}), a {@code result}
     * event when a model's result changes status, and {@code end} when the deployment is terminal.
     */
    private void trainingEvents(SseClient client) {
        String id = client.ctx().pathParam("id");
        if (ml.registry().deployment(id).isEmpty()) {
            client.sendEvent("error", ApiError.of(new EntityNotFoundException("deployment", id), Map.of()));
            client.close();
            return;
        }
        client.keepAlive();
        Map<String, Integer> positions = new ConcurrentHashMap<>();
        Map<String, String> statuses = new ConcurrentHashMap<>();
        java.util.concurrent.ScheduledFuture<?>[] task = new java.util.concurrent.ScheduledFuture<?>[1];
        task[0] = events.scheduleWithFixedDelay(
                () -> {
                    try {
                        for (TrainingResult result : ml.results().of(id)) {
                            int sent = positions.getOrDefault(result.id(), 0);
                            for (io.kafkaml.registry.EpochMetrics epoch :
                                    ml.results().epochs(result.id())) {
                                if (epoch.epoch() <= sent) {
                                    continue;
                                }
                                Map<String, Object> event = new LinkedHashMap<>();
                                event.put("result", result.id());
                                event.put("epoch", epoch.epoch());
                                event.put("loss", epoch.loss());
                                event.put("validation", epoch.validation());
                                event.put("millis", epoch.millis());
                                client.sendEvent("epoch", event);
                                sent = epoch.epoch();
                            }
                            positions.put(result.id(), sent);
                            String status = result.status().name();
                            if (!status.equals(statuses.put(result.id(), status))) {
                                client.sendEvent("result", result);
                            }
                        }
                        boolean ended = ml.registry()
                                .deployment(id)
                                .map(d -> d.status().isTerminal())
                                .orElse(true);
                        if (ended || client.terminated()) {
                            if (!client.terminated()) {
                                client.sendEvent("end", Map.of("deployment", id));
                                client.close();
                            }
                            task[0].cancel(false);
                        }
                    } catch (RuntimeException e) {
                        log.debug("[{}] training events ended: {}", id, e.toString());
                        client.close();
                        task[0].cancel(false);
                    }
                },
                0,
                500,
                TimeUnit.MILLISECONDS);
    }

    /** Server-Sent Events of an inference deployment this server runs: a {@code counters} event each second. */
    private void inferenceEvents(SseClient client) {
        String id = client.ctx().pathParam("id");
        if (!inferences.containsKey(id)) {
            client.sendEvent("error", ApiError.of(404, "Inference '" + id + "' is not running in this server"));
            client.close();
            return;
        }
        client.keepAlive();
        java.util.concurrent.ScheduledFuture<?>[] task = new java.util.concurrent.ScheduledFuture<?>[1];
        task[0] = events.scheduleWithFixedDelay(
                () -> {
                    try {
                        LocalInference inference = inferences.get(id);
                        if (inference == null || client.terminated()) {
                            client.close();
                            task[0].cancel(false);
                            return;
                        }
                        client.sendEvent("counters", table.inference(id));
                    } catch (RuntimeException e) {
                        client.close();
                        task[0].cancel(false);
                    }
                },
                0,
                1,
                TimeUnit.SECONDS);
    }

    /** Stops the event streams and the inference deployments this server started, and removes their meters. */
    @Override
    public void close() {
        events.shutdownNow();
        table.close();
        for (LocalInference inference : inferences.values()) {
            try {
                inference.close();
            } catch (RuntimeException e) {
                log.warn("Could not stop inference {}: {}", inference.id(), e.toString());
            }
        }
        inferences.clear();
    }
}
