package io.kafkaml.samples.realdata;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.zip.GZIPInputStream;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;

/**
 * Readers of the reference data sets in {@code shared/data} (see its README): the digits images, the NO3 soft
 * sensor table and the Wisconsin breast-cancer table. CSV is parsed with Apache Commons CSV; {@code .gz} files are
 * read through {@link GZIPInputStream}. Every reader checks the layout it expects and fails with an
 * {@link IllegalArgumentException} naming the file and line that do not fit it.
 */
public final class RealData {

    /** Alkalinity above this (mg/L) is a logging error, not a water sample: natural waters hold 0 to a few hundred. */
    public static final double MAX_ALKALINITY_MGL = 10_000;

    private RealData() {}

    /**
     * The data directory: the system property {@code kafkaml.shared.data} (set by the build for the tests), else
     * {@code ../shared/data} (beside the checkout).
     */
    public static Path defaultDirectory() {
        return Path.of(System.getProperty("kafkaml.shared.data", "../shared/data"));
    }

    /**
     * {@code digits/digits.csv.gz}: 1,797 handwritten digits, each 64 grey levels 0–16 of an 8×8 image in row-major
     * order, then the digit. No header.
     *
     * @return 64 columns {@code p0 .. p63} (pixel {@code 8 × row + column}), labels 0–9
     */
    public static Table digits(Path dataDirectory) {
        Path file = dataDirectory.resolve("digits").resolve("digits.csv.gz");
        List<float[]> rows = new ArrayList<>();
        List<Float> labels = new ArrayList<>();
        try (InputStream in = new GZIPInputStream(Files.newInputStream(file));
                CSVParser parser =
                        CSVParser.parse(new InputStreamReader(in, StandardCharsets.UTF_8), CSVFormat.DEFAULT)) {
            for (CSVRecord record : parser) {
                float[] values = numbers(file, record, 0, 65);
                float[] pixels = new float[64];
                System.arraycopy(values, 0, pixels, 0, 64);
                for (float pixel : pixels) {
                    if (pixel < 0 || pixel > 16 || pixel != Math.rint(pixel)) {
                        throw bad(file, record, 0, "a pixel is " + pixel + ", not a grey level 0-16");
                    }
                }
                rows.add(pixels);
                labels.add(values[64]);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read the digits " + file, e);
        }
        List<String> columns = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            columns.add("p" + i);
        }
        return table("digits", columns, rows, labels, 10, file);
    }

    /**
     * {@code breast-cancer/breast_cancer.csv} in scikit-learn's layout: a first line {@code 569,30,malignant,benign}
     * (rows, features, class names), then 30 values and the class index per line (0 malignant, 1 benign).
     */
    public static Table breastCancer(Path dataDirectory) {
        return scikitLearn(
                "breast-cancer", dataDirectory.resolve("breast-cancer").resolve("breast_cancer.csv"));
    }

    /** A table in scikit-learn's layout: a first line {@code rows,features,class names...}, then the rows. */
    static Table scikitLearn(String name, Path file) {
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8);
                CSVParser parser = CSVParser.parse(reader, CSVFormat.DEFAULT)) {
            List<CSVRecord> records = parser.getRecords();
            if (records.isEmpty() || records.get(0).size() < 3) {
                throw new IllegalArgumentException(file + " line 1 is not 'rows,features,class names...'");
            }
            CSVRecord first = records.get(0);
            int count;
            int width;
            try {
                count = Integer.parseInt(first.get(0).strip());
                width = Integer.parseInt(first.get(1).strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(file + " line 1 is not 'rows,features,class names...': " + first, e);
            }
            int classes = first.size() - 2;
            List<float[]> rows = new ArrayList<>();
            List<Float> labels = new ArrayList<>();
            for (CSVRecord record : records.subList(1, records.size())) {
                float[] values = numbers(file, record, 0, width + 1);
                float[] features = new float[width];
                System.arraycopy(values, 0, features, 0, width);
                rows.add(features);
                labels.add(values[width]);
            }
            if (rows.size() != count) {
                throw new IllegalArgumentException(file + " announces " + count + " rows but holds " + rows.size());
            }
            List<String> columns = new ArrayList<>();
            for (int i = 0; i < width; i++) {
                columns.add("x" + i);
            }
            return table(name, columns, rows, labels, classes, file);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + file, e);
        }
    }

    /**
     * {@code no3/NO3_Dataset.csv}: header {@code ALK_MGL,COND_USCM,PH,SS_MGL,NO3_N_MGL}; four features and the
     * nitrate target. Rows whose alkalinity is above {@link #MAX_ALKALINITY_MGL} are left out (the file holds one,
     * 171,798,692 mg/L, which would flatten the standardized alkalinity to a constant).
     *
     * @param maxRows the first this many rows only (after leaving out the bad ones), or 0 for all
     */
    public static Table no3(Path dataDirectory, int maxRows) {
        Path file = dataDirectory.resolve("no3").resolve("NO3_Dataset.csv");
        List<String> header = List.of("ALK_MGL", "COND_USCM", "PH", "SS_MGL", "NO3_N_MGL");
        List<float[]> rows = new ArrayList<>();
        List<Float> labels = new ArrayList<>();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8);
                CSVParser parser = CSVParser.parse(
                        reader,
                        CSVFormat.DEFAULT
                                .builder()
                                .setHeader()
                                .setSkipHeaderRecord(true)
                                .get())) {
            if (!parser.getHeaderNames().equals(header)) {
                throw new IllegalArgumentException(
                        file + " has header " + parser.getHeaderNames() + ", expected " + header);
            }
            for (CSVRecord record : parser) {
                float[] values = numbers(file, record, 1, 5);
                if (values[0] > MAX_ALKALINITY_MGL) {
                    continue;
                }
                rows.add(new float[] {values[0], values[1], values[2], values[3]});
                labels.add(values[4]);
                if (maxRows > 0 && rows.size() == maxRows) {
                    break;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read the NO3 table " + file, e);
        }
        return table("no3", header.subList(0, 4), rows, labels, 0, file);
    }

    /**
     * The rows of {@code table} in a seeded random order: the order a sample sends them in, so that a stream read
     * in order is already mixed and plain DL4J can take the same batches.
     */
    public static Table shuffled(Table table, long seed) {
        int[] order = new int[table.rows()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Random random = new Random(seed);
        for (int i = order.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int swap = order[i];
            order[i] = order[j];
            order[j] = swap;
        }
        return table.select(order);
    }

    private static float[] numbers(Path file, CSVRecord record, int headerLines, int expected) {
        if (record.size() != expected) {
            throw bad(file, record, headerLines, record.size() + " values, expected " + expected);
        }
        float[] values = new float[expected];
        for (int i = 0; i < expected; i++) {
            try {
                values[i] = Float.parseFloat(record.get(i).strip());
            } catch (NumberFormatException e) {
                throw bad(file, record, headerLines, "value " + (i + 1) + " '" + record.get(i) + "' is not a number");
            }
            if (!Float.isFinite(values[i])) {
                throw bad(file, record, headerLines, "value " + (i + 1) + " is " + values[i]);
            }
        }
        return values;
    }

    /**
     * An error naming the record's line: records are lines in these files (no quoted line breaks), after
     * {@code headerLines} lines that the parser skipped.
     */
    private static IllegalArgumentException bad(Path file, CSVRecord record, int headerLines, String what) {
        return new IllegalArgumentException(file + " line " + (record.getRecordNumber() + headerLines) + ": " + what);
    }

    private static Table table(
            String name, List<String> columns, List<float[]> rows, List<Float> labels, int classes, Path file) {
        float[] values = new float[labels.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = labels.get(i);
        }
        try {
            return new Table(name, columns, rows.toArray(float[][]::new), values, classes);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }
}
