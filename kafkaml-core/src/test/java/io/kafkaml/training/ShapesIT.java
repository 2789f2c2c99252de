package io.kafkaml.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kafkaml.control.ControlMessage;
import io.kafkaml.dataset.StreamDataSets;
import io.kafkaml.inference.InferenceSpec;
import io.kafkaml.inference.LocalInference;
import io.kafkaml.model.InputLayout;
import io.kafkaml.model.ModelDefinition;
import io.kafkaml.registry.Configuration;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.Registry;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.sink.RecordDataSink;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * Image and sequence models defined in DL4J, trained from a stream and served: a CNN declared with a
 * convolutional input type (NCHW), the same CNN declared convolutional-flat, a computation graph CNN, and an
 * LSTM (NCW); records are sent as Kafka-ML sends them (images [height, width, channels], sequences
 * [time, features], C order). Served predictions are compared with the trained network fed by hand in its own
 * layout, so a wrong transposition anywhere fails.
 */
@ExtendWith(EmbeddedKafkaExtension.class)
class ShapesIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static final int H = 5;
    static final int W = 5;
    static final int C = 2;
    static Registry registry;
    static LocalTrainingLauncher launcher;
    static TrainingDeployments deployments;

    @BeforeAll
    static void start(EmbeddedKafkaBroker kafka) {
        registry = Registry.connect(kafka.clientConfig(), "shapes", Duration.ofSeconds(30));
        launcher = new LocalTrainingLauncher(registry, kafka.clientConfig(), 2, null);
        deployments = new TrainingDeployments(registry, launcher);
    }

    @AfterAll
    static void stop() {
        launcher.close();
        registry.close();
    }

    static NeuralNetConfiguration.Builder base() {
        return new NeuralNetConfiguration.Builder().seed(7).updater(new Adam(0.01));
    }

    static ConvolutionLayer conv() {
        return new ConvolutionLayer.Builder(2, 2)
                .nOut(3)
                .activation(Activation.RELU)
                .build();
    }

    static OutputLayer softmax() {
        return new OutputLayer.Builder(LossFunction.MCXENT)
                .nOut(2)
                .activation(Activation.SOFTMAX)
                .build();
    }

    /** An image whose class is which channel holds a bright row: random noise elsewhere. */
    static float[] image(Random random, int label) {
        float[] hwc = new float[H * W * C];
        for (int i = 0; i < hwc.length; i++) {
            hwc[i] = random.nextFloat() * 0.2f;
        }
        int row = random.nextInt(H);
        for (int w = 0; w < W; w++) {
            hwc[(row * W + w) * C + label] = 1f;
        }
        return hwc;
    }

    static double[] doubles(float[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i];
        }
        return out;
    }

    @Test
    void convolutionalModelsTrainFromImagesAndServeThemInTheirOwnLayout(EmbeddedKafkaBroker kafka) throws Exception {
        MultiLayerConfiguration nchw = base().list()
                .layer(conv())
                .layer(softmax())
                .setInputType(InputType.convolutional(H, W, C))
                .build();
        MultiLayerConfiguration flat = base().list()
                .layer(conv())
                .layer(softmax())
                .setInputType(InputType.convolutionalFlat(H, W, C))
                .build();
        ComputationGraphConfiguration graph = base().graphBuilder()
                .addInputs("image")
                .addLayer("conv", conv(), "image")
                .addLayer("out", softmax(), "conv")
                .setOutputs("out")
                .setInputTypes(InputType.convolutional(H, W, C))
                .build();
        registry.registerModel(
                ModelDefinition.of("cnn-nchw", "", nchw).withInputType(InputType.convolutional(H, W, C)));
        registry.registerModel(ModelDefinition.of("cnn-flat", "", flat));
        registry.registerModel(ModelDefinition.of("cnn-graph", "", graph)); // height and width left to the stream
        assertThat(registry.model("cnn-nchw").orElseThrow().summary().inputSize())
                .isEqualTo(H * W * C);
        assertThat(registry.model("cnn-flat")
                        .orElseThrow()
                        .summary()
                        .inputLayout()
                        .kind())
                .isEqualTo(InputLayout.Kind.CONVOLUTIONAL_FLAT);
        assertThat(registry.model("cnn-flat").orElseThrow().summary().inputSize())
                .isEqualTo(H * W * C);
        registry.createConfiguration(new Configuration("cnns", "", List.of("cnn-nchw", "cnn-flat", "cnn-graph")));

        kafka.createTopic("images", 1);
        TrainingHandle handle = deployments.deploy(
                "cnns",
                TrainingSpec.builder()
                        .batchSize(8)
                        .epochs(15)
                        .seed(3)
                        .controlTimeout(Duration.ofSeconds(60))
                        .build(),
                "images-1");
        Random random = new Random(11);
        ControlMessage stream;
        try (RecordDataSink sink = RecordDataSink.builder(kafka.clientConfig())
                .format("JSON")
                .inputConfig(Map.of("data_reshape", H + " " + W + " " + C))
                .topic("images")
                .deploymentId("images-1")
                .testRate(0.25)
                .build()) {
            for (int i = 0; i < 80; i++) {
                int label = i % 2;
                sink.send(doubles(image(random, label)), label);
            }
            sink.close();
            stream = sink.controlMessage();
        }
        assertThat(handle.await(Duration.ofMinutes(3))).contains(DeploymentStatus.FINISHED);
        for (TrainingResult result : registry.results("images-1")) {
            assertThat(result.status()).as(result.model()).isEqualTo(DeploymentStatus.FINISHED);
            assertThat(result.testMetrics().get("accuracy"))
                    .as(result.model() + " test accuracy")
                    .isGreaterThan(0.9);
        }

        // StreamDataSets used directly lays batches out with the same code.
        try (StreamDataSets flatData = StreamDataSets.builder(kafka.clientConfig(), stream)
                        .batchSize(8)
                        .build();
                StreamDataSets laidOut = StreamDataSets.builder(kafka.clientConfig(), stream)
                        .batchSize(8)
                        .inputLayout(registry.model("cnn-nchw")
                                .orElseThrow()
                                .summary()
                                .inputLayout())
                        .build()) {
            INDArray flatBatch = flatData.train().next().getFeatures();
            INDArray batch = laidOut.train().next().getFeatures();
            assertThat(batch.shape()).containsExactly(8, C, H, W);
            assertThat(batch).isEqualTo(flatBatch.reshape(8, H, W, C).permute(0, 3, 1, 2));
        }

        float[][] inputs = {image(random, 0), image(random, 1), image(random, 1)};
        for (String model : List.of("cnn-nchw", "cnn-flat", "cnn-graph")) {
            Model trained = restore(registry.result("images-1." + model).orElseThrow());
            List<JsonNode> served = serve(kafka, "images-1." + model, inputs);
            for (int i = 0; i < inputs.length; i++) {
                // The network fed by hand: [height, width, channels] → NCHW, or flattened in CHW order.
                INDArray nchwInput = Nd4j.createFromArray(inputs[i])
                        .reshape(1, H, W, C)
                        .permute(0, 3, 1, 2)
                        .dup('c');
                INDArray input = model.equals("cnn-flat") ? nchwInput.reshape(1, H * W * C) : nchwInput;
                float[] expected = output(trained, input);
                assertThat(served.get(i).get("values").get(0).floatValue())
                        .as(model)
                        .isCloseTo(expected[0], within(1e-5f));
                assertThat(served.get(i).get("values").get(1).floatValue())
                        .as(model)
                        .isCloseTo(expected[1], within(1e-5f));
                assertThat(served.get(i).get("class").asInt())
                        .as(model + " input " + i)
                        .isEqualTo(i == 0 ? 0 : 1);
            }
        }
    }

    @Test
    void anLstmTrainsFromSequencesAndServesThem(EmbeddedKafkaBroker kafka) throws Exception {
        MultiLayerConfiguration lstm = base().list()
                .layer(new LastTimeStep(
                        new LSTM.Builder().nOut(6).activation(Activation.TANH).build()))
                .layer(new OutputLayer.Builder(LossFunction.MSE)
                        .nOut(1)
                        .activation(Activation.IDENTITY)
                        .build())
                .setInputType(InputType.recurrent(2))
                .build();
        ModelDefinition model = ModelDefinition.of("lstm", "", lstm);
        assertThat(model.summary().inputLayout())
                .isEqualTo(InputLayout.recurrent(2, InputLayout.ANY, org.deeplearning4j.nn.conf.RNNFormat.NCW));
        assertThat(model.summary().inputSize()).isEqualTo(2);
        registry.registerModel(model);
        registry.createConfiguration(new Configuration("lstms", "", List.of("lstm")));
        kafka.createTopic("sequences", 1);
        TrainingHandle handle = deployments.deploy(
                "lstms",
                TrainingSpec.builder()
                        .batchSize(10)
                        .epochs(20)
                        .seed(3)
                        .controlTimeout(Duration.ofSeconds(60))
                        .build(),
                "sequences-1");
        Random random = new Random(5);
        try (RecordDataSink sink = RecordDataSink.builder(kafka.clientConfig())
                .format("JSON")
                .inputConfig(Map.of("data_reshape", "4 2"))
                .topic("sequences")
                .deploymentId("sequences-1")
                .testRate(0.2)
                .build()) {
            for (int i = 0; i < 100; i++) {
                float[] steps = sequence(random);
                sink.send(doubles(steps), steps[6] - steps[7]); // a label from the last step: [time, features]
            }
        }
        assertThat(handle.await(Duration.ofMinutes(3))).contains(DeploymentStatus.FINISHED);
        TrainingResult result = registry.result("sequences-1.lstm").orElseThrow();
        assertThat(result.testMetrics().get("mse"))
                .as("test mse, labels of variance ~0.17")
                .isLessThan(0.1);

        Model trained = restore(result);
        float[][] inputs = {sequence(random), sequence(random)};
        List<JsonNode> served = serve(kafka, "sequences-1.lstm", inputs);
        for (int i = 0; i < inputs.length; i++) {
            // [time, features] → [batch, features, time] (NCW)
            INDArray input = Nd4j.createFromArray(inputs[i])
                    .reshape(1, 4, 2)
                    .permute(0, 2, 1)
                    .dup('c');
            assertThat(served.get(i).get("values").get(0).floatValue())
                    .isCloseTo(output(trained, input)[0], within(1e-5f));
        }
    }

    /** NCW is DL4J's default; NWC (Keras imports) puts the outputs on axis 2, which evaluation must read there. */
    @ParameterizedTest
    @EnumSource(RNNFormat.class)
    void aModelWithAnOutputPerTimeStepTrainsOnALabelPerStep(RNNFormat format, EmbeddedKafkaBroker kafka)
            throws Exception {
        String name = "per-step-" + format.name().toLowerCase(java.util.Locale.ROOT);
        String deployment = "steps-" + format.name().toLowerCase(java.util.Locale.ROOT);
        MultiLayerConfiguration perStep = base().list()
                .layer(new LSTM.Builder()
                        .nOut(8)
                        .activation(Activation.TANH)
                        .dataFormat(format)
                        .build())
                .layer(new RnnOutputLayer.Builder(LossFunction.MCXENT)
                        .nOut(2)
                        .activation(Activation.SOFTMAX)
                        .dataFormat(format)
                        .build())
                .setInputType(InputType.recurrent(2, format))
                .build();
        ModelDefinition model = ModelDefinition.of(name, "", perStep);
        assertThat(model.summary().inputLayout().sequenceOutput()).isEqualTo(format.name());
        registry.registerModel(model);
        registry.createConfiguration(new Configuration(name, "", List.of(name)));
        kafka.createTopic(deployment, 1);
        TrainingHandle handle = deployments.deploy(
                name,
                TrainingSpec.builder()
                        .batchSize(10)
                        .epochs(15)
                        .seed(3)
                        .controlTimeout(Duration.ofSeconds(60))
                        .build(),
                deployment);
        Random random = new Random(9);
        try (RecordDataSink sink = RecordDataSink.builder(kafka.clientConfig())
                .format("JSON")
                .inputConfig(Map.of("data_reshape", "4 2", "label_reshape", "4"))
                .topic(deployment)
                .deploymentId(deployment)
                .testRate(0.2)
                .build()) {
            for (int i = 0; i < 100; i++) {
                float[] steps = sequence(random);
                double[] labels = new double[4];
                for (int t = 0; t < 4; t++) {
                    labels[t] = steps[2 * t] > steps[2 * t + 1] ? 1 : 0; // a class index per step
                }
                sink.send(doubles(steps), labels);
            }
        }
        assertThat(handle.await(Duration.ofMinutes(3))).contains(DeploymentStatus.FINISHED);
        TrainingResult result = registry.result(deployment + "." + name).orElseThrow();
        assertThat(result.testMetrics().get("accuracy"))
                .as("per-step test accuracy")
                .isGreaterThan(0.8);
        long[][] confusion = result.confusionMatrix();
        assertThat(confusion[0][0] + confusion[0][1] + confusion[1][0] + confusion[1][1])
                .as("one count per step of the 20 test records")
                .isEqualTo(80);

        Model trained = restore(result);
        float[][] inputs = {sequence(random), sequence(random)};
        List<JsonNode> served = serve(kafka, deployment + "." + name, inputs);
        for (int i = 0; i < inputs.length; i++) {
            INDArray nwc = Nd4j.createFromArray(inputs[i]).reshape(1, 4, 2);
            INDArray input =
                    format == RNNFormat.NWC ? nwc : nwc.permute(0, 2, 1).dup('c');
            INDArray steps = ((MultiLayerNetwork) trained).output(input, false); // [1, 2, 4] NCW, [1, 4, 2] NWC
            float[] last = (format == RNNFormat.NWC
                            ? steps.get(
                                    org.nd4j.linalg.indexing.NDArrayIndex.all(),
                                    org.nd4j.linalg.indexing.NDArrayIndex.point(3),
                                    org.nd4j.linalg.indexing.NDArrayIndex.all())
                            : steps.get(
                                    org.nd4j.linalg.indexing.NDArrayIndex.all(),
                                    org.nd4j.linalg.indexing.NDArrayIndex.all(),
                                    org.nd4j.linalg.indexing.NDArrayIndex.point(3)))
                    .dup('c')
                    .data()
                    .asFloat();
            assertThat(served.get(i).get("values").get(0).floatValue())
                    .as("the last step's output")
                    .isCloseTo(last[0], within(1e-5f));
            assertThat(served.get(i).get("values").get(1).floatValue()).isCloseTo(last[1], within(1e-5f));
        }
    }

    @Test
    void aStreamThatDoesNotFitTheModelIsRefusedBeforeTrainingNamingBothShapes(EmbeddedKafkaBroker kafka) {
        registry.registerModel(ModelDefinition.of(
                "lstm-mismatch",
                "",
                base().list()
                        .layer(new LastTimeStep(new LSTM.Builder().nOut(3).build()))
                        .layer(new OutputLayer.Builder(LossFunction.MSE)
                                .nOut(1)
                                .activation(Activation.IDENTITY)
                                .build())
                        .setInputType(InputType.recurrent(2))
                        .build()));
        registry.createConfiguration(new Configuration("mismatch", "", List.of("lstm-mismatch")));
        kafka.createTopic("mismatch", 1);
        TrainingHandle handle = deployments.deploy(
                "mismatch",
                TrainingSpec.builder()
                        .epochs(3)
                        .controlTimeout(Duration.ofSeconds(60))
                        .build(),
                "mismatch-1");
        try (RecordDataSink sink = RecordDataSink.builder(kafka.clientConfig())
                .format("JSON")
                .inputConfig(Map.of("data_reshape", "3 3 1"))
                .topic("mismatch")
                .deploymentId("mismatch-1")
                .build()) {
            for (int i = 0; i < 10; i++) {
                sink.send(new double[9], 1.0);
            }
        }
        assertThat(handle.await(Duration.ofMinutes(2))).contains(DeploymentStatus.FAILED);
        assertThat(registry.deployment("mismatch-1").orElseThrow().error())
                .contains("model 'lstm-mismatch'")
                .contains("recurrent [any, 2]")
                .contains("[3, 3, 1]");
        TrainingResult result = registry.result("mismatch-1.lstm-mismatch").orElseThrow();
        assertThat(result.status()).isEqualTo(DeploymentStatus.FAILED);
        assertThat(result.epochCount()).as("nothing trained").isZero();
    }

    /** 4 steps of 2 features, [time, features] in C order. */
    static float[] sequence(Random random) {
        float[] values = new float[8];
        for (int i = 0; i < values.length; i++) {
            values[i] = random.nextFloat();
        }
        return values;
    }

    static Model restore(TrainingResult result) throws Exception {
        byte[] bytes = registry.loadArtifact(result.artifact());
        return registry.model(result.model()).orElseThrow().isGraph()
                ? ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(bytes), false)
                : ModelSerializer.restoreMultiLayerNetwork(new ByteArrayInputStream(bytes), false);
    }

    static float[] output(Model network, INDArray input) {
        INDArray out = network instanceof MultiLayerNetwork mln
                ? mln.output(input, false)
                : ((ComputationGraph) network).outputSingle(false, input);
        return out.dup('c').data().asFloat();
    }

    /** Serves a result on a fresh input topic, sends the inputs as JSON arrays and returns the predictions in order. */
    static List<JsonNode> serve(EmbeddedKafkaBroker kafka, String resultId, float[][] inputs) throws Exception {
        String in = resultId.replace('.', '-') + "-in";
        String out = resultId.replace('.', '-') + "-out";
        kafka.createTopic(in, 1);
        try (LocalInference inference = LocalInference.start(
                registry,
                kafka.clientConfig(),
                resultId.replace('.', '-'),
                InferenceSpec.builder(resultId, in, out).build())) {
            try (KafkaProducer<byte[], byte[]> producer =
                    new KafkaProducer<>(kafka.clientConfig(), new ByteArraySerializer(), new ByteArraySerializer())) {
                for (int i = 0; i < inputs.length; i++) {
                    String value = Arrays.toString(inputs[i]);
                    producer.send(new ProducerRecord<>(
                                    in,
                                    String.valueOf(i).getBytes(StandardCharsets.UTF_8),
                                    value.getBytes(StandardCharsets.UTF_8)))
                            .get(30, TimeUnit.SECONDS);
                }
            }
            return read(kafka, out, inputs.length);
        }
    }

    static List<JsonNode> read(EmbeddedKafkaBroker kafka, String topic, int count) throws Exception {
        Map<String, Object> config = new HashMap<>(kafka.clientConfig());
        config.put(ConsumerConfig.GROUP_ID_CONFIG, "reader-" + topic);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        JsonNode[] byKey = new JsonNode[count];
        List<JsonNode> seen = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (seen.size() < count && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    int key = Integer.parseInt(new String(record.key(), StandardCharsets.UTF_8));
                    if (byKey[key] == null) {
                        byKey[key] = JSON.readTree(record.value());
                        seen.add(byKey[key]);
                    }
                }
            }
        }
        assertThat(seen).as("predictions on " + topic).hasSize(count);
        return Arrays.asList(byKey);
    }
}
