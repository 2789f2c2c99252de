package io.kafkaml.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.format.RecordEncoder;
import io.kafkaml.inference.InferenceSpec;
import io.kafkaml.inference.ServedModel;
import io.kafkaml.registry.Inference;
import io.kafkaml.registry.Registry;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code kafkaml predict}: sends input rows to a running inference deployment and prints its predictions, for a
 * try-out or a smoke test. Each row is encoded in the format the deployment reads (the one its result was trained on,
 * or its spec's), produced to its input topic under a fresh key, and its prediction is read back from the output
 * topic (read_committed) by that key; an input the deployment dead-letters is reported with the reason in its
 * dead-letter headers. The time printed is from the send to the prediction's arrival, as a client sees it.
 *
 * <p>Exit status 0 when every row got its prediction within the timeout, 1 otherwise.
 */
@Command(
        name = "predict",
        mixinStandardHelpOptions = true,
        description = {
            "Send input rows to a running inference deployment and print its predictions (a try-out or smoke test; "
                    + "applications produce to and consume from the topics themselves). Each row is encoded in the "
                    + "format the deployment reads and sent with a fresh key; its prediction is read back by that key.",
        })
final class PredictCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ClientOptions client;

    @Parameters(paramLabel = "ID", description = "The inference deployment's id (see 'kafkaml inferences list')")
    String id;

    @Option(
            names = "--row",
            required = true,
            paramLabel = "VALUES",
            description = "One input row: comma-separated numbers in the model's input order, flattened "
                    + "(repeat for several rows)")
    List<String> rows;

    @Option(
            names = "--timeout-ms",
            paramLabel = "MS",
            defaultValue = "30000",
            description = "How long to wait for the predictions (default: ${DEFAULT-VALUE})")
    long timeoutMs;

    @Option(names = "--json", description = "Print the answers as a JSON array")
    boolean json;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Inference record;
        RecordEncoder encoder;
        try (Registry registry = client.registry()) {
            record = registry.inference(id).orElse(null);
            if (record == null) {
                err.println("kafkaml predict: no inference deployment '" + id + "' (see kafkaml inferences list)");
                return 1;
            }
            if (!"RUNNING".equals(record.status()) && !Inference.RELEASED.equals(record.status())) {
                err.println("kafkaml predict: inference deployment '" + id + "' is " + record.status()
                        + (record.error() == null ? "" : " (" + record.error() + ")") + ": nothing serves it");
                return 1;
            }
            encoder = ServedModel.inputFormat(registry, specOf(record)).newEncoder();
        }
        List<byte[]> values = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            double[] row;
            try {
                row = parse(rows.get(i));
                values.add(encoder.encode(row, null).value());
            } catch (IllegalArgumentException e) {
                err.println("kafkaml predict: --row " + (i + 1) + " '" + rows.get(i) + "': " + e.getMessage());
                return 1;
            }
        }
        String deadLetterTopic = (String) record.settings().get("deadLetterTopic");
        return exchange(record, deadLetterTopic, values, out, err);
    }

    private static InferenceSpec specOf(Inference record) {
        InferenceSpec.Builder builder =
                InferenceSpec.builder(record.resultId(), record.inputTopic(), record.outputTopic());
        Object format = record.settings().get("inputFormat");
        if (format != null) {
            @SuppressWarnings("unchecked")
            Map<String, Object> config = (Map<String, Object>) record.settings().get("inputConfig");
            builder.inputFormat(format.toString(), config);
        }
        return builder.build();
    }

    private static double[] parse(String row) {
        String[] tokens = row.split(",", -1);
        double[] values = new double[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            try {
                values[i] = Double.parseDouble(tokens[i].trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(
                        "value " + (i + 1) + " ('" + tokens[i].trim() + "') is not a number", e);
            }
        }
        return values;
    }

    private int exchange(
            Inference record, String deadLetterTopic, List<byte[]> values, PrintWriter out, PrintWriter err) {
        Map<String, Object> config = client.clientConfig();
        Map<String, Object> consumerConfig = new HashMap<>(config);
        consumerConfig.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        consumerConfig.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        consumerConfig.remove(ConsumerConfig.GROUP_ID_CONFIG);
        consumerConfig.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false); // asking never creates a topic
        String prefix = "predict-" + UUID.randomUUID() + "-";
        Map<String, Integer> rowOfKey = new LinkedHashMap<>();
        Map<Integer, ObjectNode> answers = new LinkedHashMap<>();
        long[] sentAt = new long[values.size()];
        try (KafkaConsumer<byte[], byte[]> reader =
                        new KafkaConsumer<>(consumerConfig, new ByteArrayDeserializer(), new ByteArrayDeserializer());
                KafkaProducer<byte[], byte[]> producer =
                        new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer())) {
            List<TopicPartition> watched = new ArrayList<>();
            // an output or dead-letter topic that does not exist yet (a deployment that has not written anything:
            // its first prediction creates it) is read from its beginning once it appears; the keys are this
            // run's own, so nothing older is taken for an answer
            List<String> notYet = new ArrayList<>();
            for (String topic : deadLetterTopic == null
                    ? List.of(record.outputTopic())
                    : List.of(record.outputTopic(), deadLetterTopic)) {
                List<TopicPartition> partitions = partitions(reader, topic, Duration.ofSeconds(30));
                if (partitions.isEmpty()) {
                    notYet.add(topic);
                }
                watched.addAll(partitions);
            }
            if (!watched.isEmpty()) {
                reader.assign(watched);
                reader.seekToEnd(watched);
                watched.forEach(reader::position); // fixes the start before the inputs are sent
            }
            for (int i = 0; i < values.size(); i++) {
                String key = prefix + (i + 1);
                rowOfKey.put(key, i + 1);
                sentAt[i] = System.nanoTime();
                producer.send(new ProducerRecord<>(
                                record.inputTopic(), key.getBytes(StandardCharsets.UTF_8), values.get(i)))
                        .get(30, TimeUnit.SECONDS);
            }
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
            while (answers.size() < values.size() && System.nanoTime() - deadline < 0) {
                if (!notYet.isEmpty()) {
                    List<TopicPartition> appeared = new ArrayList<>();
                    for (String topic : List.copyOf(notYet)) {
                        List<TopicPartition> partitions = partitions(reader, topic, Duration.ofMillis(200));
                        if (!partitions.isEmpty()) {
                            notYet.remove(topic);
                            appeared.addAll(partitions);
                        }
                    }
                    if (!appeared.isEmpty()) {
                        watched.addAll(appeared);
                        reader.assign(watched); // partitions assigned before keep their positions
                        reader.seekToBeginning(appeared);
                    }
                    if (watched.isEmpty()) {
                        continue; // nothing to read yet: partitionsFor waited for the topic's metadata
                    }
                }
                for (ConsumerRecord<byte[], byte[]> answer : reader.poll(Duration.ofMillis(100))) {
                    Integer row = answer.key() == null
                            ? null
                            : rowOfKey.get(new String(answer.key(), StandardCharsets.UTF_8));
                    if (row != null && !answers.containsKey(row)) {
                        answers.put(row, answer(row, answer, sentAt[row - 1], deadLetterTopic));
                    }
                }
            }
        } catch (java.util.concurrent.ExecutionException e) {
            err.println("kafkaml predict: could not send to " + record.inputTopic() + ": "
                    + e.getCause().getMessage());
            return 1;
        } catch (java.util.concurrent.TimeoutException e) {
            err.println("kafkaml predict: could not send to " + record.inputTopic() + " within 30 s");
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
        ArrayNode all = Output.JSON.createArrayNode();
        boolean complete = true;
        for (int row = 1; row <= values.size(); row++) {
            ObjectNode answer = answers.get(row);
            if (answer == null) {
                complete = false;
                answer = Output.JSON
                        .createObjectNode()
                        .put("row", row)
                        .put(
                                "error",
                                "no prediction within " + timeoutMs
                                        + " ms (is a replica serving? see kafkaml inferences list)");
            }
            all.add(answer);
            if (!json) {
                out.println(line(answer));
            }
        }
        if (json) {
            out.println(all.toString());
        }
        return complete && answers.values().stream().noneMatch(a -> a.has("error")) ? 0 : 1;
    }

    /** The topic's partitions, or none when it does not exist (yet). */
    private static List<TopicPartition> partitions(KafkaConsumer<?, ?> reader, String topic, Duration wait) {
        List<TopicPartition> partitions = new ArrayList<>();
        List<org.apache.kafka.common.PartitionInfo> infos = reader.partitionsFor(topic, wait);
        if (infos != null) {
            infos.forEach(p -> partitions.add(new TopicPartition(p.topic(), p.partition())));
        }
        return partitions;
    }

    private static ObjectNode answer(int row, ConsumerRecord<byte[], byte[]> answer, long sentAt, String dlq) {
        ObjectNode node = Output.JSON.createObjectNode().put("row", row);
        node.put("latencyMs", TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - sentAt) / 1000.0);
        if (answer.topic().equals(dlq)) {
            var reason = answer.headers().lastHeader(KafkaMlConfig.DLQ_ERROR_MESSAGE_HEADER);
            node.put(
                    "error",
                    "dead-lettered to " + dlq + ": "
                            + (reason == null
                                    ? "(no reason header)"
                                    : new String(reason.value(), StandardCharsets.UTF_8)));
            return node;
        }
        try {
            JsonNode prediction = Output.JSON.readTree(answer.value());
            node.set("prediction", prediction);
        } catch (java.io.IOException | RuntimeException e) {
            node.put("predictionBase64", Base64.getEncoder().encodeToString(answer.value()));
        }
        ObjectNode headers = Output.JSON.createObjectNode();
        answer.headers().forEach(h -> {
            if (h.key().startsWith("kafkaml.")) {
                headers.put(h.key(), new String(h.value(), StandardCharsets.UTF_8));
            }
        });
        if (!headers.isEmpty()) {
            node.set("headers", headers);
        }
        return node;
    }

    private static String line(ObjectNode answer) {
        StringBuilder line =
                new StringBuilder("row ").append(answer.get("row").asInt()).append(": ");
        if (answer.has("error")) {
            return line.append(answer.get("error").asText()).toString();
        }
        line.append(answer.has("prediction") ? answer.get("prediction").toString() : answer.get("predictionBase64"));
        return line.append(String.format(" (%.1f ms)", answer.get("latencyMs").asDouble()))
                .toString();
    }
}
