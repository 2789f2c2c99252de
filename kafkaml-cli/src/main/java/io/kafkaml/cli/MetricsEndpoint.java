package io.kafkaml.cli;

import com.sun.net.httpserver.HttpServer;
import io.kafkaml.common.KafkaMlException;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The Prometheus endpoint of {@code kafkaml worker} and {@code kafkaml infer} ({@code kafkaml.metrics.port}): a
 * Micrometer {@link PrometheusMeterRegistry} with the JVM's meters, scraped at {@code GET /metrics} (Prometheus text
 * format 0.0.4) from the JDK's HTTP server, on every interface, by one daemon thread. Read-only; anything else is
 * 404 or 405. Thread-safe; {@link #close()} stops the server and the registry.
 */
final class MetricsEndpoint implements AutoCloseable {

    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private final PrometheusMeterRegistry registry;
    private final JvmGcMetrics gc;
    private final HttpServer server;
    private final ExecutorService executor;

    private MetricsEndpoint(PrometheusMeterRegistry registry, JvmGcMetrics gc, HttpServer server, ExecutorService ex) {
        this.registry = registry;
        this.gc = gc;
        this.server = server;
        this.executor = ex;
    }

    /** Starts serving on {@code port} (0: a free one); fails with the reason when the port cannot be bound. */
    static MetricsEndpoint start(int port) {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new ClassLoaderMetrics().bindTo(registry);
        new JvmMemoryMetrics().bindTo(registry);
        JvmGcMetrics gc = new JvmGcMetrics();
        gc.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        HttpServer server;
        try {
            server = HttpServer.create(new InetSocketAddress(port), 16);
        } catch (IOException e) {
            gc.close();
            registry.close();
            throw new KafkaMlException(
                    "Cannot serve metrics on port " + port + " (kafkaml.metrics.port / --metrics-port): "
                            + e.getMessage(),
                    e);
        }
        server.createContext("/metrics", exchange -> {
            try (exchange) {
                if (!"GET".equals(exchange.getRequestMethod()) && !"HEAD".equals(exchange.getRequestMethod())) {
                    exchange.getResponseHeaders().add("Allow", "GET, HEAD");
                    exchange.sendResponseHeaders(405, -1);
                    return;
                }
                if (!"/metrics".equals(exchange.getRequestURI().getPath())) {
                    exchange.sendResponseHeaders(404, -1);
                    return;
                }
                byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().add("Content-Type", CONTENT_TYPE);
                boolean head = "HEAD".equals(exchange.getRequestMethod());
                exchange.sendResponseHeaders(200, head ? -1 : body.length);
                if (!head) {
                    try (OutputStream out = exchange.getResponseBody()) {
                        out.write(body);
                    }
                }
            }
        });
        ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
            Thread thread = new Thread(r, "kafkaml-metrics-http");
            thread.setDaemon(true);
            return thread;
        });
        server.setExecutor(executor);
        server.start();
        return new MetricsEndpoint(registry, gc, server, executor);
    }

    /** The registry to bind kafkaml's meters to. */
    MeterRegistry registry() {
        return registry;
    }

    /** The port it listens on. */
    int port() {
        return server.getAddress().getPort();
    }

    /** The line the processes print when it is up. */
    String announcement() {
        return "metrics: http://0.0.0.0:" + port() + "/metrics (Prometheus)";
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
        gc.close();
        registry.close();
    }
}
