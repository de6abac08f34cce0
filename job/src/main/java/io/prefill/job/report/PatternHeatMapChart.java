package io.prefill.job.report;

import io.prefill.sparse.PatternConfig;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.LegendItem;
import org.jfree.chart.LegendItemCollection;
import org.jfree.chart.annotations.XYTextAnnotation;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.LookupPaintScale;
import org.jfree.chart.renderer.xy.XYBlockRenderer;
import org.jfree.chart.title.LegendTitle;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.data.xy.DefaultXYZDataset;

import java.awt.Color;
import java.awt.Font;
import java.awt.geom.Rectangle2D;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/** Grid of layers (rows, layer 0 on top) by query heads (columns), each cell coloured by its pattern. */
final class PatternHeatMapChart {
    /** Budgets are written into the cells only while they are wide enough to hold "1000/6096". */
    private static final int MIN_CELL_FOR_TEXT = 64;

    private PatternHeatMapChart() { }

    /** Cell edge in pixels: large for small models, at least a few pixels for 80 layers x 64 heads. */
    static int cellSize(PatternConfig config) {
        return Math.max(8, Math.min(110, 960 / Math.max(config.numLayers(), config.numHeads())));
    }

    static int width(PatternConfig config) { return Math.max(760, 170 + config.numHeads() * cellSize(config)); }

    static int height(PatternConfig config) { return Math.max(420, 230 + config.numLayers() * cellSize(config)); }

    static JFreeChart create(PatternConfig config) {
        List<PatternCell> cells = PatternMap.cells(config);
        double[][] xyz = new double[3][cells.size()];
        Map<PatternKind, Integer> heads = new EnumMap<>(PatternKind.class);
        for (int i = 0; i < cells.size(); i++) {
            PatternCell c = cells.get(i);
            xyz[0][i] = c.head();
            xyz[1][i] = c.layer();
            xyz[2][i] = c.kind().ordinal();
            heads.merge(c.kind(), 1, Integer::sum);
        }
        DefaultXYZDataset data = new DefaultXYZDataset();
        data.addSeries("patterns", xyz);

        LookupPaintScale colours = new LookupPaintScale(0, PatternKind.values().length, Color.WHITE);
        for (PatternKind k : PatternKind.values()) colours.add(k.ordinal(), k.color());
        XYBlockRenderer renderer = new XYBlockRenderer();
        renderer.setPaintScale(colours);
        // A little less than a full cell leaves white lines between heads, so single cells can be counted.
        renderer.setBlockWidth(0.94);
        renderer.setBlockHeight(0.92);

        NumberAxis headAxis = integerAxis("query head", config.numHeads());
        NumberAxis layerAxis = integerAxis("layer", config.numLayers());
        layerAxis.setInverted(true);
        XYPlot plot = new XYPlot(data, headAxis, layerAxis, renderer);

        LegendItemCollection legend = new LegendItemCollection();
        for (Map.Entry<PatternKind, Integer> e : heads.entrySet()) {
            LegendItem item = new LegendItem(e.getKey().label() + " (" + e.getValue() + (e.getValue() == 1 ? " head)" : " heads)"), null, null, null,
                    new Rectangle2D.Double(-7, -7, 14, 14), e.getKey().color());
            legend.add(item);
        }
        plot.setFixedLegendItems(legend);

        if (cellSize(config) >= MIN_CELL_FOR_TEXT) {
            Font font = new Font(Font.SANS_SERIF, Font.BOLD, 13);
            for (PatternCell c : cells) {
                if (c.shortBudget().isEmpty()) continue;
                XYTextAnnotation text = new XYTextAnnotation(c.shortBudget(), c.head(), c.layer());
                text.setFont(font);
                text.setPaint(Color.WHITE);
                plot.addAnnotation(text);
            }
        }

        JFreeChart chart = new JFreeChart("Attention pattern per layer and head: " + config.model(),
                ChartStyle.TITLE, plot, false);
        LegendTitle legendTitle = new LegendTitle(plot);
        legendTitle.setPosition(RectangleEdge.BOTTOM);
        legendTitle.setItemFont(ChartStyle.AXIS_LABEL);
        chart.addSubtitle(legendTitle);
        String budgets = cellSize(config) >= MIN_CELL_FOR_TEXT
                ? "; in cells: vertical/slash, init+local, top blocks" : "";
        ChartStyle.apply(chart, config.numLayers() + " layers x " + config.numHeads() + " heads; every head runs dense "
                + "below " + String.format("%,d", config.minSparseLength()) + " tokens" + budgets);
        // After the common style: a grid would cut through the cells.
        plot.setDomainGridlinesVisible(false);
        plot.setRangeGridlinesVisible(false);
        plot.setOutlineVisible(false);
        return chart;
    }

    private static NumberAxis integerAxis(String label, int n) {
        NumberAxis axis = new NumberAxis(label);
        axis.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        axis.setRange(-0.5, n - 0.5);
        axis.setLowerMargin(0);
        axis.setUpperMargin(0);
        return axis;
    }
}
