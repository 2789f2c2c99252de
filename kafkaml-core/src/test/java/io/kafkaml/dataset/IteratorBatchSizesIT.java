package io.kafkaml.dataset;

import static org.assertj.core.api.Assertions.assertThat;

import io.kafkaml.control.ControlMessage;
import io.kafkaml.sink.RecordDataSink;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.dataset.DataSet;

/**
 * {@code next(num)} with more rows than the training batch size (a training runner evaluates in batches of
 * {@code evaluationBatchSize}) returns every row of the split: the row that {@code hasNext()} read ahead is kept
 * when the batch arrays grow. It used to come back as zeros (features and label), one wrong row in every test
 * evaluation.
 */
@ExtendWith(EmbeddedKafkaExtension.class)
class IteratorBatchSizesIT {

    @Test
    void aBatchLargerThanTheBatchSizeKeepsTheRowReadAhead(EmbeddedKafkaBroker kafka) {
        int n = 90;
        kafka.createTopic("sizes", 1);
        RecordDataSink sink = RecordDataSink.builder(kafka.clientConfig())
                .format("JSON")
                .inputConfig(Map.of("data_reshape", "1"))
                .topic("sizes")
                .deploymentId("sizes-1")
                .testRate(0.5)
                .build();
        for (int i = 0; i < n; i++) {
            sink.send(new double[] {i + 1}, i + 1);
        }
        sink.close();
        ControlMessage stream = sink.controlMessage();
        List<Integer> expected = new ArrayList<>();
        DataSplit[] splits = StreamDataSets.splitAssignment(n, 0, 0.5, SplitOrder.SHUFFLED, 42);
        for (int i = 0; i < n; i++) {
            if (splits[i] == DataSplit.TEST) {
                expected.add(i + 1);
            }
        }
        for (long budget : new long[] {256L << 20, 0}) {
            try (StreamDataSets data = StreamDataSets.builder(kafka.clientConfig(), stream)
                    .batchSize(4)
                    .cacheBudgetBytes(budget)
                    .build()) {
                StreamDataSetIterator test = data.test();
                for (int pass = 0; pass < 2; pass++) {
                    test.reset();
                    List<Integer> features = new ArrayList<>();
                    List<Integer> labels = new ArrayList<>();
                    while (test.hasNext()) {
                        DataSet batch = test.next(1024);
                        for (float value : batch.getFeatures().dup().data().asFloat()) {
                            features.add((int) value);
                        }
                        for (float value : batch.getLabels().dup().data().asFloat()) {
                            labels.add((int) value);
                        }
                    }
                    assertThat(features)
                            .as("cache budget %d, pass %d", budget, pass)
                            .isEqualTo(expected);
                    assertThat(labels)
                            .as("cache budget %d, pass %d", budget, pass)
                            .isEqualTo(expected);
                }
            }
        }
    }
}
