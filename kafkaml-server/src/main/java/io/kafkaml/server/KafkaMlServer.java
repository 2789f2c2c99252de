package io.kafkaml.server;

import io.javalin.Javalin;
import io.javalin.http.HandlerType;
import io.javalin.http.staticfiles.Location;
import io.kafkaml.KafkaMl;
import io.kafkaml.common.KafkaMlException;
import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.metrics.TrainingMetrics;
import io.kafkaml.server.internals.Api;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The kafkaml control plane as one HTTP process: a {@link KafkaMl} facade behind the REST API under
 * {@code /api/v1} and the web dashboard (static files from the classpath folder {@code /web}, served at {@code /}).
 *
 * <pre>{@code
 * try (KafkaMl ml = KafkaMl.connect(Map.of("bootstrap.servers", "localhost:9092"));
 *         KafkaMlServer server = KafkaMlServer.builder(ml).port(8080).build().start()) {
 *     System.out.println("dashboard: " + server.uri());
 *     server.awaitStop();   // until close() is called (e.g. from a shutdown hook)
 * }
 * }</pre>
 *
 * <h2>Security</h2>
 * It binds {@value #DEFAULT_HOST} by default: only this machine can reach it. Bound to another address it refuses to
 * start without a bearer token ({@link Builder#token}); with a token every mutating call ({@code POST}, {@code PUT},
 * {@code PATCH}, {@code DELETE}) needs the header {@code Authorization: Bearer <token>} (else 401), reads stay open.
 * Uploaded model files are limited to {@value KafkaMlConfig#MAX_ARTIFACT_BYTES_CONFIG} bytes (413 above it) and are
 * validated (parsed, the network built) before anything is stored. Web pages cannot drive it from the operator's
 * browser: a JSON body must be sent as {@code application/json} and a {@code .h5} as {@code application/octet-stream}
 * (415 otherwise; a page needs a CORS preflight for those, which the server does not answer), a mutating call with an
 * {@code Origin} other than the server's own is refused (403), and without a token a request must be addressed to
 * a loopback name or the bound address ({@code Host}; 403 otherwise, against DNS rebinding). It speaks plain HTTP: put a TLS-terminating proxy
 * (or a Kubernetes Ingress) in front of it when it is reached over a network.
 *
 * <h2>Lifecycle and threads</h2>
 * {@link Builder#build()} makes a stopped server; {@link #start()} binds the port (once: a second call throws
 * {@link IllegalStateException}); {@link #close()} refuses new calls, stops HTTP, then the inference deployments it started, then closes the facade if the server built it
 * ({@link #builder(Map)}); a facade passed to {@link #builder(KafkaMl)} stays the caller's. Close is idempotent.
 * Thread-safe; requests are served on Jetty's thread pool.
 */
public final class KafkaMlServer implements AutoCloseable {

    /** The address bound by default: the loopback interface only. */
    public static final String DEFAULT_HOST = "127.0.0.1";

    /** The most replicas an inference deployment may be started or scaled to through the API, by default. */
    public static final int DEFAULT_MAX_REPLICAS = 16;

    /** The port used by default. */
    public static final int DEFAULT_PORT = 8080;

    /** The path prefix of the REST API. */
    public static final String API_PATH = "/api/v1";

    /** The path of the Prometheus endpoint (outside the versioned API; read-only, no token needed). */
    public static final String METRICS_PATH = "/metrics";

    /** The environment variable the {@code kafkaml server} command reads the bearer token from. */
    public static final String TOKEN_ENV = "KAFKAML_SERVER_TOKEN";

    private static final Logger log = LoggerFactory.getLogger(KafkaMlServer.class);

    private final KafkaMl providedFacade;
    private final Map<String, ?> settings;
    private final String host;
    private final int port;
    private final String token;
    private final int maxReplicas;
    private final Object lock = new Object();
    private KafkaMl facade;
    private PrometheusMeterRegistry meters;
    private JvmGcMetrics gcMetrics;
    private Javalin app;
    private Api api;
    private boolean started;
    private boolean closed;

    private KafkaMlServer(Builder builder) {
        this.providedFacade = builder.facade;
        this.settings = builder.settings;
        this.host = builder.host;
        this.port = builder.port;
        this.token = builder.token;
        this.maxReplicas = builder.maxReplicas;
    }

    /**
     * A builder of a server over a running facade that stays the caller's (the server does not close it).
     *
     * @param facade a {@link KafkaMl} in state RUNNING
     */
    public static Builder builder(KafkaMl facade) {
        return new Builder(Objects.requireNonNull(facade, "facade"), null);
    }

    /**
     * A builder of a server that connects its own {@link KafkaMl} with these settings on {@link #start()} and closes it
     * on {@link #close()}.
     *
     * @param settings {@code bootstrap.servers} and any other setting of {@link KafkaMlConfig}
     */
    public static Builder builder(Map<String, ?> settings) {
        return new Builder(null, Map.copyOf(Objects.requireNonNull(settings, "settings")));
    }

    /**
     * Binds the port and serves.
     *
     * @return this
     * @throws IllegalStateException if started or closed before
     * @throws KafkaMlException if the port cannot be bound, naming host and port (then nothing is left running)
     * @throws io.kafkaml.registry.RegistryException if a facade built from settings cannot read the registry
     */
    public KafkaMlServer start() {
        synchronized (lock) {
            if (started || closed) {
                throw new IllegalStateException("The server was " + (closed ? "closed" : "started") + " before");
            }
            started = true;
            meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            new ClassLoaderMetrics().bindTo(meters);
            new JvmMemoryMetrics().bindTo(meters);
            gcMetrics = new JvmGcMetrics();
            gcMetrics.bindTo(meters);
            new JvmThreadMetrics().bindTo(meters);
            new ProcessorMetrics().bindTo(meters);
            new UptimeMetrics().bindTo(meters);
            TrainingMetrics training = new TrainingMetrics();
            training.bindTo(meters);
            try {
                // a facade of its own reports its training to /metrics; a caller's facade reports what the caller wires
                facade = providedFacade != null
                        ? providedFacade
                        : KafkaMl.builder(settings)
                                .trainingListener(training)
                                .build()
                                .start();
            } catch (RuntimeException e) {
                closeMeters();
                throw e;
            }
            try {
                api = new Api(facade, token, host, maxReplicas, meters);
                app = Javalin.create(config -> {
                    config.startup.showJavalinBanner = false;
                    config.staticFiles.add("/web", Location.CLASSPATH);
                    // the dashboard's libraries (uPlot) from their WebJars at /webjars/...
                    config.staticFiles.enableWebjars();
                    config.routes.addHttpHandler(
                            HandlerType.GET,
                            METRICS_PATH,
                            ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8")
                                    .result(meters.scrape()));
                    api.configure(config);
                });
                app.start(host, port);
            } catch (RuntimeException e) {
                stopQuietly();
                throw new KafkaMlException(
                        "Could not start the kafkaml server on " + host + ":" + port + ": " + e.getMessage(), e);
            }
            log.info("kafkaml server listening on {} (API {}{})", uri(), uri(), API_PATH.substring(1));
            return this;
        }
    }

    /** The port bound (the chosen one when built with port 0). */
    public int port() {
        synchronized (lock) {
            if (app == null) {
                throw new IllegalStateException("The server is not started");
            }
            return app.port();
        }
    }

    /** The base address, e.g. {@code http://127.0.0.1:8080/}. */
    public URI uri() {
        String shown = host.contains(":") ? "[" + host + "]" : host;
        return URI.create("http://" + shown + ":" + port() + "/");
    }

    /**
     * The Micrometer registry served at {@value #METRICS_PATH} (Prometheus text format): the JVM's meters, the training
     * meters of a facade the server built ({@link io.kafkaml.metrics.TrainingMetrics}), and the
     * {@link io.kafkaml.metrics.InferenceMetrics} of each inference deployment started through the API (bound when it
     * starts, removed when it is stopped); bind more to it.
     */
    public MeterRegistry meterRegistry() {
        synchronized (lock) {
            if (meters == null) {
                throw new IllegalStateException("The server is not started");
            }
            return meters;
        }
    }

    /** The facade this server serves. */
    public KafkaMl facade() {
        synchronized (lock) {
            if (facade == null) {
                throw new IllegalStateException("The server is not started");
            }
            return facade;
        }
    }

    /**
     * Stops serving (open event streams are closed), then closes the facade if this server built it. Idempotent.
     */
    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            stopQuietly();
            lock.notifyAll();
        }
    }

    /**
     * Blocks until {@link #close()} is called from another thread.
     *
     * @throws InterruptedException if interrupted while waiting
     */
    public void awaitStop() throws InterruptedException {
        synchronized (lock) {
            while (!closed) {
                lock.wait();
            }
        }
    }

    /**
     * Refuses new mutating calls and ends event streams and scales in progress, stops HTTP (requests in flight end
     * first, within Jetty's stop timeout), and only then stops the inference deployments: a request in flight can no
     * longer start one that nothing stops.
     */
    private void stopQuietly() {
        if (api != null) {
            api.beginShutdown();
        }
        if (app != null) {
            try {
                app.stop();
            } catch (RuntimeException e) {
                log.warn("Could not stop the HTTP server: {}", e.toString());
            }
        }
        if (api != null) {
            api.close();
        }
        if (providedFacade == null && facade != null) {
            facade.close();
        }
        closeMeters();
    }

    private void closeMeters() {
        if (gcMetrics != null) {
            gcMetrics.close();
        }
        if (meters != null) {
            meters.close();
        }
    }

    /** Whether a host name or address is a loopback address (only this machine reaches it). */
    static boolean isLoopback(String host) {
        if ("localhost".equalsIgnoreCase(host)) {
            return true;
        }
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }

    /** Builds a {@link KafkaMlServer}. Not thread-safe. */
    public static final class Builder {
        private final KafkaMl facade;
        private final Map<String, ?> settings;
        private String host = DEFAULT_HOST;
        private int port = DEFAULT_PORT;
        private String token;
        private int maxReplicas = DEFAULT_MAX_REPLICAS;

        private Builder(KafkaMl facade, Map<String, ?> settings) {
            this.facade = facade;
            this.settings = settings;
        }

        /** The address to bind (default {@value #DEFAULT_HOST}); any other than loopback needs a {@link #token}. */
        public Builder host(String host) {
            this.host = Objects.requireNonNull(host, "host");
            return this;
        }

        /** The port (default {@value #DEFAULT_PORT}; 0 picks a free one, see {@link KafkaMlServer#port()}). */
        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be in [0, 65535], was " + port);
            }
            this.port = port;
            return this;
        }

        /**
         * The bearer token mutating calls must carry ({@code Authorization: Bearer <token>}); {@code null} or blank
         * for none, allowed only on a loopback address.
         */
        public Builder token(String token) {
            this.token = token == null || token.isBlank() ? null : token;
            return this;
        }

        /**
         * The most replicas an inference deployment may be started or scaled to through the API (default
         * {@value KafkaMlServer#DEFAULT_MAX_REPLICAS}; a request for more is answered 400). Each replica has its own
         * consumer, producer and threads in this process.
         */
        public Builder maxReplicas(int maxReplicas) {
            if (maxReplicas < 1) {
                throw new IllegalArgumentException("maxReplicas must be >= 1, was " + maxReplicas);
            }
            this.maxReplicas = maxReplicas;
            return this;
        }

        /**
         * A stopped server.
         *
         * @throws IllegalArgumentException if it would be reachable from other machines without a token
         */
        public KafkaMlServer build() {
            if (token == null && !isLoopback(host)) {
                throw new IllegalArgumentException("Refusing to serve on " + host + " without a token: anyone who "
                        + "reaches it could change models and deployments. Set a bearer token (--token or $"
                        + TOKEN_ENV + "), or bind " + DEFAULT_HOST);
            }
            return new KafkaMlServer(this);
        }
    }
}
