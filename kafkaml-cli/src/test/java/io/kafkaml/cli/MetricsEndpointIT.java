package io.kafkaml.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * {@code kafkaml infer --metrics-port 0} as a child process: its Prometheus endpoint shows the inference counters
 * while inputs flow, and when it stops the last scrape equals the {@code InferenceStats} it prints.
 */
@ExtendWith(EmbeddedKafkaExtension.class)
class MetricsEndpointIT {

    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void theInferenceCountersAreScrapedWhileInputsFlowAndMatchTheProcessStats(
            EmbeddedKafkaBroker kafka, @TempDir Path dir) throws Exception {
        String result = InferenceProcessIT.registerResult(
                kafka.clientConfig(),
                "metered",
                new NeuralNetConfiguration.Builder()
                        .seed(3)
                        .list()
                        .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                                .nIn(2)
                                .nOut(2)
                                .activation(Activation.SOFTMAX)
                                .build())
                        .build(),
                2);
        kafka.createTopic("metered-in", 2);
        Path log = dir.resolve("infer.log");
        Process infer = InferenceProcessIT.infer(
                log,
                kafka.bootstrapServers(),
                "--result",
                result,
                "--input-topic",
                "metered-in",
                "--output-topic",
                "metered-out",
                "--dlq-topic",
                "metered-dlq",
                "--id",
                "metered",
                "--metrics-port",
                "0");
        try {
            InferenceProcessIT.awaitLog(log, "metrics: http://0.0.0.0:", 60);
            Matcher port = Pattern.compile("metrics: http://0\\.0\\.0\\.0:(\\d+)/metrics")
                    .matcher(Files.readString(log));
            assertThat(port.find()).isTrue();
            URI uri = URI.create("http://127.0.0.1:" + port.group(1) + "/metrics");

            HttpResponse<String> first = scrape(uri);
            assertThat(first.statusCode()).isEqualTo(200);
            assertThat(first.headers().firstValue("Content-Type"))
                    .hasValueSatisfying(type -> assertThat(type).startsWith("text/plain"));
            assertThat(value(first.body(), "kafkaml_inference_records_in_total"))
                    .isZero();
            assertThat(first.body()).contains("jvm_memory_used_bytes");
            assertThat(HTTP.send(
                                    HttpRequest.newBuilder(uri)
                                            .POST(HttpRequest.BodyPublishers.noBody())
                                            .build(),
                                    HttpResponse.BodyHandlers.ofString())
                            .statusCode())
                    .isEqualTo(405);

            // 60 good inputs and 7 undecodable ones, in two rounds, scraped as they flow
            List<double[]> seen = new ArrayList<>();
            send(kafka.clientConfig(), 0, 30, 4);
            await().atMost(60, TimeUnit.SECONDS)
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> {
                        seen.add(counters(scrape(uri).body()));
                        return seen.get(seen.size() - 1)[0] > 0;
                    });
            send(kafka.clientConfig(), 30, 30, 3);
            await().atMost(60, TimeUnit.SECONDS)
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> {
                        seen.add(counters(scrape(uri).body()));
                        double[] last = seen.get(seen.size() - 1);
                        // a scrape may fall between a batch's records in and its records out: wait for all three
                        return last[0] == 67 && last[1] + last[2] == 67;
                    });
            for (int i = 1; i < seen.size(); i++) {
                for (int c = 0; c < 4; c++) {
                    assertThat(seen.get(i)[c]).as("counters only grow").isGreaterThanOrEqualTo(seen.get(i - 1)[c]);
                }
            }
            // a batch's records in are counted before its batch and its latency: once the group has committed all 67
            // inputs (the replica commits after it counted the batch), every counter is final and the scrape stable
            await().atMost(60, TimeUnit.SECONDS)
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> InferenceChaosIT.committed(kafka.clientConfig(), "kafkaml-inference-metered") == 67);
            String body = scrape(uri).body();
            assertThat(counters(body)).containsExactly(67, 60, 7, value(body, "kafkaml_inference_batches_total"));
            assertThat(value(body, "kafkaml_inference_batch_latency_seconds_count"))
                    .isEqualTo(value(body, "kafkaml_inference_batches_total"));
            assertThat(value(body, "kafkaml_inference_batch_latency_seconds_sum"))
                    .isPositive();
            assertThat(value(body, "kafkaml_inference_replicas")).isEqualTo(1);
            assertThat(body)
                    .contains("deployment=\"metered\"")
                    .contains("result=\"" + result + "\"")
                    .containsPattern("kafkaml_inference_batch_latency_percentile_seconds\\{[^}]*percentile=\"99\"");
            // the group committed everything: no lag (read at most every 5 s)
            await().atMost(30, TimeUnit.SECONDS)
                    .pollInterval(Duration.ofMillis(500))
                    .until(() -> value(scrape(uri).body(), "kafkaml_inference_consumer_lag_records") == 0);

            infer.destroy(); // SIGTERM: it prints its InferenceStats
            assertThat(infer.waitFor(30, TimeUnit.SECONDS)).isTrue();
            String output = Files.readString(log);
            Matcher stats = Pattern.compile(
                            "stopped \\S+: in (\\d+), out (\\d+), dead-lettered (\\d+), dropped (\\d+), batches (\\d+)")
                    .matcher(output);
            assertThat(stats.find()).as(output).isTrue();
            assertThat(new double[] {
                        Long.parseLong(stats.group(1)),
                        Long.parseLong(stats.group(2)),
                        Long.parseLong(stats.group(3)),
                        Long.parseLong(stats.group(5))
                    })
                    .containsExactly(counters(body));
            assertThat(Long.parseLong(stats.group(4)))
                    .isEqualTo((long) value(body, "kafkaml_inference_records_dropped_total"));
        } finally {
            infer.destroyForcibly();
        }
    }

    /** {@code count} inputs from {@code first}, and {@code bad} undecodable ones. */
    private static void send(Map<String, Object> client, int first, int count, int bad) throws Exception {
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(new HashMap<>(client), new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = first; i < first + count; i++) {
                sent.add(producer.send(new ProducerRecord<>(
                        "metered-in", utf8(String.valueOf(i)), utf8("[" + (i % 3) + "," + (i % 5) + "]"))));
            }
            for (int i = 0; i < bad; i++) {
                sent.add(producer.send(new ProducerRecord<>("metered-in", utf8("bad" + first + i), utf8("not json"))));
            }
        }
        for (Future<RecordMetadata> future : sent) {
            future.get(30, TimeUnit.SECONDS);
        }
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static HttpResponse<String> scrape(URI uri) throws Exception {
        return HTTP.send(
                HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** in, out, dead-lettered, batches. */
    private static double[] counters(String body) {
        return new double[] {
            value(body, "kafkaml_inference_records_in_total"),
            value(body, "kafkaml_inference_records_out_total"),
            value(body, "kafkaml_inference_records_dead_lettered_total"),
            value(body, "kafkaml_inference_batches_total")
        };
    }

    /** The value of the one sample of {@code name} with the tag deployment="metered". */
    private static double value(String body, String name) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "\\{([^}]*)\\} (\\S+)$")
                .matcher(body);
        List<Double> values = new ArrayList<>();
        while (m.find()) {
            if (m.group(1).contains("deployment=\"metered\"")) {
                values.add(Double.parseDouble(m.group(2)));
            }
        }
        assertThat(values).as(name + " in\n" + body).hasSize(1);
        return values.get(0);
    }
}
