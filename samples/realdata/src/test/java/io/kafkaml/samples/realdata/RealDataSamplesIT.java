package io.kafkaml.samples.realdata;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The four real-data samples end to end with few epochs (and a part of NO3): streamed through the in-process
 * broker, trained by a deployment, served, the predictions read back and scored against the labels, and plain
 * DL4J from memory on the same split. Each model must be well above what the data allows without learning
 * (computed here from the data: the majority-class rate, the variance of the target), the served predictions must
 * score what the deployment's test evaluation scored, and plain DL4J on the same split, batches and epochs must
 * land close to the stream's result.
 */
@ExtendWith(EmbeddedKafkaExtension.class)
class RealDataSamplesIT {

    static RealDataSamples samples;

    @BeforeAll
    static void start(EmbeddedKafkaBroker kafka) {
        samples = new RealDataSamples(kafka.clientConfig(), Duration.ofMinutes(3));
    }

    @AfterAll
    static void stop() {
        if (samples != null) {
            samples.close();
        }
    }

    @Test
    void digitsImagesSentAsUint8TrainACnnFromTheStreamAndAreServed() {
        Table digits = Sample.DIGITS_CNN.load(RealData.defaultDirectory(), 0);
        assertThat(digits.rows()).isEqualTo(1797);
        assertClassifier(run(Sample.DIGITS_CNN, digits, 4), majorityRate(digits));
    }

    @Test
    void digitsAsEightStepsOfEightFeaturesTrainAnLstmFromTheStreamAndAreServed() {
        Table digits = Sample.DIGITS_LSTM.load(RealData.defaultDirectory(), 0);
        assertClassifier(run(Sample.DIGITS_LSTM, digits, 4), majorityRate(digits));
    }

    @Test
    void breastCancerTrainsAOneSigmoidBinaryClassifierAndIsServedWithClasses() {
        Table cancer = Sample.BREAST_CANCER.load(RealData.defaultDirectory(), 0);
        assertThat(cancer.rows()).isEqualTo(569);
        assertClassifier(run(Sample.BREAST_CANCER, cancer, 10), majorityRate(cancer));
    }

    @Test
    void no3RegressionTrainsFromTheStreamAndIsServed() {
        Table no3 = Sample.NO3.load(RealData.defaultDirectory(), 8000);
        Report report = run(Sample.NO3, no3, 3);
        assertComplete(report);
        double variance = variance(no3.labels()); // the mse of predicting the mean
        assertThat(report.stream().get("mse"))
                .as("stream mse vs the target's variance %.4f", variance)
                .isLessThan(0.8 * variance);
        assertThat(report.served().get("mse"))
                .as("served mse = the deployment's test mse")
                .isCloseTo(
                        report.stream().get("mse"),
                        within(0.01 * report.stream().get("mse")));
        assertThat(report.memory().get("mse"))
                .as("plain DL4J, same split and batches")
                .isCloseTo(
                        report.stream().get("mse"),
                        within(0.05 * report.stream().get("mse")));
    }

    /**
     * The NO3 continuous-learning sample ({@link No3Incremental}) on 6,000 rows: three parts through an online sink with
     * pauses, one window each, versions promoted as the hold-out MSE improves, and an inference deployment following
     * the promoted version that answers every held-out input sent throughout, switching versions forward only.
     */
    @Test
    void no3StreamedInThreePartsTrainsIncrementallyAndTheFollowingDeploymentSwitchesVersionsWhileServing(
            EmbeddedKafkaBroker kafka) throws Exception {
        Table no3 = Sample.NO3.load(RealData.defaultDirectory(), 6000);
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        No3Incremental.Outcome outcome = No3Incremental.run(
                kafka.clientConfig(),
                no3,
                new No3Incremental.Settings(2, Duration.ofMillis(300), 300, Duration.ofMinutes(2)),
                new PrintStream(printed, true, StandardCharsets.UTF_8));
        String text = printed.toString(StandardCharsets.UTF_8);
        System.out.print(text);
        assertThat(outcome.status()).as(text).isEqualTo(DeploymentStatus.FINISHED);
        int part = (6000 - 600) / No3Incremental.PARTS;
        assertThat(outcome.windows())
                .extracting(io.kafkaml.registry.EpochMetrics::records)
                .containsExactly((long) part, (long) part, (long) part);
        assertThat(outcome.versions()).as(text).hasSizeGreaterThanOrEqualTo(2);
        for (int i = 1; i < outcome.versions().size(); i++) {
            assertThat(outcome.versions().get(i).metrics().get("val_mse"))
                    .isLessThan(outcome.versions().get(i - 1).metrics().get("val_mse"));
        }
        assertThat(outcome.served().keySet())
                .as("versions that served predictions")
                .hasSizeGreaterThanOrEqualTo(2)
                .contains(outcome.versions().get(outcome.versions().size() - 1).version());
        assertThat(outcome.inputs()).isPositive();
        assertThat(outcome.answered())
                .as("every held-out input sent was answered")
                .isEqualTo(outcome.inputs());
        assertThat(outcome.wentBack()).isZero();
        double variance = variance(no3.labels());
        No3Incremental.Served last = outcome.served()
                .get(outcome.versions().get(outcome.versions().size() - 1).version());
        assertThat(last.mse())
                .as("the last version's served mse vs the variance %.4f", variance)
                .isLessThan(variance);
        assertThat(text).contains("part 3:").contains("served predictions");
    }

    static Report run(Sample sample, Table table, int epochs) {
        Report report = samples.run(sample, table, epochs);
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        report.print(new PrintStream(printed, true, StandardCharsets.UTF_8));
        System.out.print(printed.toString(StandardCharsets.UTF_8));
        assertThat(printed.toString(StandardCharsets.UTF_8))
                .contains(sample.id())
                .contains("from the stream")
                .contains("plain DL4J from memory");
        return report;
    }

    static void assertComplete(Report report) {
        assertThat(report.status())
                .as("deployment %s: %s", report.deploymentId(), report.error())
                .isEqualTo(DeploymentStatus.FINISHED);
        assertThat(report.testRows()).isEqualTo(Math.round(report.rows() * RealDataSamples.TEST_RATE));
        assertThat(report.predictions()).as("predictions read back").isEqualTo(report.testRows());
        assertThat(report.servedAgrees())
                .as("served metrics %s vs the deployment's %s", report.served(), report.stream())
                .isTrue();
    }

    /** Well above the majority class: at least half way from its rate to a perfect score. */
    static void assertClassifier(Report report, double majority) {
        assertComplete(report);
        double bar = majority + (1 - majority) / 2;
        double accuracy = report.stream().get("accuracy");
        assertThat(accuracy)
                .as("stream test accuracy vs the majority-class rate %.3f", majority)
                .isGreaterThan(bar);
        // The served model is the trained one and its inputs are the test split: the same score, up to one
        // prediction that float rounding in another batch size may tip.
        assertThat(report.served().get("accuracy"))
                .as("served accuracy = the deployment's test accuracy")
                .isCloseTo(accuracy, within(1.5 / report.testRows()));
        assertThat(report.memory().get("accuracy"))
                .as("plain DL4J, same split and batches")
                .isCloseTo(accuracy, within(0.05));
    }

    static double majorityRate(Table table) {
        int[] counts = new int[table.classes()];
        for (float label : table.labels()) {
            counts[(int) label]++;
        }
        return (double) java.util.Arrays.stream(counts).max().orElseThrow() / table.rows();
    }

    static double variance(float[] values) {
        double mean = 0;
        for (float value : values) {
            mean += value;
        }
        mean /= values.length;
        double sum = 0;
        for (float value : values) {
            sum += (value - mean) * (value - mean);
        }
        return sum / values.length;
    }
}
