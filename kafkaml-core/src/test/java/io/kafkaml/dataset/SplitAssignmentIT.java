package io.kafkaml.dataset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.control.ControlMessage;
import io.kafkaml.sink.RecordDataSink;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;

/** {@link StreamDataSets#splitAssignment}: the split that the iterators of a stream read, reproduced without Kafka. */
@ExtendWith(EmbeddedKafkaExtension.class)
class SplitAssignmentIT {

    @Test
    void theAssignmentNamesTheRowsEachSplitOfAOnePartitionStreamHolds(EmbeddedKafkaBroker kafka) {
        int n = 157;
        kafka.createTopic("assigned", 1);
        RecordDataSink sink = RecordDataSink.builder(kafka.clientConfig())
                .format("JSON")
                .inputConfig(Map.of("data_reshape", "1"))
                .topic("assigned")
                .deploymentId("assigned-1")
                .validationRate(0.15)
                .testRate(0.25)
                .build();
        for (int i = 0; i < n; i++) {
            sink.send(new double[] {i}, 0);
        }
        sink.close();
        ControlMessage stream = sink.controlMessage();
        for (SplitOrder order : SplitOrder.values()) {
            DataSplit[] assigned = StreamDataSets.splitAssignment(n, 0.15, 0.25, order, 7);
            assertThat(assigned).hasSize(n);
            try (StreamDataSets data = StreamDataSets.builder(kafka.clientConfig(), stream)
                    .batchSize(16)
                    .seed(7)
                    .splitOrder(order)
                    .build()) {
                for (DataSplit split : DataSplit.values()) {
                    List<Integer> expected = new ArrayList<>();
                    for (int i = 0; i < n; i++) {
                        if (assigned[i] == split) {
                            expected.add(i);
                        }
                    }
                    assertThat(rows(data.iterator(split)))
                            .as("%s %s", order, split)
                            .isEqualTo(expected);
                }
            }
        }
        assertThat(Arrays.stream(StreamDataSets.splitAssignment(n, 0.15, 0.25, SplitOrder.SHUFFLED, 7))
                        .filter(s -> s == DataSplit.TEST)
                        .count())
                .isEqualTo(Math.round(n * 0.25));
        assertThat(StreamDataSets.splitAssignment(n, 0.15, 0.25, SplitOrder.SHUFFLED, 8))
                .isNotEqualTo(StreamDataSets.splitAssignment(n, 0.15, 0.25, SplitOrder.SHUFFLED, 7));
        assertThatThrownBy(() -> StreamDataSets.splitAssignment(n, 0.6, 0.5, SplitOrder.SHUFFLED, 7))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("validation rate 0.6");
    }

    private static List<Integer> rows(DataSetIterator iterator) {
        List<Integer> rows = new ArrayList<>();
        while (iterator.hasNext()) {
            DataSet batch = iterator.next();
            for (float value : batch.getFeatures().dup().data().asFloat()) {
                rows.add((int) value);
            }
        }
        return rows;
    }
}
