package io.kafkaml.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.EpochMetrics;
import io.kafkaml.registry.TrainingResult;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code kafkaml results chart}'s PNG (XChart): its size, and that the curves are drawn in their colours. */
class ChartsTest {

    @TempDir
    Path dir;

    private static TrainingResult result() {
        return TrainingResult.of("5", "hcopd", DeploymentStatus.FINISHED, null);
    }

    /** Pixels of {@code image} of exactly {@code rgb}, in its upper half ({@code upper}) or lower half. */
    private static int pixels(BufferedImage image, int rgb, boolean upper) {
        int count = 0;
        int half = image.getHeight() / 2;
        for (int y = upper ? 0 : half; y < (upper ? half : image.getHeight()); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                if ((image.getRGB(x, y) & 0xffffff) == rgb) {
                    count++;
                }
            }
        }
        return count;
    }

    @Test
    void drawsTheLossAndTheValidationMetricsEachInItsColour() throws Exception {
        List<EpochMetrics> epochs = new ArrayList<>();
        for (int e = 1; e <= 20; e++) {
            epochs.add(new EpochMetrics(
                    e,
                    1.0 / e,
                    Map.of("loss", 1.2 / e, "accuracy", 0.5 + e / 50.0, "f1", e == 7 ? Double.NaN : 0.4 + e / 40.0),
                    10));
        }
        Path png = dir.resolve("curves.png");
        Charts.write(result(), epochs, png);

        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(image.getWidth()).isEqualTo(Charts.WIDTH);
        assertThat(image.getHeight()).isEqualTo(Charts.HEIGHT);
        // upper chart: training loss (colour 0) and validation loss (colour 1); lower: accuracy (2), f1 (3)
        assertThat(pixels(image, Charts.COLORS[0].getRGB() & 0xffffff, true)).isGreaterThan(200);
        assertThat(pixels(image, Charts.COLORS[1].getRGB() & 0xffffff, true)).isGreaterThan(200);
        assertThat(pixels(image, Charts.COLORS[2].getRGB() & 0xffffff, false)).isGreaterThan(200);
        assertThat(pixels(image, Charts.COLORS[3].getRGB() & 0xffffff, false)).isGreaterThan(200);
        assertThat(pixels(image, Charts.COLORS[2].getRGB() & 0xffffff, true)).isZero();
    }

    @Test
    void aResultWithoutAValidationSplitStillGetsItsLossCurve() throws Exception {
        Path png = dir.resolve("loss-only.png");
        Charts.write(
                result(), List.of(new EpochMetrics(1, 0.9, Map.of(), 5), new EpochMetrics(2, 0.5, Map.of(), 5)), png);
        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(pixels(image, Charts.COLORS[0].getRGB() & 0xffffff, true)).isGreaterThan(50);
    }

    @Test
    void aResultWithNoEpochsIsRefusedWithItsId() {
        assertThatThrownBy(() -> Charts.write(result(), List.of(), dir.resolve("none.png")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("5.hcopd");
    }
}
