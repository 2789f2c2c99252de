package io.kafkaml.server.internals;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import io.javalin.json.JavalinJackson;
import io.kafkaml.KafkaMl;
import io.kafkaml.server.internals.Route.Body;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
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

    /**
     * @param ml the facade, RUNNING
     * @param token the bearer token of mutating calls, or {@code null} for none
     */
    public Api(KafkaMl ml, String token) {
        this.ml = ml;
        this.token = token == null ? null : token.getBytes(StandardCharsets.UTF_8);
        this.json = new ObjectMapper()
                .registerModule(new JavaTimeModule())
                .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);
        new ModelRoutes(ml, this).addTo(routes);
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

    /** Closes the open event streams. */
    @Override
    public void close() {
        // event streams are added with the SSE routes
    }
}
