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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.Stream;
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
    private static final int EPOCHS = 30;
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

    /** A call with a JSON body ({@code application/json}) or a file's bytes ({@code application/octet-stream}). */
    private HttpResponse<String> call(String method, String path, Object body) throws Exception {
        return call(
                method,
                path,
                body,
                body == null ? null : body instanceof byte[] ? "application/octet-stream" : "application/json");
    }

    private HttpResponse<String> call(String method, String path, Object body, String contentType, String... headers)
            throws Exception {
        HttpRequest.BodyPublisher publisher = body == null
                ? HttpRequest.BodyPublishers.noBody()
                : body instanceof byte[] bytes
                        ? HttpRequest.BodyPublishers.ofByteArray(bytes)
                        : HttpRequest.BodyPublishers.ofString(
                                body instanceof String s ? s : JSON.writeValueAsString(body));
        HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve("api/v1" + path))
                .timeout(Duration.ofSeconds(60))
                .method(method, publisher);
        if (contentType != null) {
            request.header("Content-Type", contentType);
        }
        if (headers.length > 0) {
            request.headers(headers);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /**
     * A GET with a {@code Host} header of our choice (the JDK's client does not let one set it): the status line of
     * the answer.
     */
    private String getWithHost(String path, String host) throws Exception {
        try (java.net.Socket socket = new java.net.Socket(base.getHost(), base.getPort())) {
            socket.setSoTimeout(30_000);
            socket.getOutputStream()
                    .write(("GET /api/v1" + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** The value of the server's gauge of open event streams at its /metrics. */
    private double openEventStreams() throws Exception {
        String scrape = http.send(
                        HttpRequest.newBuilder(base.resolve("metrics")).build(), HttpResponse.BodyHandlers.ofString())
                .body();
        return scrape.lines()
                .filter(line -> line.startsWith("kafkaml_server_event_streams "))
                .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
                .findFirst()
                .orElseThrow(() -> new AssertionError("kafkaml_server_event_streams not in /metrics:\n" + scrape));
    }

    private JsonNode ok(HttpResponse<String> response, int status) throws Exception {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        return response.body().isEmpty() ? null : JSON.readTree(response.body());
    }

    /** The data of every Server-Sent Event named {@code name} among the lines of an event stream, in order. */
    private static List<JsonNode> events(List<String> lines, String name) throws Exception {
        List<JsonNode> found = new ArrayList<>();
        String event = null;
        for (String line : lines) {
            if (line.startsWith("event:")) {
                event = line.substring(6).trim();
            } else if (line.startsWith("data:") && name.equals(event)) {
                found.add(JSON.readTree(line.substring(5)));
            }
        }
        return found;
    }

    /** The value of a meter of an inference deployment in Prometheus' text format. */
    private static double meter(String scrape, String name, String deployment) {
        return scrape.lines()
                .filter(line -> line.startsWith(name + "{") && line.contains("deployment=\"" + deployment + "\""))
                .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
                .findFirst()
                .orElseThrow(() -> new AssertionError(name + " of " + deployment + " not in /metrics:\n" + scrape));
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
            // a model a configuration uses is not deleted: 409 naming the configuration, and it stays
            assertThat(ok(call("DELETE", "/models/mlp", null), 409)
                            .get("reason")
                            .asText())
                    .contains("configuration 'only-mlp'");
            ok(call("GET", "/models/mlp", null), 200);
            JsonNode deployment = ok(
                    call(
                            "POST",
                            "/deployments",
                            Map.of("configuration", "only-mlp", "spec", Map.of("epochs", EPOCHS, "batchSize", 16))),
                    201);
            String deploymentId = deployment.get("id").asText();
            // its live events, read from before the data is sent until the server ends the stream (with the Accept
            // header EventSource sends: Javalin answers an SSE route without it with an empty body)
            List<String> trainingEvents = new CopyOnWriteArrayList<>();
            CompletableFuture<Void> trainingStream = http.sendAsync(
                            HttpRequest.newBuilder(base.resolve("api/v1/training/" + deploymentId + "/events"))
                                    .header("Accept", "text/event-stream")
                                    .build(),
                            HttpResponse.BodyHandlers.ofLines())
                    .thenAccept(response -> response.body().forEach(trainingEvents::add));
            // a second stream of the deployment, closed by its client while the deployment waits for data (nothing
            // to send): the server notices and ends it, the first stays open
            HttpResponse<Stream<String>> abandoned = http.send(
                    HttpRequest.newBuilder(base.resolve("api/v1/training/" + deploymentId + "/events"))
                            .header("Accept", "text/event-stream")
                            .build(),
                    HttpResponse.BodyHandlers.ofLines());
            await().atMost(Duration.ofSeconds(30)).until(() -> openEventStreams() == 2.0);
            abandoned.body().close();
            await().atMost(Duration.ofSeconds(30)).until(() -> openEventStreams() == 1.0);

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
            // the SSE: an 'epoch' event per epoch, in order, a 'result' event, then 'end' (and the stream closes)
            trainingStream.get(30, TimeUnit.SECONDS);
            assertThat(events(trainingEvents, "epoch"))
                    .as("the training events: %s", trainingEvents)
                    .extracting(e -> e.get("epoch").asInt())
                    .isEqualTo(IntStream.rangeClosed(1, EPOCHS).boxed().toList());
            assertThat(events(trainingEvents, "epoch"))
                    .allSatisfy(e -> assertThat(e.get("result").asText()).isEqualTo(resultId));
            assertThat(events(trainingEvents, "result"))
                    .extracting(e -> e.get("status").asText())
                    .endsWith("FINISHED");
            assertThat(events(trainingEvents, "end")).hasSize(1);
            JsonNode result = ok(call("GET", "/results/" + resultId, null), 200);
            JsonNode chart = ok(call("GET", "/results/chart/" + resultId, null), 200);
            assertThat(chart).hasSize(EPOCHS);
            JsonNode matrix = ok(call("GET", "/results/confusion_matrix/" + resultId, null), 200);
            assertThat(matrix.get("labels").toString()).isEqualTo("[\"0\",\"1\"]");
            long tested = 0;
            long right = 0;
            for (int actual = 0; actual < 2; actual++) {
                for (int predicted = 0; predicted < 2; predicted++) {
                    long count = matrix.get("matrix").get(actual).get(predicted).asLong();
                    tested += count;
                    right += actual == predicted ? count : 0;
                }
            }
            assertThat(tested).isEqualTo(50);
            // the blobs are 3 standard deviations apart on x: the Bayes classifier is right on ~93% of the rows
            double accuracy = result.get("testMetrics").get("accuracy").asDouble();
            assertThat(accuracy)
                    .as(
                            "test accuracy; losses per epoch %s, confusion matrix %s",
                            chart.findValuesAsText("loss"), matrix)
                    .isGreaterThanOrEqualTo(0.8);
            assertThat(right).as("the confusion matrix's diagonal").isEqualTo(Math.round(accuracy * tested));
            // the control logger catalogs the stream on its own thread: not necessarily before the training ended
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> !ok(call("GET", "/datasources", null), 200).isEmpty());
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

            // versions: two published as an incremental run publishes its windows, the second promoted; then a
            // rollback to the first through the API
            ml.registry()
                    .publishVersion(resultId, download.body(), null, Map.of("accuracy", 0.9), Map.of(), "w1", true);
            ml.registry()
                    .publishVersion(resultId, download.body(), null, Map.of("accuracy", 0.95), Map.of(), "w2", true);
            JsonNode versions = ok(call("GET", "/results/" + resultId + "/versions", null), 200);
            assertThat(versions.get("promoted").asInt()).isEqualTo(2);
            assertThat(versions.get("versions").findValuesAsText("version")).containsExactly("1", "2");
            JsonNode rollback = ok(call("POST", "/results/" + resultId + "/promote", Map.of("version", 1)), 200);
            assertThat(rollback.get("rollback").asBoolean()).isTrue();
            assertThat(rollback.get("previousVersion").asInt()).isEqualTo(2);
            assertThat(ok(call("GET", "/results/" + resultId + "/versions", null), 200)
                            .get("promoted")
                            .asInt())
                    .isEqualTo(1);
            assertThat(ml.results().promotedVersion(resultId).orElseThrow().version())
                    .isEqualTo(1);
            assertThat(ok(call("POST", "/results/" + resultId + "/promote", Map.of("version", 9)), 404)
                            .get("reason")
                            .asText())
                    .contains("9");
            assertThat(ok(call("POST", "/results/" + resultId + "/promote", Map.of("version", "x")), 400)
                            .get("reason")
                            .asText())
                    .contains("version");

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
            // a second start of the same id: 409, and the first deployment is still the one this server runs
            Map<String, Object> again =
                    Map.of("resultId", resultId, "inputTopic", "in", "outputTopic", "out", "id", "serve-mlp");
            assertThat(ok(call("POST", "/inferences", again), 409).get("reason").asText())
                    .contains("already running");
            // ... and the first deployment is untouched: listed once, its one replica running under this server
            assertThat(ok(call("GET", "/inferences", null), 200))
                    .filteredOn(i -> i.get("id").asText().equals("serve-mlp"))
                    .singleElement()
                    .satisfies(i -> {
                        assertThat(i.get("replicas").asInt()).isEqualTo(1);
                        assertThat(i.get("state").asText()).isEqualTo("RUNNING");
                    });
            // replicas: an integer within the server's maximum, named with the value sent
            assertThat(ok(call("POST", "/inferences/serve-mlp/scale", Map.of("replicas", "two")), 400)
                            .get("reason")
                            .asText())
                    .contains("'replicas' must be an integer, got \"two\"");
            assertThat(ok(call("POST", "/inferences/serve-mlp/scale", Map.of("replicas", 100000)), 400)
                            .get("reason")
                            .asText())
                    .contains("[0, " + KafkaMlServer.DEFAULT_MAX_REPLICAS + "], got 100000");
            assertThat(ok(call("POST", "/inferences/serve-mlp/scale", Map.of("replica", 2)), 400)
                            .get("reason")
                            .asText())
                    .contains("[replica]");
            // before the first batch the latency percentiles are null, not "NaN"
            assertThat(ok(call("GET", "/inferences/serve-mlp", null), 200)
                            .get("counters")
                            .get("batchLatencyP50Millis")
                            .isNull())
                    .isTrue();
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
            // records out are counted on the producer's acknowledgement, a batch's records in and the batch after
            // it, its offsets committed last: once the group committed all 20 inputs every counter is final
            await().atMost(Duration.ofSeconds(60))
                    .until(() -> kafka
                                            .admin()
                                            .listConsumerGroupOffsets("kafkaml-inference-serve-mlp")
                                            .partitionsToOffsetAndMetadata()
                                            .get(30, TimeUnit.SECONDS)
                                            .values()
                                            .stream()
                                            .mapToLong(o -> o == null ? 0 : o.offset())
                                            .sum()
                                    == 20
                            && ok(call("GET", "/inferences/serve-mlp", null), 200)
                                            .get("counters")
                                            .get("recordsOut")
                                            .asLong()
                                    == 20);
            // its counters: in an SSE 'counters' event, and at the server's /metrics with InferenceStats' values
            HttpResponse<Stream<String>> counterStream = http.send(
                    HttpRequest.newBuilder(base.resolve("api/v1/inferences/serve-mlp/events"))
                            .header("Accept", "text/event-stream")
                            .build(),
                    HttpResponse.BodyHandlers.ofLines());
            try (Stream<String> lines = counterStream.body()) {
                Iterator<String> it = lines.iterator();
                String event = null;
                while (it.hasNext()) {
                    String line = it.next();
                    if (line.startsWith("event:")) {
                        event = line.substring(6).trim();
                    } else if (line.startsWith("data:") && "counters".equals(event)) {
                        JsonNode counters = JSON.readTree(line.substring(5)).get("counters");
                        assertThat(counters.get("recordsIn").asLong()).isEqualTo(20);
                        assertThat(counters.get("recordsOut").asLong()).isEqualTo(20);
                        break;
                    }
                }
            }
            JsonNode counters =
                    ok(call("GET", "/inferences/serve-mlp", null), 200).get("counters"); // its InferenceStats
            String metrics = http.send(
                            HttpRequest.newBuilder(base.resolve("metrics")).build(),
                            HttpResponse.BodyHandlers.ofString())
                    .body();
            assertThat(meter(metrics, "kafkaml_inference_records_in_total", "serve-mlp"))
                    .isEqualTo(counters.get("recordsIn").asDouble())
                    .isEqualTo(20.0);
            assertThat(meter(metrics, "kafkaml_inference_records_out_total", "serve-mlp"))
                    .isEqualTo(counters.get("recordsOut").asDouble())
                    .isEqualTo(20.0);
            assertThat(meter(metrics, "kafkaml_inference_records_dead_lettered_total", "serve-mlp"))
                    .isEqualTo(counters.get("deadLettered").asDouble())
                    .isEqualTo(0.0);
            assertThat(meter(metrics, "kafkaml_inference_batches_total", "serve-mlp"))
                    .isEqualTo(counters.get("batches").asDouble());
            JsonNode scaled = ok(call("POST", "/inferences/serve-mlp/scale", Map.of("replicas", 2)), 200);
            assertThat(scaled.get("replicas").asInt()).isEqualTo(2);
            // a body-less POST must still be one a web page cannot send without a preflight (review R19)
            assertThat(ok(call("POST", "/inferences/serve-mlp/stop", null, null), 415)
                            .get("reason")
                            .asText())
                    .contains("X-Requested-With");
            assertThat(ok(call("POST", "/inferences/serve-mlp/stop", null, "text/plain"), 415)
                            .get("reason")
                            .asText())
                    .contains("application/json");
            ok(call("POST", "/inferences/serve-mlp/stop", "", "application/json"), 200);
            // a stopped deployment's meters leave /metrics
            assertThat(http.send(
                                    HttpRequest.newBuilder(base.resolve("metrics"))
                                            .build(),
                                    HttpResponse.BodyHandlers.ofString())
                            .body())
                    .doesNotContain("deployment=\"serve-mlp\"");
            JsonNode notRunning = ok(call("POST", "/inferences/serve-mlp/scale", Map.of("replicas", 1)), 409);
            assertThat(notRunning.get("reason").asText()).contains("not running");

            // a Keras file streamed as the body is imported and stored
            byte[] h5 = java.nio.file.Files.readAllBytes(
                    java.nio.file.Path.of("../kafkaml-keras/src/test/resources/keras213-sequential-sparse.h5"));
            assertThat(ok(call("POST", "/models/uploaded/keras", h5), 201)
                            .get("name")
                            .asText())
                    .isEqualTo("uploaded");
            assertThat(ml.models().get("uploaded")).isPresent();

            JsonNode openApi = ok(call("GET", "/openapi.json", null), 200);
            assertThat(openApi.get("paths").has("/results/model/{id}")).isTrue();
            assertThat(openApi.get("paths")
                            .get("/training/{id}/events")
                            .get("get")
                            .get("responses")
                            .get("200")
                            .get("content")
                            .has("text/event-stream"))
                    .isTrue();
            assertThat(openApi.get("paths").has("/inferences/{id}/events")).isTrue();
            // request bodies name their fields, the same list the route accepts
            assertThat(openApi.at("/paths/~1inferences/post/requestBody/content/application~1json/schema/properties")
                            .get("replicas")
                            .get("type")
                            .asText())
                    .isEqualTo("integer");
            // an event stream asked for without Accept: text/event-stream: a reason, not an empty 200
            JsonNode notAsked = ok(call("GET", "/inferences/serve-mlp/events", null), 406);
            assertThat(notAsked.get("reason").asText()).contains("Accept: text/event-stream");
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

            // a chunked upload declares no length: it is counted as it is read, and refused past the limit
            HttpResponse<String> chunked = http.send(
                    HttpRequest.newBuilder(base.resolve("api/v1/models/big/keras"))
                            .header("Content-Type", "application/octet-stream")
                            .POST(HttpRequest.BodyPublishers.ofInputStream(
                                    () -> new java.io.ByteArrayInputStream(new byte[5000])))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(ok(chunked, 413).get("reason").asText()).contains(KafkaMlConfig.MAX_ARTIFACT_BYTES_CONFIG);

            JsonNode notKeras = ok(call("POST", "/models/junk/keras", new byte[100]), 400);
            assertThat(notKeras.get("reason").asText()).contains("HDF5");

            JsonNode unknown = ok(call("POST", "/deployments", Map.of("configuration", "nope")), 404);
            assertThat(unknown.get("reason").asText()).contains("nope");
            // a typo in the spec is refused, not trained on the defaults
            JsonNode typo =
                    ok(call("POST", "/deployments", Map.of("configuration", "nope", "spec", Map.of("epochz", 5))), 400);
            assertThat(typo.get("reason").asText()).contains("[epochz]").contains("epochs");
            // ... and so is one inside spec.incremental (review R9)
            JsonNode nestedTypo = ok(
                    call(
                            "POST",
                            "/deployments",
                            Map.of(
                                    "configuration",
                                    "nope",
                                    "spec",
                                    Map.of("incremental", Map.of("indefinte", true, "windowRecords", 500)))),
                    400);
            assertThat(nestedTypo.get("reason").asText()).contains("spec.incremental.indefinte");
            // the body-less cancel passes the preflight gate with X-Requested-With (to the 404 of the unknown id)
            assertThat(ok(call("POST", "/deployments/999/cancel", null, null), 415)
                            .get("reason")
                            .asText())
                    .contains("X-Requested-With");
            ok(call("POST", "/deployments/999/cancel", null, null, "X-Requested-With", "test"), 404);

            JsonNode noModel =
                    ok(call("POST", "/configurations", Map.of("name", "c", "models", List.of("ghost"))), 404);
            assertThat(noModel.get("reason").asText()).contains("ghost");

            // a web page cannot drive the server: a JSON body sent as text/plain (a form or a no-cors fetch) is 415, a
            // foreign Origin 403, a request addressed to another name (DNS rebinding) 403
            String model = JSON.writeValueAsString(Map.of("name", "csrf", "configuration", mlpJson()));
            assertThat(ok(call("POST", "/models", model, "text/plain"), 415)
                            .get("reason")
                            .asText())
                    .contains("application/json");
            assertThat(ok(call("POST", "/models", model, "application/json", "Origin", "http://evil.example"), 403)
                            .get("reason")
                            .asText())
                    .contains("http://evil.example");
            assertThat(ok(call("POST", "/models/k/keras", new byte[100], "text/plain"), 415)
                            .get("reason")
                            .asText())
                    .contains("application/octet-stream");
            assertThat(getWithHost("/models", "evil.example:" + base.getPort())).startsWith("HTTP/1.1 403");
            assertThat(getWithHost("/models", "localhost:" + base.getPort())).startsWith("HTTP/1.1 200");
            // the dashboard's own origin passes (to the 404 of the missing model)
            ok(
                    call(
                            "POST",
                            "/configurations",
                            Map.of("name", "c", "models", List.of("ghost")),
                            "application/json",
                            "Origin",
                            "http://" + base.getHost() + ":" + base.getPort()),
                    404);
            // unknown fields and wrong types are named, with no Java internals
            assertThat(ok(call("POST", "/models", Map.of("name", "x", "configuration", mlpJson(), "bogus", 1)), 400)
                            .get("reason")
                            .asText())
                    .contains("[bogus]");
            assertThat(ok(call("POST", "/deployments", Map.of("configuration", "nope", "spec", "x")), 400)
                            .get("reason")
                            .asText())
                    .contains("'spec' must be a JSON object");
            // a re-send to no deployment: 404, no control message
            assertThat(ok(call("POST", "/datasources/kafka", Map.of("datasource", "d", "deploymentId", 999)), 404)
                            .get("reason")
                            .asText())
                    .contains("999");
            assertThat(ok(call("GET", "/deployments/results/999", null), 404)
                            .get("reason")
                            .asText())
                    .contains("999");
            // the event stream of an unknown deployment: a 404 status, not an error event in a 200 stream
            assertThat(call("GET", "/training/nope/events", null, null, "Accept", "text/event-stream")
                            .statusCode())
                    .isEqualTo(404);
            assertThat(call("GET", "/training/nope/events", null).statusCode()).isEqualTo(406);
            // a path served with another method: 405
            assertThat(call("PUT", "/models", Map.of()).statusCode()).isEqualTo(405);

            assertThat(ok(call("GET", "/models", null), 200)).isEmpty();
            assertThat(ok(call("GET", "/configurations", null), 200)).isEmpty();
            assertThat(ok(call("GET", "/deployments", null), 200)).isEmpty();
            assertThat(ml.registry().models()).isEmpty();
        }
    }
}
