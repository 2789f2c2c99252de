package io.kafkaml.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.kafkaml.registry.Registry;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * {@link LocalInference#close(Duration)} for an embedded user: with the broker gone in the middle of a stream it
 * returns within its grace and says what it abandoned (a broker of its own, stopped by the test).
 */
class InferenceShutdownIT {

    @Test
    void closeReturnsWithinItsGraceWithTheBrokerGoneAndReportsWhatItAbandoned() throws Exception {
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().build().start();
        Registry registry = null;
        LocalInference inference = null;
        try {
            registry = Registry.connect(broker.clientConfig(), "gone", Duration.ofSeconds(30));
            String result = ServableResults.register(
                    registry,
                    "gone",
                    new NeuralNetConfiguration.Builder()
                            .seed(3)
                            .list()
                            .layer(new OutputLayer.Builder(LossFunction.MCXENT)
                                    .nIn(3)
                                    .nOut(2)
                                    .activation(Activation.SOFTMAX)
                                    .build())
                            .build(),
                    3);
            broker.createTopic("gone-in", 2);
            List<Future<RecordMetadata>> sent = new ArrayList<>();
            try (KafkaProducer<byte[], byte[]> producer =
                    new KafkaProducer<>(broker.clientConfig(), new ByteArraySerializer(), new ByteArraySerializer())) {
                for (int i = 0; i < 20_000; i++) {
                    sent.add(producer.send(new ProducerRecord<>(
                            "gone-in", bytes(String.valueOf(i)), bytes("[" + (i % 7) + ",0.5,1.5]"))));
                }
            }
            for (Future<RecordMetadata> future : sent) {
                future.get(30, TimeUnit.SECONDS);
            }
            Map<String, Object> config = broker.clientConfig();
            config.put(InferenceConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 200);
            LocalInference running = LocalInference.start(
                    registry,
                    config,
                    "gone",
                    InferenceSpec.builder(result, "gone-in", "gone-out")
                            .replicas(2)
                            .maxBatchSize(50)
                            .build());
            inference = running;
            await().atMost(60, TimeUnit.SECONDS).until(() -> running.stats().recordsOut() > 500);

            broker.close(); // mid-stream: commits, sends and the registry's write cannot complete

            CompletableFuture<Boolean> closed =
                    CompletableFuture.supplyAsync(() -> running.close(Duration.ofSeconds(3)));
            // the grace plus scheduling noise on a busy 2-core machine: a hang detector (the registry alone would
            // wait 30 s, an exactly-once producer's abortTransaction() max.block.ms 60 s)
            assertThat(closed.get(12, TimeUnit.SECONDS)).as("closed cleanly").isFalse();
            assertThat(running.abandoned()).contains("registry record");
            assertThat(running.state()).isEqualTo(LocalInference.State.STOPPED);
            assertThat(running.close(Duration.ofSeconds(3))).as("idempotent").isTrue();
        } finally {
            if (inference != null) {
                inference.close(Duration.ofSeconds(1));
            }
            broker.close();
            if (registry != null) {
                registry.close();
            }
        }
    }

    static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
