package io.prefill.job.report;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.StandardXYBarPainter;
import org.jfree.chart.renderer.xy.XYBarRenderer;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYIntervalSeries;
import org.jfree.data.xy.XYIntervalSeriesCollection;

import java.awt.BasicStroke;
import java.awt.Color;
import java.text.DecimalFormat;

/** Histogram of attention density per document, in percent of dense causal attention. */
final class DensityHistogramChart {
    static final int WIDTH = 1000;
    static final int HEIGHT = 560;

    private DensityHistogramChart() { }

    static JFreeChart create(DensityHistogram h) {
        XYIntervalSeries bins = new XYIntervalSeries("documents");
        double w = h.binWidth() * 100;
        for (int i = 0; i < h.counts().length; i++) {
            double from = h.lo() * 100 + i * w;
            bins.add(from + w / 2, from, from + w, h.counts()[i], h.counts()[i], h.counts()[i]);
        }
        XYIntervalSeriesCollection data = new XYIntervalSeriesCollection();
        data.addSeries(bins);

        JFreeChart chart = ChartFactory.createXYBarChart("Attention density per document",
                "attention density (% of dense causal attention computed)", false, "documents", data,
                PlotOrientation.VERTICAL, false, false, false);
        ChartStyle.apply(chart, h.documents() + " documents without error, " + h.counts().length
                + " equal bins between the lowest and highest density");
        XYPlot plot = chart.getXYPlot();
        XYBarRenderer bars = (XYBarRenderer) plot.getRenderer();
        bars.setBarPainter(new StandardXYBarPainter());
        bars.setShadowVisible(false);
        bars.setDrawBarOutline(true);
        bars.setSeriesPaint(0, new Color(0x0072B2));
        bars.setSeriesOutlinePaint(0, Color.WHITE);
        NumberAxis y = (NumberAxis) plot.getRangeAxis();
        y.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        NumberAxis x = (NumberAxis) plot.getDomainAxis();
        x.setNumberFormatOverride(new DecimalFormat("0.##'%'"));
        if (!Double.isNaN(h.median())) {
            ValueMarker median = new ValueMarker(h.median() * 100, new Color(0xD55E00), new BasicStroke(2f,
                    BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[]{6f, 4f}, 0f));
            median.setLabel(String.format("median %.2f%%", h.median() * 100));
            median.setLabelBackgroundColor(new Color(255, 255, 255, 220));
            median.setLabelFont(ChartStyle.TICK_LABEL);
            median.setLabelPaint(new Color(0xD55E00));
            median.setLabelAnchor(RectangleAnchor.TOP_RIGHT);
            median.setLabelTextAnchor(TextAnchor.TOP_LEFT);
            plot.addDomainMarker(median);
        }
        if (h.documents() == 0) plot.setNoDataMessage("no document was pre-filled without error");
        return chart;
    }
}
