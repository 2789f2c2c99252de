package io.kafkaml.cli;

import io.kafkaml.registry.EpochMetrics;
import io.kafkaml.registry.TrainingResult;
import java.awt.Color;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.IntStream;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Draws a result's per-epoch curves as a PNG with XChart (headless): two charts one above the other, 1000 × 640
 * pixels in all.
 */
final class Charts {

    static final int WIDTH = 1000;
    static final int HEIGHT = 640;

    /** The series colours, in order (the first is the training loss). */
    static final Color[] COLORS = {
        new Color(0x1f77b4),
        new Color(0xd62728),
        new Color(0x2ca02c),
        new Color(0xff7f0e),
        new Color(0x9467bd),
        new Color(0x8c564b),
        new Color(0xe377c2)
    };

    private Charts() {}

    /**
     * Two charts: the training and validation loss, and the other validation metrics, of {@code epochs} (x: the
     * epoch, from 1). A value that is not finite is left out of its curve.
     *
     * @throws IllegalArgumentException if {@code epochs} is empty
     * @throws IOException if the file cannot be written
     */
    static void write(TrainingResult result, List<EpochMetrics> epochs, Path png) throws IOException {
        System.setProperty("java.awt.headless", "true");
        if (epochs.isEmpty()) {
            throw new IllegalArgumentException("Result '" + result.id() + "' has no epochs to chart yet");
        }
        Map<String, double[]> losses = new LinkedHashMap<>();
        losses.put(
                "training loss", epochs.stream().mapToDouble(EpochMetrics::loss).toArray());
        TreeSet<String> names = new TreeSet<>();
        epochs.forEach(e -> names.addAll(e.validation().keySet()));
        Map<String, double[]> metrics = new LinkedHashMap<>();
        for (String name : names) {
            double[] values = epochs.stream()
                    .mapToDouble(e -> e.validation().getOrDefault(name, Double.NaN))
                    .toArray();
            (name.equals("loss") ? losses : metrics).put("validation " + name, values);
        }
        XYChart loss = chart(
                result.id() + " — " + result.status() + ", " + epochs.size() + " epochs: loss", "loss", losses, 0);
        XYChart other = chart(
                metrics.isEmpty()
                        ? "validation metrics (none: the stream had no validation split)"
                        : "validation metrics",
                "value",
                metrics,
                losses.size());
        try (OutputStream out = Files.newOutputStream(png)) {
            BitmapEncoder.saveBitmap(List.of(loss, other), 2, 1, out, BitmapEncoder.BitmapFormat.PNG);
        }
    }

    private static XYChart chart(String title, String yTitle, Map<String, double[]> series, int firstColor) {
        XYChart chart = new XYChartBuilder()
                .width(WIDTH)
                .height(HEIGHT / 2)
                .title(title)
                .xAxisTitle("epoch")
                .yAxisTitle(yTitle)
                .build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setPlotBackgroundColor(Color.WHITE);
        int index = firstColor;
        for (Map.Entry<String, double[]> entry : series.entrySet()) {
            double[] values = entry.getValue();
            int[] finite = IntStream.range(0, values.length)
                    .filter(i -> Double.isFinite(values[i]))
                    .toArray();
            if (finite.length == 0) {
                continue;
            }
            XYSeries line = chart.addSeries(
                    entry.getKey(),
                    IntStream.of(finite).mapToDouble(i -> i + 1).toArray(),
                    IntStream.of(finite).mapToDouble(i -> values[i]).toArray());
            line.setLineColor(COLORS[index % COLORS.length]);
            line.setMarkerColor(COLORS[index % COLORS.length]);
            line.setMarker(finite.length > 50 ? SeriesMarkers.NONE : SeriesMarkers.CIRCLE);
            index++;
        }
        return chart;
    }
}
