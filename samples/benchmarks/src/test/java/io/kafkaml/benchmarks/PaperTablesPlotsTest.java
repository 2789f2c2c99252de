package io.kafkaml.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code paper-tables}' plots (XChart): each is a PNG with both series' bars drawn in their colours. */
class PaperTablesPlotsTest {

    @TempDir
    Path dir;

    private static int pixels(BufferedImage image, int rgb) {
        int count = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                if ((image.getRGB(x, y) & 0xffffff) == rgb) {
                    count++;
                }
            }
        }
        return count;
    }

    @Test
    void tableOneDrawsOursBesideThePapersBars() throws Exception {
        Path png = dir.resolve("table1.png");
        PaperTablesBenchmark.plotTableOne(png, new double[] {20.0, 21.0, 23.0}, 1000);
        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(image.getWidth()).isEqualTo(900);
        assertThat(image.getHeight()).isEqualTo(500);
        assertThat(pixels(image, 0x1f77b4)).as("kafkaml's bars").isGreaterThan(5_000);
        assertThat(pixels(image, 0xff7f0e)).as("the paper's bars").isGreaterThan(5_000);
    }

    @Test
    void tableTwoDrawsMillisecondsOnALogScaleEvenBelowAMicrosecond() throws Exception {
        Path png = dir.resolve("table2.png");
        PaperTablesBenchmark.plotTableTwo(png, new double[][] {{0.0, 0.2}, {2.5, 9.0}, {3.1, 40.0}});
        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(pixels(image, 0x1f77b4)).as("p50 bars").isGreaterThan(2_000);
        assertThat(pixels(image, 0xff7f0e)).as("p99 bars").isGreaterThan(2_000);
    }
}
