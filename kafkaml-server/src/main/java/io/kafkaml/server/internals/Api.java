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
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
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
    private final String host;
    /** Each event stream runs on a thread of its own: a client that stops reading blocks only its own stream. */
    private final ExecutorService events = Executors.newCachedThreadPool(runnable -> {
        Thread thread = new Thread(runnable, "kafkaml-server-events-" + STREAM_NUMBERS.incrementAndGet());
        thread.setDaemon(true);
        return thread;
    });
    /** The open event streams, closed by {@link #close()}. */
    private final Set<SseClient> streams = ConcurrentHashMap.newKeySet();
    /** Counted down by {@link #beginShutdown()}: wakes every stream between its ticks. */
    private final CountDownLatch stopping = new CountDownLatch(1);

    private final AtomicBoolean closing = new AtomicBoolean();

    private static final java.util.concurrent.atomic.AtomicLong STREAM_NUMBERS =
            new java.util.concurrent.atomic.AtomicLong();

    /** The largest JSON request body (16 MiB); a larger one is answered 413. */
    static final long MAX_JSON_BODY_BYTES = 16L << 20;

    /** How long {@link #beginShutdown()} waits for the event streams to end. */
    private static final long STREAMS_CLOSE_WAIT_SECONDS = 5;

    /** How long {@link #beginShutdown()} waits for the streams to end ({@value #STREAMS_CLOSE_WAIT_SECONDS} s; tests). */
    volatile long streamsCloseWaitMillis = TimeUnit.SECONDS.toMillis(STREAMS_CLOSE_WAIT_SECONDS);

    /** The most event streams open at once; one more is answered with an {@code error} event (status 503). */
    static final int MAX_EVENT_STREAMS = 64;

    /**
     * @param ml the facade, RUNNING
     * @param token the bearer token of mutating calls, or {@code null} for none
     * @param host the address the server binds (without a token, requests must be addressed to it or to a loopback
     *     name)
     * @param maxReplicas the most replicas an inference deployment may be started or scaled to
     * @param meters where the meters of the inference deployments this API starts are bound (the server's
     *     {@code /metrics}); the gauge {@code kafkaml.server.event.streams} (open event streams) is bound there too
     */
    public Api(KafkaMl ml, String token, String host, int maxReplicas, MeterRegistry meters) {
        this.ml = ml;
        this.token = token == null ? null : token.getBytes(StandardCharsets.UTF_8);
        this.host = host;
        this.json = new ObjectMapper()
                .registerModule(new JavaTimeModule())
                .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);
        Routes table = new Routes(ml, json, inferences, meters, maxReplicas, closing);
        routes.addAll(table.table());
        this.table = table;
        io.micrometer.core.instrument.Gauge.builder("kafkaml.server.event.streams", streams, Set::size)
                .description("Server-Sent Event streams open on the kafkaml server")
                .register(meters);
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
        // a 405 (with the methods the path allows) for a path served with another method, not a 404
        config.http.prefer405over404 = true;
        config.routes.before(PREFIX + "/*", this::guard);
        for (Route route : routes) {
            Handler handler = route.handler();
            if (route.method() == HandlerType.POST && route.body() == Route.Body.NONE) {
                // a POST with no body (stop, cancel) gets the 415 gate of the JSON routes too (review R19)
                handler = ctx -> {
                    RequestChecks.requirePreflighted(
                            ctx.header("Content-Type"), ctx.header("X-Requested-With"), ctx.header("Authorization"));
                    route.handler().handle(ctx);
                };
            }
            config.routes.addHttpHandler(route.method(), PREFIX + route.path(), handler);
        }
        // JSON bodies (a DL4J configuration is the largest) are held in memory: bounded apart from the model file
        // upload, which is streamed to a file and counted against kafkaml.max.artifact.bytes
        config.http.maxRequestSize = MAX_JSON_BODY_BYTES;
        config.routes.get(PREFIX + "/openapi.json", ctx -> ctx.json(OpenApi.document(documented(), json)));
        // Javalin streams events only to a client that asks for them: anything else gets a reason, not an empty 200
        config.routes.before(PREFIX + "/training/{id}/events", ctx -> {
            requireEventStream(ctx);
            // an unknown id is a 404 status (probes and curl -f see it), not an error event in a 200 stream
            if (ml.registry().deployment(ctx.pathParam("id")).isEmpty()) {
                throw new EntityNotFoundException("deployment", ctx.pathParam("id"));
            }
        });
        config.routes.before(PREFIX + "/inferences/{id}/events", ctx -> {
            requireEventStream(ctx);
            if (!inferences.containsKey(ctx.pathParam("id"))) {
                throw new ApiException(404, "Inference '" + ctx.pathParam("id") + "' is not running in this server");
            }
        });
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
                Map.of(),
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
                Map.of(),
                null));
        return all;
    }

    /**
     * The checks before every route: the request is addressed to this server (no token: a loopback name or the bound
     * address, so that a web page cannot reach it through DNS rebinding), a mutating call to a server without a token
     * comes from no web page or from this server's own (its {@code Origin}), the server is not stopping, and a
     * mutating call carries the token when one is set (compared in constant time).
     */
    private void guard(Context ctx) {
        HandlerType method = ctx.method();
        boolean mutating = method != HandlerType.GET && method != HandlerType.HEAD && method != HandlerType.OPTIONS;
        String hostHeader = ctx.header("Host");
        if (token == null && hostHeader != null && !RequestChecks.isLocalHost(hostHeader, host)) {
            throw new ApiException(
                    403,
                    "Requests must be addressed to this server (Host " + host + " or localhost), not '" + hostHeader
                            + "': a server without a token answers only its own names (a web page could otherwise "
                            + "reach it by DNS rebinding); set a token to serve other names");
        }
        if (!mutating) {
            return;
        }
        // without a token a browser's request is as good as the user's (CSRF): only the server's own page may send
        // one. With a token the check gains nothing (the token is not ambient: the dashboard sends it from its
        // storage) and would refuse the dashboard behind a proxy that rewrites Host (review R13)
        String origin = ctx.header("Origin");
        if (token == null && origin != null && !RequestChecks.sameOrigin(origin, hostHeader)) {
            throw new ApiException(
                    403,
                    "Cross-origin request refused: a page from " + origin + " may not change this server's state "
                            + "(only the dashboard served by this server, or a client that is not a browser)");
        }
        if (closing.get()) {
            throw new ApiException(503, "The kafkaml server is stopping");
        }
        if (token == null) {
            return;
        }
        String header = ctx.header("Authorization");
        byte[] given = RequestChecks.bearer(header).getBytes(StandardCharsets.UTF_8);
        if (!MessageDigest.isEqual(token, given)) {
            ctx.header("WWW-Authenticate", "Bearer realm=\"kafkaml\"");
            throw new ApiException(
                    401,
                    header == null
                            ? "This call changes state: send the server's token as 'Authorization: Bearer <token>'"
                            : header.regionMatches(true, 0, "Bearer ", 0, 7)
                                    ? "The bearer token is not the server's"
                                    : "The Authorization header must be 'Bearer <token>'");
        }
    }

    private void error(Context ctx, Exception e) {
        ApiError error = ApiError.of(e, ml.config().originals());
        if (e instanceof ApiException && error.status() == 503) {
            // a deliberate refusal (the server is stopping): the reason is the whole story, no stack trace
            log.info("{} {} refused (503): {}", ctx.method(), ctx.path(), error.reason());
        } else if (error.status() >= 500) {
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
        return new Route(method, path, tag, summary, kafkaMl, body, response, status, queryParams, Map.of(), handler);
    }

    /**
     * Runs an event stream on a thread of its own until {@code tick} says it ended, the client went away (a keep-alive
     * comment each tick notices a closed connection even when there is nothing to send) or the server stops. Its
     * client is closed at the end. At most {@value #MAX_EVENT_STREAMS} streams are open at once.
     *
     * @param tick sends what is new; returns false when the stream has ended
     */
    void stream(SseClient client, String name, long periodMillis, java.util.function.BooleanSupplier tick) {
        if (closing.get()) {
            client.sendEvent("error", ApiError.of(503, "The kafkaml server is stopping"));
            client.close();
            return;
        }
        boolean admitted;
        synchronized (streams) { // the cap's check and the add as one step (every add is made here)
            admitted = streams.size() < MAX_EVENT_STREAMS && streams.add(client);
        }
        if (!admitted) {
            client.sendEvent(
                    "error",
                    ApiError.of(503, "Too many event streams open (" + MAX_EVENT_STREAMS + "): close one and retry"));
            client.close();
            return;
        }
        client.keepAlive();
        client.onClose(() -> streams.remove(client));
        try {
            events.execute(() -> run(client, name, periodMillis, tick));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // the server began to stop between the check above and here
            streams.remove(client);
            client.sendEvent("error", ApiError.of(503, "The kafkaml server is stopping"));
            client.close();
        }
    }

    /** An event stream's loop, on its own thread; its client is closed at the end. */
    private void run(SseClient client, String name, long periodMillis, java.util.function.BooleanSupplier tick) {
        try {
            while (!closing.get() && !client.terminated()) {
                if (!tick.getAsBoolean()) {
                    break;
                }
                client.sendComment("keep-alive");
                if (stopping.await(periodMillis, TimeUnit.MILLISECONDS)) {
                    break;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            log.debug("[{}] event stream ended: {}", name, e.toString());
        } finally {
            streams.remove(client);
            client.close(); // a no-op when beginShutdown closed it already
        }
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
        Map<String, Integer> positions = new HashMap<>();
        Map<String, String> statuses = new HashMap<>();
        stream(client, "training " + id, 500, () -> {
            // read before the results, so that an end seen here comes after every epoch sent below
            boolean ended = ml.registry()
                    .deployment(id)
                    .map(d -> d.status().isTerminal())
                    .orElse(true);
            for (TrainingResult result : ml.results().of(id)) {
                int sent = positions.getOrDefault(result.id(), 0);
                for (io.kafkaml.registry.EpochMetrics epoch : ml.results().epochs(result.id())) {
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
            if (ended && !client.terminated()) {
                client.sendEvent("end", Map.of("deployment", id));
                return false;
            }
            return true;
        });
    }

    /** Server-Sent Events of an inference deployment this server runs: a {@code counters} event each second. */
    private void inferenceEvents(SseClient client) {
        String id = client.ctx().pathParam("id");
        if (!inferences.containsKey(id)) {
            client.sendEvent("error", ApiError.of(404, "Inference '" + id + "' is not running in this server"));
            client.close();
            return;
        }
        stream(client, "inference " + id, 1000, () -> {
            if (inferences.get(id) == null) {
                return false;
            }
            client.sendEvent("counters", table.inference(id));
            return true;
        });
    }

    /**
     * Refuses new mutating calls (503) and event streams from now on, ends the open event streams and stops scales in
     * progress at their next replica. Called before HTTP stops, so that requests in flight end soon.
     */
    public void beginShutdown() {
        if (!closing.compareAndSet(false, true)) {
            return;
        }
        stopping.countDown();
        // each stream closes its client on its own thread: wait for them while HTTP still runs (an SseClient closed
        // after Jetty recycled its request sends Javalin into a loop of errors)
        events.shutdown();
        try {
            if (!events.awaitTermination(streamsCloseWaitMillis, TimeUnit.MILLISECONDS)) {
                List<SseClient> stuck = List.copyOf(streams);
                log.warn(
                        "{} event stream(s) did not end within {} s (a client that does not read, or a registry read "
                                + "that waits for the broker): closed now, before HTTP stops",
                        stuck.size(),
                        streamsCloseWaitMillis / 1000.0);
                // closed here while Jetty still holds their requests: the stuck thread's own close later is a no-op
                // (SseClient.close is idempotent) and its sends fail on the terminated client, so nothing touches a
                // request Jetty has recycled (review R16)
                for (SseClient client : stuck) {
                    try {
                        client.close();
                    } catch (RuntimeException e) {
                        log.debug("Closing an event stream at shutdown: {}", e.toString());
                    }
                    streams.remove(client);
                }
                events.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Stops the event streams and the inference deployments this server started, and removes their meters. Call it
     * after HTTP has stopped (no request can start a deployment after it). Idempotent.
     */
    @Override
    public void close() {
        beginShutdown();
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
