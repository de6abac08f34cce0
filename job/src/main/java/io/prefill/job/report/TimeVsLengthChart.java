package io.prefill.job.report;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.Color;
import java.awt.geom.Ellipse2D;
import java.text.DecimalFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Scatter of pre-fill time against pre-filled tokens, one colour per backend (and mode). */
final class TimeVsLengthChart {
    static final int WIDTH = 1000;
    static final int HEIGHT = 620;
    private static final Color[] SERIES_COLORS = {
        new Color(0x0072B2), new Color(0xD55E00), new Color(0x009E73), new Color(0xCC79A7), new Color(0xE69F00),
        new Color(0x56B4E9)};
    /** Above this the axis reads in seconds: 8-digit millisecond tick labels are hard to read. */
    private static final double SECONDS_FROM_MS = 20_000;

    private TimeVsLengthChart() { }

    static JFreeChart create(List<TimingPoints.Point> points) {
        double maxMs = points.stream().mapToDouble(TimingPoints.Point::ms).max().orElse(0);
        boolean seconds = maxMs >= SECONDS_FROM_MS;
        Map<String, XYSeries> bySeries = new TreeMap<>();
        for (TimingPoints.Point p : points) {
            bySeries.computeIfAbsent(p.series(), s -> new XYSeries(s, false, true))
                    .add(p.tokens(), seconds ? p.ms() / 1000 : p.ms());
        }
        XYSeriesCollection data = new XYSeriesCollection();
        bySeries.values().forEach(data::addSeries);

        JFreeChart chart = ChartFactory.createScatterPlot("Pre-fill time vs prompt length",
                "pre-filled prompt tokens", seconds ? "pre-fill time (s)" : "pre-fill time (ms)", data,
                PlotOrientation.VERTICAL, true, false, false);
        ChartStyle.apply(chart, points.size() + " documents without error; one point per document, colour = "
                + "backend" + (bySeries.keySet().stream().anyMatch(s -> s.contains("/")) ? " / mode" : ""));
        XYPlot plot = chart.getXYPlot();
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(false, true);
        for (int i = 0; i < data.getSeriesCount(); i++) {
            Color c = SERIES_COLORS[i % SERIES_COLORS.length];
            renderer.setSeriesPaint(i, new Color(c.getRed(), c.getGreen(), c.getBlue(), 190));
            renderer.setSeriesShape(i, new Ellipse2D.Double(-4.5, -4.5, 9, 9));
        }
        plot.setRenderer(renderer);
        NumberAxis x = (NumberAxis) plot.getDomainAxis();
        x.setNumberFormatOverride(new DecimalFormat("#,##0"));
        x.setLowerBound(0);
        NumberAxis y = (NumberAxis) plot.getRangeAxis();
        y.setNumberFormatOverride(new DecimalFormat(seconds ? "#,##0.#" : "#,##0"));
        y.setLowerBound(0);
        if (points.isEmpty()) plot.setNoDataMessage("no document was pre-filled without error");
        return chart;
    }
}
