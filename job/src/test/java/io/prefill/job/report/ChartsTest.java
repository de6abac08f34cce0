package io.prefill.job.report;

import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;
import org.jfree.chart.JFreeChart;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every chart drawn from synthetic data the size of a real run, without Spark. */
class ChartsTest {
    @TempDir
    static Path dir;

    @BeforeAll
    static void headless() { System.setProperty("java.awt.headless", "true"); }

    @Test
    void timeVsLengthWithTwoBackendsAndModes() throws Exception {
        Random r = new Random(1);
        List<TimingPoints.Point> points = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            int tokens = 32_768 + r.nextInt(1_000_000);
            points.add(new TimingPoints.Point("cuda / minference", tokens, tokens * 0.05 * (1 + r.nextGaussian() * 0.05)));
            points.add(new TimingPoints.Point("cuda / dense", tokens, tokens * tokens * 3e-7));
        }
        assertPng(TimeVsLengthChart.create(points), "time.png", TimeVsLengthChart.WIDTH, TimeVsLengthChart.HEIGHT);
    }

    @Test
    void emptyChartsStillDrawWithAMessage() throws Exception {
        assertPng(TimeVsLengthChart.create(List.of()), "time-empty.png", TimeVsLengthChart.WIDTH, TimeVsLengthChart.HEIGHT);
        assertPng(DensityHistogramChart.create(new DensityHistogram(0, 1, new long[DensityHistogram.BINS], Double.NaN)),
                "hist-empty.png", DensityHistogramChart.WIDTH, DensityHistogramChart.HEIGHT);
    }

    @Test
    void densityHistogram() throws Exception {
        long[] counts = new long[DensityHistogram.BINS];
        Random r = new Random(2);
        for (int i = 0; i < 1000; i++) counts[Math.min(counts.length - 1, Math.abs((int) (r.nextGaussian() * 4 + 8)))]++;
        assertPng(DensityHistogramChart.create(new DensityHistogram(0.012, 0.072, counts, 0.036)), "hist.png",
                DensityHistogramChart.WIDTH, DensityHistogramChart.HEIGHT);
    }

    @Test
    void patternMapOfAnEightBillionModelShape() throws Exception {
        Random r = new Random(3);
        List<List<HeadPattern>> layers = new ArrayList<>();
        for (int l = 0; l < 32; l++) {
            List<HeadPattern> heads = new ArrayList<>();
            for (int h = 0; h < 32; h++) {
                int k = r.nextInt(10);
                heads.add(k < 7 ? new HeadPattern.VerticalSlash(1000, 6096) : k < 9 ? new HeadPattern.AShape(128, 4096)
                        : new HeadPattern.BlockSparse(100));
            }
            layers.add(heads);
        }
        PatternConfig big = new PatternConfig("Llama-3-8B-Instruct-262k", 32, 32, 8192, layers);
        assertPng(PatternHeatMapChart.create(big), "patterns-big.png", PatternHeatMapChart.width(big),
                PatternHeatMapChart.height(big));
        assertTrue(PatternHeatMapChart.width(big) <= 1300 && PatternHeatMapChart.height(big) <= 1300);
    }

    @Test
    void patternMapOfATinyModelLabelsItsCells() throws Exception {
        PatternConfig tiny = PatternMapTest.mixed();
        assertPng(PatternHeatMapChart.create(tiny), "patterns-tiny.png", PatternHeatMapChart.width(tiny),
                PatternHeatMapChart.height(tiny));
    }

    @Test
    void aJvmThatCannotDrawTextLeavesTheChartOutAndSaysWhy() throws Exception {
        // What a runtime without libharfbuzz throws on the first text it measures.
        JFreeChart broken = new JFreeChart(new org.jfree.chart.plot.XYPlot()) {
            @Override
            public void draw(java.awt.Graphics2D g2, java.awt.geom.Rectangle2D area,
                             java.awt.geom.Point2D anchor, org.jfree.chart.ChartRenderingInfo info) {
                throw new UnsatisfiedLinkError("libfontmanager.so: libharfbuzz.so.0: cannot open shared object file");
            }
        };
        ReportPage.Figure figure = ReportMain.figure(dir, "broken.png", "A chart.", () -> broken, 400, 300);
        assertTrue(figure.notDrawn().contains("libharfbuzz.so.0"), figure.notDrawn());
        assertTrue(figure.notDrawn().contains("font libraries"), figure.notDrawn());
        Path page = dir.resolve("page.html");
        ReportPage.write(page, "out.parquet", null, new OutputSummary(0, 0, java.util.Map.of(), 0, 0, List.of()), List.of(figure), List.of());
        String html = Files.readString(page);
        assertTrue(html.contains("Not drawn: this JVM cannot draw text"), html);
        assertTrue(!html.contains("<img src=\"broken.png\""), html);

        ReportPage.Figure drawn = ReportMain.figure(dir, "drawn.png", "A chart.",
                () -> PatternHeatMapChart.create(PatternMapTest.mixed()), 400, 300);
        assertEquals(null, drawn.notDrawn());
        assertTrue(Files.size(dir.resolve("drawn.png")) > 1_000);
    }

    private static void assertPng(JFreeChart chart, String name, int width, int height) throws Exception {
        Path file = dir.resolve(name);
        ChartStyle.writePng(chart, file, width, height);
        // REPORT_KEEP_DIR=DIR keeps a copy, to look at the charts.
        if (System.getenv("REPORT_KEEP_DIR") != null) {
            Files.copy(file, Path.of(System.getenv("REPORT_KEEP_DIR")).resolve(name),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        BufferedImage image = ImageIO.read(file.toFile());
        assertEquals(width, image.getWidth(), name);
        assertEquals(height, image.getHeight(), name);
        // A blank image compresses to a few hundred bytes; a chart with text and marks is well above that.
        assertTrue(Files.size(file) > 10_000, name + " is only " + Files.size(file) + " bytes");
    }
}
