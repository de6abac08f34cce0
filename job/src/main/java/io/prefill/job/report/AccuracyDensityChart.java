package io.prefill.job.report;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.labels.XYItemLabelGenerator;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Polygon;
import java.awt.Shape;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Rectangle2D;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Needle accuracy against attention density, one line per pattern config through its prompt lengths,
 * from the {@code checks.tsv} files the GPU bundle's {@code spark-job} step writes (the rows
 * "needle accuracy at length N" of one run each).
 *
 * <pre>
 *   AccuracyDensityChart OUT.png LABEL=CHECKS.tsv:RUN [LABEL=CHECKS.tsv:RUN ...]
 * </pre>
 * A label given several times adds the files' prompts together, length by length (two prompt sets).
 */
public final class AccuracyDensityChart {
    private static final Pattern ROW = Pattern.compile("^([^\t]+)\tneedle accuracy at length (\\d+)\t(\\d+)/(\\d+) = [0-9.]+ "
            + "\\(.*attention density ([0-9.]+|NaN)\\)\t");
    /** Okabe-Ito's colour-blind-safe colours and two more; with the shapes, ten configs stay apart. */
    private static final Color[] COLORS = {new Color(0x000000), new Color(0x0072B2), new Color(0x009E73),
        new Color(0xD55E00), new Color(0xCC79A7), new Color(0xE69F00), new Color(0x56B4E9), new Color(0x882255),
        new Color(0x999999), new Color(0x332288)};
    private static final Shape[] SHAPES = {new Ellipse2D.Double(-4.5, -4.5, 9, 9), new Rectangle2D.Double(-4, -4, 8, 8),
        new Polygon(new int[] {0, 5, -5}, new int[] {-5, 4, 4}, 3), new Polygon(new int[] {0, 5, 0, -5}, new int[] {-5, 0, 5, 0}, 4)};

    private AccuracyDensityChart() { }

    /** One prompt length of one config: correct of scored prompts, and their mean attention density. */
    public record Cell(int length, int correct, int scored, double density) {
        double accuracy() {
            return scored == 0 ? 0 : correct / (double) scored;
        }

        Cell plus(Cell o) {
            int n = scored + o.scored;
            return new Cell(length, correct + o.correct, n, (density * scored + o.density * o.scored) / n);
        }
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            throw new IllegalArgumentException("usage: AccuracyDensityChart OUT.png LABEL=CHECKS.tsv:RUN [...]");
        }
        Map<String, Map<Integer, Cell>> series = new LinkedHashMap<>();
        for (int i = 1; i < args.length; i++) {
            int eq = args[i].indexOf('='), colon = args[i].lastIndexOf(':');
            if (eq < 1 || colon < eq) throw new IllegalArgumentException("expected LABEL=CHECKS.tsv:RUN, got " + args[i]);
            List<Cell> cells = read(Path.of(args[i].substring(eq + 1, colon)), args[i].substring(colon + 1));
            Map<Integer, Cell> byLength = series.computeIfAbsent(args[i].substring(0, eq), k -> new TreeMap<>());
            cells.forEach(c -> byLength.merge(c.length(), c, Cell::plus));
        }
        Path out = Path.of(args[0]);
        ChartStyle.writePng(create(series), out, 1000, 620);
        System.out.println("[chart] " + out);
    }

    /** The cells of one run in a checks.tsv; fails naming the file when the run has none. */
    public static List<Cell> read(Path checks, String run) {
        List<String> lines;
        try {
            lines = Files.readAllLines(checks, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + checks + ": " + e.getMessage(), e);
        }
        List<Cell> cells = new ArrayList<>();
        for (String line : lines) {
            Matcher m = ROW.matcher(line);
            if (m.find() && m.group(1).equals(run)) {
                cells.add(new Cell(Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)), Integer.parseInt(m.group(4)),
                        Double.parseDouble(m.group(5))));
            }
        }
        if (cells.isEmpty()) throw new IllegalArgumentException(checks + ": no needle accuracy rows with a density for run " + run);
        return cells;
    }

    static JFreeChart create(Map<String, Map<Integer, Cell>> series) {
        XYSeriesCollection data = new XYSeriesCollection();
        List<List<Cell>> cells = new ArrayList<>();
        series.forEach((label, byLength) -> {
            XYSeries s = new XYSeries(label, false, true);
            byLength.values().forEach(c -> s.add(c.density(), c.accuracy()));
            data.addSeries(s);
            cells.add(new ArrayList<>(byLength.values()));
        });
        JFreeChart chart = ChartFactory.createXYLineChart("Needle accuracy against attention density",
                "attention density (share of the causal entries computed)", "first-token accuracy", data,
                PlotOrientation.VERTICAL, true, false, false);
        int prompts = series.values().stream().flatMap(m -> m.values().stream()).mapToInt(Cell::scored).max().orElse(0);
        ChartStyle.apply(chart, "one line per pattern config, one point per prompt length (labelled), up to "
                + prompts + " prompts a point");
        XYPlot plot = chart.getXYPlot();
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, true);
        XYItemLabelGenerator labels = (dataset, s, item) -> {
            int length = cells.get(s).get(item).length();
            return length % 1024 == 0 ? (length / 1024) + "K" : String.format(Locale.ROOT, "%,d", length);
        };
        for (int i = 0; i < data.getSeriesCount(); i++) {
            renderer.setSeriesPaint(i, COLORS[i % COLORS.length]);
            renderer.setSeriesShape(i, SHAPES[i % SHAPES.length]);
            renderer.setSeriesStroke(i, new BasicStroke(1.6f));
            renderer.setSeriesItemLabelGenerator(i, labels);
            renderer.setSeriesItemLabelsVisible(i, true);
            renderer.setSeriesItemLabelFont(i, ChartStyle.TICK_LABEL);
        }
        plot.setRenderer(renderer);
        NumberAxis x = (NumberAxis) plot.getDomainAxis();
        x.setRange(-0.03, 1.05);  // room for the labels of points near density 0
        x.setNumberFormatOverride(new DecimalFormat("0.0#"));
        NumberAxis y = (NumberAxis) plot.getRangeAxis();
        y.setRange(-0.02, 1.05);
        y.setNumberFormatOverride(new DecimalFormat("0.0#"));
        return chart;
    }
}
