package io.kafkaml.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kafkaml.KafkaMl;
import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.sink.DataSink;
import io.kafkaml.sink.RecordDataSink;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/** The REST API over HTTP against the in-process broker: the whole pipeline, and bad inputs that store nothing. */
@ExtendWith(EmbeddedKafkaExtension.class)
class RestApiIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private URI base;

    private static String mlpJson() {
        return new NeuralNetConfiguration.Builder()
                .seed(1)
                .updater(new Adam(0.01))
                .list()
                .layer(new DenseLayer.Builder()
                        .nIn(2)
                        .nOut(4)
                        .activation(Activation.RELU)
                        .build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                        .nIn(4)
                        .nOut(2)
                        .activation(Activation.SOFTMAX)
                        .build())
                .build()
                .toJson();
    }

    private HttpResponse<String> call(String method, String path, Object body) throws Exception {
        HttpRequest.BodyPublisher publisher = body == null
                ? HttpRequest.BodyPublishers.noBody()
                : body instanceof byte[] bytes
                        ? HttpRequest.BodyPublishers.ofByteArray(bytes)
                        : HttpRequest.BodyPublishers.ofString(
                                body instanceof String s ? s : JSON.writeValueAsString(body));
        HttpRequest request = HttpRequest.newBuilder(base.resolve("api/v1" + path))
                .timeout(Duration.ofSeconds(60))
                .method(method, publisher)
                .build();
        return http.send(request, HttpResponse.BodyHandlers.ofString());
    }

    private JsonNode ok(HttpResponse<String> response, int status) throws Exception {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        return response.body().isEmpty() ? null : JSON.readTree(response.body());
    }

    @Test
    void thePipelineRunsThroughTheApi(EmbeddedKafkaBroker kafka) throws Exception {
        try (KafkaMl ml = KafkaMl.builder(kafka.clientConfig()).build().start();
                KafkaMlServer server = KafkaMlServer.builder(ml).port(0).build().start()) {
            base = server.uri();
            ok(
                    call(
                            "POST",
                            "/models",
                            Map.of("name", "mlp", "description", "two blobs", "configuration", mlpJson())),
                    201);
            assertThat(ok(call("GET", "/models/mlp", null), 200)
                            .get("summary")
                            .get("inputSize")
                            .asInt())
                    .isEqualTo(2);
            ok(call("POST", "/configurations", Map.of("name", "only-mlp", "models", List.of("mlp"))), 201);
            JsonNode deployment = ok(
                    call("POST", "/deployments", Map.of("configuration", "only-mlp", "spec", Map.of("epochs", 5))),
                    201);
            String deploymentId = deployment.get("id").asText();

            // the data stream goes through Kafka, as every Kafka-ML producer sends it
            kafka.createTopic("blobs", 1);
            Random random = new Random(5);
            try (RecordDataSink sink = RecordDataSink.builder(kafka.clientConfig())
                    .format("JSON")
                    .inputConfig(Map.of("data_reshape", "2"))
                    .topic("blobs")
                    .deploymentId(deploymentId)
                    .testRate(0.25)
                    .partitioning(DataSink.Partitioning.ROUND_ROBIN)
                    .build()) {
                for (int i = 0; i < 200; i++) {
                    sink.send(new double[] {i % 2 * 3 + random.nextGaussian(), random.nextGaussian()}, i % 2);
                }
            }
            await().atMost(Duration.ofSeconds(60))
                    .until(() -> "FINISHED"
                            .equals(ok(call("GET", "/deployments/" + deploymentId, null), 200)
                                    .get("status")
                                    .asText()));
            String resultId = deploymentId + ".mlp";
            JsonNode result = ok(call("GET", "/results/" + resultId, null), 200);
            assertThat(result.get("testMetrics").get("accuracy").asDouble()).isBetween(0.0, 1.0);
            assertThat(ok(call("GET", "/results/chart/" + resultId, null), 200)).hasSize(5);
            JsonNode matrix = ok(call("GET", "/results/confusion_matrix/" + resultId, null), 200);
            long tested = 0;
            for (JsonNode row : matrix.get("matrix")) {
                for (JsonNode cell : row) {
                    tested += cell.asLong();
                }
            }
            assertThat(tested).isEqualTo(50);
            assertThat(ok(call("GET", "/datasources", null), 200).get(0).get("availability"))
                    .isNotNull();

            HttpResponse<byte[]> download = http.send(
                    HttpRequest.newBuilder(base.resolve("api/v1/results/model/" + resultId))
                            .build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertThat(download.statusCode()).isEqualTo(200);
            String digest = HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(download.body()));
            assertThat(download.headers().firstValue("X-Checksum-SHA256")).hasValue(digest);

            kafka.createTopic("in", 2);
            JsonNode inference = ok(
                    call(
                            "POST",
                            "/inferences",
                            Map.of(
                                    "resultId",
                                    resultId,
                                    "inputTopic",
                                    "in",
                                    "outputTopic",
                                    "out",
                                    "id",
                                    "serve-mlp",
                                    "replicas",
                                    1)),
                    201);
            assertThat(inference.get("replicas").asInt()).isEqualTo(1);
            Map<String, Object> producerConfig = new HashMap<>(kafka.clientConfig());
            Properties properties = new Properties();
            properties.putAll(producerConfig);
            try (KafkaProducer<byte[], byte[]> producer =
                    new KafkaProducer<>(properties, new ByteArraySerializer(), new ByteArraySerializer())) {
                for (int i = 0; i < 20; i++) {
                    producer.send(new ProducerRecord<>(
                                    "in", ("[" + (i % 2 * 3) + ", 0.0]").getBytes(StandardCharsets.UTF_8)))
                            .get();
                }
            }
            await().atMost(Duration.ofSeconds(60))
                    .until(() -> ok(call("GET", "/inferences/serve-mlp", null), 200)
                                    .get("counters")
                                    .get("recordsOut")
                                    .asLong()
                            == 20);
            JsonNode scaled = ok(call("POST", "/inferences/serve-mlp/scale", Map.of("replicas", 2)), 200);
            assertThat(scaled.get("replicas").asInt()).isEqualTo(2);
            ok(call("POST", "/inferences/serve-mlp/stop", null), 200);
            JsonNode notRunning = ok(call("POST", "/inferences/serve-mlp/scale", Map.of("replicas", 1)), 409);
            assertThat(notRunning.get("reason").asText()).contains("not running");

            JsonNode openApi = ok(call("GET", "/openapi.json", null), 200);
            assertThat(openApi.get("paths").has("/results/model/{id}")).isTrue();
            assertThat(openApi.get("paths")
                            .get("/models")
                            .get("post")
                            .get("x-kafka-ml")
                            .asText())
                    .isEqualTo("POST /models/");
        }
    }

    @Test
    void badInputsGetAReasonAndStoreNothing(EmbeddedKafkaBroker kafka) throws Exception {
        Map<String, Object> settings = new HashMap<>(kafka.clientConfig());
        settings.put(KafkaMlConfig.REGISTRY_PREFIX_CONFIG, "bad");
        settings.put(KafkaMlConfig.MAX_ARTIFACT_BYTES_CONFIG, 4096);
        try (KafkaMl ml = KafkaMl.builder(settings).build().start();
                KafkaMlServer server = KafkaMlServer.builder(ml).port(0).build().start()) {
            base = server.uri();
            JsonNode invalid = ok(
                    call("POST", "/models", Map.of("name", "broken", "configuration", "{\"not\": \"a network\"}")),
                    400);
            assertThat(invalid.get("status").asInt()).isEqualTo(400);
            assertThat(invalid.get("reason").asText()).isNotBlank();

            JsonNode malformed = ok(call("POST", "/models", "{\"name\": \"x\", "), 400);
            assertThat(malformed.get("reason").asText()).contains("Malformed JSON");

            JsonNode missing = ok(call("POST", "/models", Map.of("name", "x")), 400);
            assertThat(missing.get("reason").asText()).contains("configuration");

            JsonNode oversized = ok(call("POST", "/models/big/keras", new byte[5000]), 413);
            assertThat(oversized.get("reason").asText()).contains(KafkaMlConfig.MAX_ARTIFACT_BYTES_CONFIG);

            JsonNode notKeras = ok(call("POST", "/models/junk/keras", new byte[100]), 400);
            assertThat(notKeras.get("reason").asText()).contains("HDF5");

            JsonNode unknown = ok(call("POST", "/deployments", Map.of("configuration", "nope")), 404);
            assertThat(unknown.get("reason").asText()).contains("nope");

            JsonNode noModel =
                    ok(call("POST", "/configurations", Map.of("name", "c", "models", List.of("ghost"))), 404);
            assertThat(noModel.get("reason").asText()).contains("ghost");

            assertThat(ok(call("GET", "/models", null), 200)).isEmpty();
            assertThat(ok(call("GET", "/configurations", null), 200)).isEmpty();
            assertThat(ok(call("GET", "/deployments", null), 200)).isEmpty();
            assertThat(ml.registry().models()).isEmpty();
        }
    }
}
