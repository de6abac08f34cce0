package io.prefill.job.report;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.labels.StandardCategoryItemLabelGenerator;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.renderer.category.StackedBarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.category.DefaultCategoryDataset;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Where a whole-model pre-fill's time goes, one stacked bar per run: the GEMMs, the attention, the
 * estimate and plans, the accuracy certificate and the rest, in seconds, from the TSV files the cuda
 * backend's whole-model benchmark writes ({@code PrefillBenchmark --out}: a header row naming the
 * columns mode, n, seconds, gemm_ms, attention_ms, estimate_ms, other_ms and certificate_ms, then one
 * row per run).
 *
 * <pre>
 *   StageTimeChart OUT.png "TITLE" [target=SECONDS] LABEL=FILE:MODE:N [LABEL=FILE:MODE:N ...]
 * </pre>
 * Each bar is the row of FILE whose mode is MODE and whose n is N; its label gets the total in
 * seconds. target=SECONDS draws a dashed line at that time. Bars of very different totals (128K
 * against 1M tokens) read best on separate charts.
 */
public final class StageTimeChart {
    /** The stages in the order they stack, with the benchmark's column of each and its colour. */
    enum Stage {
        GEMM("GEMMs", "gemm_ms", new Color(0x0072B2)),
        ATTENTION("attention", "attention_ms", new Color(0xD55E00)),
        ESTIMATE("estimate + plans", "estimate_ms", new Color(0xE69F00)),
        CERTIFICATE("certificate", "certificate_ms", new Color(0xCC79A7)),
        OTHER("other (norms, RoPE, quantisation, ...)", "other_ms", new Color(0x999999));

        final String label, column;
        final Color color;

        Stage(String label, String column, Color color) {
            this.label = label;
            this.column = column;
            this.color = color;
        }
    }

    public static final int WIDTH = 1000, HEIGHT = 420;

    private StageTimeChart() { }

    /** One run: its label, its total seconds as measured (host wall time) and its stages' seconds. */
    public record Bar(String label, double seconds, double[] stageSeconds) {
        public Bar {
            if (stageSeconds.length != Stage.values().length)
                throw new IllegalArgumentException(label + ": " + stageSeconds.length + " stage times for "
                        + Stage.values().length + " stages");
        }
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 3)
            throw new IllegalArgumentException("usage: StageTimeChart OUT.png TITLE [target=SECONDS] LABEL=FILE:MODE:N [...]");
        List<Bar> bars = new ArrayList<>();
        double target = Double.NaN;
        for (int i = 2; i < args.length; i++) {
            String[] parts = args[i].split("=", 2);
            if (parts[0].equals("target") && parts.length == 2) {
                target = seconds(parts[1], args[i]);
                continue;
            }
            String[] where = parts.length == 2 ? parts[1].split(":") : new String[0];
            if (parts[0].isEmpty() || where.length != 3)
                throw new IllegalArgumentException("expected LABEL=FILE:MODE:N, got " + args[i]);
            bars.add(read(parts[0], Path.of(where[0]), where[1], parseN(where[2], args[i])));
        }
        Path out = Path.of(args[0]);
        if (bars.isEmpty()) throw new IllegalArgumentException("no LABEL=FILE:MODE:N given");
        ChartStyle.writePng(create(args[1], bars, target), out, WIDTH, HEIGHT);
        System.out.println("[chart] " + out);
    }

    private static double seconds(String value, String arg) {
        try {
            double t = Double.parseDouble(value);
            if (t > 0 && Double.isFinite(t)) return t;
        } catch (NumberFormatException e) {
            // the message below
        }
        throw new IllegalArgumentException("target must be a positive number of seconds in " + arg);
    }

    private static int parseN(String n, String arg) {
        try {
            return Integer.parseInt(n);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("N must be a token count in " + arg, e);
        }
    }

    /** The run of `file` with this mode and n; fails naming the file and what is missing. */
    public static Bar read(String label, Path file, String mode, int n) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
        List<String> header = null;
        for (String line : lines) {
            if (line.isBlank() || line.startsWith("#")) continue;
            List<String> cells = Arrays.asList(line.split("\t", -1));
            if (cells.get(0).equals("mode")) {
                header = cells;
                continue;
            }
            if (header == null || !cells.get(0).equals(mode) || cells.size() < 2 || !cells.get(1).equals(Integer.toString(n)))
                continue;
            double seconds = number(file, header, cells, "seconds");
            double[] stages = new double[Stage.values().length];
            for (Stage s : Stage.values()) stages[s.ordinal()] = number(file, header, cells, s.column) / 1000;
            return new Bar(label, seconds, stages);
        }
        throw new IllegalArgumentException(file + ": no row with mode " + mode + " and n " + n
                + (header == null ? " (and no header row starting with \"mode\")" : ""));
    }

    private static double number(Path file, List<String> header, List<String> cells, String column) {
        int i = header.indexOf(column);
        if (i < 0) throw new IllegalArgumentException(file + ": no column " + column + " in the header " + header);
        if (i >= cells.size()) throw new IllegalArgumentException(file + ": the row " + cells + " has no " + column);
        try {
            return Double.parseDouble(cells.get(i));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(file + ": " + column + " of the row " + cells + " is not a number", e);
        }
    }

    /** The chart of the bars, with a dashed line at `target` seconds unless it is NaN. */
    static JFreeChart create(String title, List<Bar> bars, double target) {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        for (Bar b : bars) {
            String category = String.format(Locale.ROOT, "%s (%.2f s)", b.label(), b.seconds());
            for (Stage s : Stage.values()) data.addValue(b.stageSeconds()[s.ordinal()], s.label, category);
        }
        JFreeChart chart = ChartFactory.createStackedBarChart(title, null, "seconds", data, PlotOrientation.HORIZONTAL,
                true, false, false);
        ChartStyle.apply(chart, "stage times from CUDA events between the stages; the label's total is the host's wall time");
        CategoryPlot plot = chart.getCategoryPlot();
        StackedBarRenderer renderer = new StackedBarRenderer();
        renderer.setBarPainter(new StandardBarPainter());
        renderer.setShadowVisible(false);
        renderer.setMaximumBarWidth(0.18);
        // each segment of a tenth of its bar or more carries its seconds
        double[] totals = bars.stream().mapToDouble(b -> Arrays.stream(b.stageSeconds()).sum()).toArray();
        renderer.setDefaultItemLabelGenerator(new StandardCategoryItemLabelGenerator("{2}", new DecimalFormat("0.00")) {
            @Override
            public String generateLabel(org.jfree.data.category.CategoryDataset dataset, int row, int column) {
                Number v = dataset.getValue(row, column);
                return v != null && v.doubleValue() >= 0.1 * totals[column] ? super.generateLabel(dataset, row, column) : null;
            }
        });
        renderer.setDefaultItemLabelsVisible(true);
        renderer.setDefaultItemLabelFont(ChartStyle.TICK_LABEL);
        renderer.setDefaultItemLabelPaint(Color.WHITE);
        for (Stage s : Stage.values()) renderer.setSeriesPaint(s.ordinal(), s.color);
        plot.setRenderer(renderer);
        NumberAxis seconds = (NumberAxis) plot.getRangeAxis();
        if (!Double.isNaN(target)) {
            ValueMarker line = new ValueMarker(target, Color.BLACK, new BasicStroke(1.5f, BasicStroke.CAP_BUTT,
                    BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f));
            line.setLabel("target " + new DecimalFormat("0.##").format(target) + " s");
            line.setLabelFont(ChartStyle.TICK_LABEL);
            line.setLabelBackgroundColor(Color.WHITE);
            line.setLabelAnchor(RectangleAnchor.BOTTOM_LEFT);
            line.setLabelTextAnchor(TextAnchor.BOTTOM_RIGHT);
            plot.addRangeMarker(line);
            seconds.setUpperBound(Math.max(seconds.getUpperBound(), target * 1.05));
        }
        return chart;
    }
}
