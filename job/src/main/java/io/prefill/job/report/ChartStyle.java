package io.prefill.job.report;

import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.title.TextTitle;

import java.awt.AWTError;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.nio.file.Path;

/** What every report chart shares: a white, lightly gridded look, a subtitle, and PNG output. */
final class ChartStyle {
    static final Font TITLE = new Font(Font.SANS_SERIF, Font.BOLD, 18);
    static final Font SUBTITLE = new Font(Font.SANS_SERIF, Font.PLAIN, 13);
    static final Font AXIS_LABEL = new Font(Font.SANS_SERIF, Font.PLAIN, 14);
    static final Font TICK_LABEL = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
    static final Color GRID = new Color(0xDDDDDD);

    private ChartStyle() { }

    static void apply(JFreeChart chart, String subtitle) {
        chart.setBackgroundPaint(Color.WHITE);
        chart.getTitle().setFont(TITLE);
        if (subtitle != null) chart.addSubtitle(new TextTitle(subtitle, SUBTITLE));
        if (chart.getPlot() instanceof XYPlot plot) {
            plot.setBackgroundPaint(Color.WHITE);
            plot.setDomainGridlinePaint(GRID);
            plot.setRangeGridlinePaint(GRID);
            plot.setDomainGridlineStroke(new BasicStroke(1f));
            plot.setRangeGridlineStroke(new BasicStroke(1f));
            plot.setOutlinePaint(Color.GRAY);
            for (var axis : new ValueAxis[]{plot.getDomainAxis(), plot.getRangeAxis()}) {
                axis.setLabelFont(AXIS_LABEL);
                axis.setTickLabelFont(TICK_LABEL);
            }
        } else if (chart.getPlot() instanceof CategoryPlot plot) {  // bars: categories named in axis-label size
            plot.setBackgroundPaint(Color.WHITE);
            plot.setRangeGridlinePaint(GRID);
            plot.setRangeGridlineStroke(new BasicStroke(1f));
            plot.setOutlinePaint(Color.GRAY);
            plot.getDomainAxis().setTickLabelFont(AXIS_LABEL);
            plot.getRangeAxis().setLabelFont(AXIS_LABEL);
            plot.getRangeAxis().setTickLabelFont(TICK_LABEL);
        }
        if (chart.getLegend() != null) chart.getLegend().setItemFont(TICK_LABEL);
    }

    static void writePng(JFreeChart chart, Path file, int width, int height) throws IOException {
        ChartUtils.saveChartAsPNG(file.toFile(), chart, width, height);
    }

    /**
     * Writes the chart and returns null, or returns why this JVM cannot draw it: a runtime without
     * the system's native font libraries (a trimmed JRE on a GPU node lacking libharfbuzz, say)
     * fails on the first text it measures. The report then goes on without its charts.
     */
    static String writePngOrWhyNot(JFreeChart chart, Path file, int width, int height) throws IOException {
        try {
            writePng(chart, file, width, height);
            return null;
        } catch (LinkageError | AWTError e) {
            return "this JVM cannot draw text (" + e.getClass().getSimpleName() + ": " + e.getMessage()
                    + "); install the system's font libraries (fontconfig, freetype, harfbuzz) to get the charts";
        }
    }
}
