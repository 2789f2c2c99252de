package io.kafkaml.server.internals;

import static org.assertj.core.api.Assertions.assertThat;

import io.javalin.Javalin;
import io.kafkaml.KafkaMl;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** {@link Api#beginShutdown()} with an event stream whose tick does not return (review R16). */
class ApiShutdownTest {

    @Test
    void aStreamStillBlockedAfterTheShutdownWaitIsClosedBeforeHttpStops() throws Exception {
        // never started: the stream below reads nothing from it
        KafkaMl ml = KafkaMl.builder(Map.of("bootstrap.servers", "127.0.0.1:9")).build();
        Api api = new Api(ml, null, "127.0.0.1", 1, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
        api.streamsCloseWaitMillis = 200;
        CountDownLatch ticking = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicBoolean tickReturned = new AtomicBoolean();
        Javalin app = Javalin.create(config -> {
            config.startup.showJavalinBanner = false;
            config.routes.sse(
                    "/blocked",
                    client -> api.stream(client, "blocked", 50, () -> {
                        ticking.countDown();
                        // like a registry read waiting for an unreachable broker: not interruptible
                        boolean released = false;
                        while (!released) {
                            try {
                                released = release.await(30, TimeUnit.SECONDS);
                            } catch (InterruptedException e) {
                                // keep blocking, as a stuck read would
                            }
                        }
                        tickReturned.set(true);
                        return true;
                    }));
        });
        try {
            app.start("127.0.0.1", 0);
            CompletableFuture<HttpResponse<Void>> stream = HttpClient.newHttpClient()
                    .sendAsync(
                            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + app.port() + "/blocked"))
                                    .header("Accept", "text/event-stream")
                                    .build(),
                            HttpResponse.BodyHandlers.discarding());
            assertThat(ticking.await(30, TimeUnit.SECONDS)).isTrue();

            api.beginShutdown();

            // the stuck stream was closed while HTTP still runs: its response ends now, not when HTTP stops
            assertThat(stream.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
            assertThat(tickReturned).isFalse();
        } finally {
            app.stop();
            release.countDown();
        }
    }

    @Test
    void healthSaysStoppingWith503OnceTheShutdownBegan() throws Exception {
        KafkaMl ml = KafkaMl.builder(Map.of("bootstrap.servers", "127.0.0.1:9")).build();
        Api api = new Api(ml, null, "127.0.0.1", 1, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
        Javalin app = Javalin.create(config -> {
            config.startup.showJavalinBanner = false;
            api.configure(config);
        });
        try {
            app.start("127.0.0.1", 0);
            HttpClient http = HttpClient.newHttpClient();
            HttpRequest health = HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + app.port() + Api.PREFIX + "/health"))
                    .build();
            HttpResponse<String> before = http.send(health, HttpResponse.BodyHandlers.ofString());
            assertThat(before.statusCode()).as("a facade never started").isEqualTo(503);
            assertThat(before.body()).contains("\"state\":\"CREATED\"");

            api.beginShutdown();

            HttpResponse<String> after = http.send(health, HttpResponse.BodyHandlers.ofString());
            assertThat(after.statusCode()).isEqualTo(503);
            assertThat(after.body()).contains("\"status\":\"DOWN\"").contains("\"state\":\"STOPPING\"");
        } finally {
            app.stop();
        }
    }
}
