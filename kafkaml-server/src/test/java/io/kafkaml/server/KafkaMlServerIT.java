package io.kafkaml.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kafkaml.KafkaMl;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The server's process shape over HTTP: binding, the token rule, static files, the JSON errors. */
@ExtendWith(EmbeddedKafkaExtension.class)
class KafkaMlServerIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
        return http.send(request.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void servesTheApiAndTheDashboardOnLoopbackAndChecksTheTokenOfMutatingCalls(EmbeddedKafkaBroker kafka)
            throws Exception {
        try (KafkaMl ml = KafkaMl.builder(kafka.clientConfig()).build().start();
                KafkaMlServer server = KafkaMlServer.builder(ml)
                        .port(0)
                        .token("s3cret")
                        .build()
                        .start()) {
            assertThat(server.uri().getHost()).isEqualTo("127.0.0.1");
            URI base = server.uri();

            HttpResponse<String> models = send(HttpRequest.newBuilder(base.resolve("api/v1/models")));
            assertThat(models.statusCode()).isEqualTo(200);
            assertThat(JSON.readTree(models.body()).isArray()).isTrue();

            HttpResponse<String> page = send(HttpRequest.newBuilder(base));
            assertThat(page.statusCode()).isEqualTo(200);
            assertThat(page.headers().firstValue("Content-Type").orElse("")).startsWith("text/html");

            HttpResponse<String> unknown = send(HttpRequest.newBuilder(base.resolve("api/v1/nothing-here")));
            assertThat(unknown.statusCode()).isEqualTo(404);
            JsonNode error = JSON.readTree(unknown.body());
            assertThat(error.get("status").asInt()).isEqualTo(404);
            assertThat(error.get("error").asText()).isEqualTo("Not Found");
            assertThat(error.get("reason").asText()).contains("/api/v1/nothing-here");

            HttpResponse<String> noToken =
                    send(HttpRequest.newBuilder(base.resolve("api/v1/models/x")).DELETE());
            assertThat(noToken.statusCode()).isEqualTo(401);
            assertThat(JSON.readTree(noToken.body()).get("reason").asText()).contains("Authorization: Bearer");

            HttpResponse<String> wrongToken = send(HttpRequest.newBuilder(base.resolve("api/v1/models/x"))
                    .header("Authorization", "Bearer guess")
                    .DELETE());
            assertThat(wrongToken.statusCode()).isEqualTo(401);
            // the scheme is case-insensitive (RFC 7235): the right token in lower-case 'bearer' passes (to a 404)
            HttpResponse<String> lowerCase = send(HttpRequest.newBuilder(base.resolve("api/v1/models/x"))
                    .header("Authorization", "bearer s3cret")
                    .DELETE());
            assertThat(lowerCase.statusCode()).as(lowerCase.body()).isEqualTo(404);
            // with a token the Origin is not checked (the token is what a page cannot send): the dashboard behind a
            // proxy that rewrites Host works, and a page without the token still gets 401 (review R13)
            HttpResponse<String> proxied = send(HttpRequest.newBuilder(base.resolve("api/v1/models/x"))
                    .header("Authorization", "Bearer s3cret")
                    .header("Origin", "https://kafkaml.example.com")
                    .DELETE());
            assertThat(proxied.statusCode()).as(proxied.body()).isEqualTo(404);
            HttpResponse<String> foreign = send(HttpRequest.newBuilder(base.resolve("api/v1/models/x"))
                    .header("Origin", "http://evil.example")
                    .DELETE());
            assertThat(foreign.statusCode()).isEqualTo(401);
        }
    }

    @Test
    void refusesToServeBeyondLoopbackWithoutAToken(EmbeddedKafkaBroker kafka) {
        try (KafkaMl ml = KafkaMl.builder(kafka.clientConfig()).build().start()) {
            assertThatThrownBy(() ->
                            KafkaMlServer.builder(ml).host("0.0.0.0").port(0).build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("without a token");
            assertThat(KafkaMlServer.builder(ml).host("localhost").port(0).build())
                    .isNotNull();
        }
    }
}
