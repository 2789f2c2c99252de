package io.kafkaml.cli;

import io.kafkaml.registry.EpochMetrics;
import io.kafkaml.registry.TrainingResult;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import javax.imageio.ImageIO;

/** Draws a result's per-epoch curves as a PNG with Java2D (headless; no charting library). */
final class Charts {

    private static final Color[] COLORS = {
        new Color(0x1f77b4),
        new Color(0xd62728),
        new Color(0x2ca02c),
        new Color(0xff7f0e),
        new Color(0x9467bd),
        new Color(0x8c564b),
        new Color(0xe377c2)
    };

    private Charts() {}

    /** Two panels: the training and validation loss, and the other validation metrics, of {@code epochs}. */
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
        int width = 1000;
        int height = 640;
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
        g.drawString(result.id() + " — " + result.status() + ", " + epochs.size() + " epochs", 20, 26);
        panel(g, "loss", losses, 60, 50, width - 80, 240);
        panel(g, "validation metrics", metrics, 60, 350, width - 80, 240);
        g.dispose();
        ImageIO.write(image, "png", png.toFile());
    }

    private static void panel(Graphics2D g, String title, Map<String, double[]> series, int x, int y, int w, int h) {
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.setStroke(new BasicStroke(1f));
        g.setColor(Color.DARK_GRAY);
        g.drawRect(x, y, w, h);
        g.drawString(title, x, y - 6);
        if (series.isEmpty()) {
            g.drawString("(none: the stream had no validation split)", x + 10, y + h / 2);
            return;
        }
        double min = Double.MAX_VALUE;
        double max = -Double.MAX_VALUE;
        int length = 0;
        for (double[] values : series.values()) {
            for (double v : values) {
                if (!Double.isNaN(v) && !Double.isInfinite(v)) {
                    min = Math.min(min, v);
                    max = Math.max(max, v);
                }
            }
            length = Math.max(length, values.length);
        }
        if (min == Double.MAX_VALUE) {
            return;
        }
        if (max - min < 1e-9) {
            max = min + 1;
        }
        g.drawString(String.format("%.4g", max), x - 55, y + 10);
        g.drawString(String.format("%.4g", min), x - 55, y + h);
        g.drawString("1", x, y + h + 14);
        g.drawString(String.valueOf(length), x + w - 20, y + h + 14);
        int index = 0;
        List<String> legend = new ArrayList<>(series.keySet());
        // the legend goes below the panel, so that it never hides a curve
        int legendY = y + h + 18;
        for (Map.Entry<String, double[]> entry : series.entrySet()) {
            Color color = COLORS[index % COLORS.length];
            g.setColor(color);
            g.setStroke(new BasicStroke(2f));
            Path2D line = new Path2D.Double();
            double[] values = entry.getValue();
            boolean started = false;
            for (int i = 0; i < values.length; i++) {
                if (Double.isNaN(values[i]) || Double.isInfinite(values[i])) {
                    continue;
                }
                double px = x + (length == 1 ? 0 : (double) i / (length - 1) * w);
                double py = y + h - (values[i] - min) / (max - min) * h;
                if (started) {
                    line.lineTo(px, py);
                } else {
                    line.moveTo(px, py);
                    started = true;
                }
            }
            g.draw(line);
            int legendX = x + 60 + index * 170;
            g.fillRect(legendX, legendY - 9, 10, 10);
            g.setColor(Color.BLACK);
            g.drawString(legend.get(index), legendX + 14, legendY);
            index++;
        }
    }
}
