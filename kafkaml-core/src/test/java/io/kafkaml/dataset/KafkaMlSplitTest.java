package io.kafkaml.dataset;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Kafka-ML's split sizes and order. The expected numbers are computed here from Kafka-ML's own formula, in
 * {@code split_dataset}, ertis-research/kafka-ml {@code model_training/tensorflow/mainTraining.py} lines 227-264
 * (commit 5b4dc79):
 * <pre>
 * training_size = int((1-(data['validation_rate']+data['test_rate']))*(data['total_msg']))
 * validation_size = int(data['validation_rate'] * data['total_msg'])
 * test_size = int(data['test_rate'] * data['total_msg'])
 * train_dataset = kafka_dataset.take(training_size)
 * test_dataset = kafka_dataset.skip(training_size)
 * if validation_size > 0 and test_size > 0:
 *     validation_dataset = test_dataset.skip(test_size); test_dataset = test_dataset.take(test_size)
 * elif validation_size > 0: validation_dataset = test_dataset (the whole rest)
 * elif test_size > 0: test_dataset = test_dataset (the whole rest)
 * </pre>
 */
class KafkaMlSplitTest {

    private static int[] counts(byte[] splits) {
        int[] counts = new int[DataSplit.values().length + 1];
        for (byte s : splits) {
            counts[s]++;
        }
        return counts;
    }

    /** The first index of each run of equal values, to check that splits are contiguous in stream order. */
    private static String runs(byte[] splits) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < splits.length; i++) {
            if (i == 0 || splits[i] != splits[i - 1]) {
                out.append(out.length() == 0 ? "" : " ")
                        .append(i)
                        .append(':')
                        .append(splits[i] == KafkaMlSplit.UNUSED ? "UNUSED" : DataSplit.values()[splits[i]].name());
            }
        }
        return out.toString();
    }

    @Test
    void kafkaMlsHcopdExampleSplitsAs191Train23Test25Validation() {
        // examples/HCOPD_Avro_format/HCOPD_data_stream_producer.py: 239 rows, validation_rate=0.1, test_rate=0.1
        int total = 239;
        double v = 0.1;
        double t = 0.1;
        int training = (int) ((1 - (v + t)) * total);
        int testSize = (int) (t * total);
        assertThat(new int[] {training, testSize, (int) (v * total)}).containsExactly(191, 23, 23);
        byte[] splits = KafkaMlSplit.assign(total, total, v, t);
        assertThat(counts(splits)).containsExactly(training, total - training - testSize, testSize, 0);
        assertThat(runs(splits)).isEqualTo("0:TRAIN 191:TEST 214:VALIDATION");
    }

    @ParameterizedTest(name = "{0} records, v={1}, t={2}")
    @CsvSource({
        "350, 0.1, 0.2", // (1 - 0.30000000000000004) * 350 = 244.99999999999997: 244 train, where round() gives 245
        "300, 0.1, 0.2",
        "239, 0.1, 0.1",
        "1000, 0.15, 0.15",
        "70000, 0.1, 0.1", // MNIST as Kafka-ML's example sends it
        "10, 0.25, 0.25",
    })
    void bothRatesFollowThePythonFormulaBitForBit(int total, double v, double t) {
        int training = (int) ((1 - (v + t)) * total);
        int testSize = (int) (t * total);
        byte[] splits = KafkaMlSplit.assign(total, total, v, t);
        assertThat(runs(splits)).isEqualTo("0:TRAIN " + training + ":TEST " + (training + testSize) + ":VALIDATION");
    }

    @Test
    void doubleArithmeticIsPythonsNotRounded() {
        assertThat((int) ((1 - (0.1 + 0.2)) * 350)).isEqualTo(244);
        assertThat(counts(KafkaMlSplit.assign(350, 350, 0.1, 0.2))).containsExactly(244, 36, 70, 0);
    }

    @Test
    void oneRateGivesTheWholeRestToThatSplitAndNoRatesMayLeaveRecordsUnused() {
        // only validation: int((1 - 0.3) * 239) = 167 train, the remaining 72 validate (validation_size would be 71)
        assertThat(runs(KafkaMlSplit.assign(239, 239, 0.3, 0))).isEqualTo("0:TRAIN 167:VALIDATION");
        assertThat((int) ((1 - (0.3 + 0)) * 239)).isEqualTo(167);
        assertThat(runs(KafkaMlSplit.assign(239, 239, 0, 0.3))).isEqualTo("0:TRAIN 167:TEST");
        assertThat(runs(KafkaMlSplit.assign(239, 239, 0, 0))).isEqualTo("0:TRAIN");
        // a rate too small for one record: validation_size = int(0.001 * 239) = 0, training_size = 238, and the
        // last record belongs to no split in Kafka-ML
        assertThat(runs(KafkaMlSplit.assign(239, 239, 0.001, 0))).isEqualTo("0:TRAIN 238:UNUSED");
    }

    @Test
    void sizesComeFromTotalMsgAndAShortStreamShortensTheLastSplits() {
        // total_msg says 239 but only 200 records are there: take/skip on a shorter dataset
        assertThat(runs(KafkaMlSplit.assign(200, 239, 0.1, 0.1))).isEqualTo("0:TRAIN 191:TEST");
        assertThat(counts(KafkaMlSplit.assign(200, 239, 0.1, 0.1))).containsExactly(191, 0, 9, 0);
        assertThat(runs(KafkaMlSplit.assign(150, 239, 0.1, 0.1))).isEqualTo("0:TRAIN");
    }
}
