package io.kafkaml.samples.realdata;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.kafkaml.testkit.EmbeddedKafkaBroker;
import io.kafkaml.testkit.EmbeddedKafkaExtension;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The table samples (breast cancer, a part of NO3) end to end, judged as {@link RealDataSamplesIT} judges. */
@ExtendWith(EmbeddedKafkaExtension.class)
class RealDataTablesIT {

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
    void breastCancerTrainsAOneSigmoidBinaryClassifierAndIsServedWithClasses() {
        Table cancer = Sample.BREAST_CANCER.load(RealData.defaultDirectory(), 0);
        assertThat(cancer.rows()).isEqualTo(569);
        RealDataSamplesIT.assertClassifier(
                RealDataSamplesIT.run(samples, Sample.BREAST_CANCER, cancer, 10),
                RealDataSamplesIT.majorityRate(cancer));
    }

    @Test
    void no3RegressionTrainsFromTheStreamAndIsServed() {
        Table no3 = Sample.NO3.load(RealData.defaultDirectory(), 8000);
        Report report = RealDataSamplesIT.run(samples, Sample.NO3, no3, 3);
        RealDataSamplesIT.assertComplete(report);
        double variance = RealDataSamplesIT.variance(no3.labels()); // the mse of predicting the mean
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
}
