package io.prefill.job.report;

import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.data.category.CategoryDataset;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The whole-model stage chart read from benchmark TSVs laid out as PrefillBenchmark writes them. */
class StageTimeChartTest {
    @TempDir
    static Path dir;

    private static final String TSV = """
            # one call, a comment line
            mode\tn\tseconds\tgemm_ms\tattention_ms\testimate_ms\tother_ms\tdensity\tchunk\tdevice_gib\tcertificate_ms\tkept_min
            minference\t131072\t3.781\t2728\t714\t183\t140\t0.0540\t16384\t21.4\t5\t0.0061
            minference-fp8\t131072\t2.787\t1728\t637\t159\t251\t0.0540\t16384\t15.2\t4\t0.0061
            minference\t1048576\t30.688\t23418\t5046\t1069\t1112\t0.0069\t16384\t51.7\t6\t0.0008
            minference\t2000000\tdoes not fit: the memory plan's numbers
            """;

    @BeforeAll
    static void headless() { System.setProperty("java.awt.headless", "true"); }

    @Test
    void readsTheRunOfTheGivenModeAndLengthByColumnName() throws Exception {
        Path file = Files.writeString(dir.resolve("a.tsv"), TSV);
        StageTimeChart.Bar fp8 = StageTimeChart.read("FP8", file, "minference-fp8", 131072);
        assertEquals(2.787, fp8.seconds(), 1e-12);
        assertArrayEquals(new double[] {1.728, 0.637, 0.159, 0.004, 0.251}, fp8.stageSeconds(), 1e-12);
        StageTimeChart.Bar million = StageTimeChart.read("bf16", file, "minference", 1048576);
        assertEquals(23.418, million.stageSeconds()[StageTimeChart.Stage.GEMM.ordinal()], 1e-12);
    }

    @Test
    void aMissingRunOrColumnFailsNamingTheFile() throws Exception {
        Path file = Files.writeString(dir.resolve("b.tsv"), TSV);
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
                () -> StageTimeChart.read("x", file, "dense", 131072));
        assertTrue(none.getMessage().contains(file.toString()) && none.getMessage().contains("mode dense"), none.getMessage());
        IllegalArgumentException unfit = assertThrows(IllegalArgumentException.class,
                () -> StageTimeChart.read("x", file, "minference", 2000000));
        assertTrue(unfit.getMessage().contains("has no") || unfit.getMessage().contains("not a number"), unfit.getMessage());
        Path noCert = Files.writeString(dir.resolve("c.tsv"), "mode\tn\tseconds\tgemm_ms\tattention_ms\testimate_ms\tother_ms\n"
                + "minference\t131072\t3.9\t2700\t700\t200\t140\n");
        IllegalArgumentException column = assertThrows(IllegalArgumentException.class,
                () -> StageTimeChart.read("x", noCert, "minference", 131072));
        assertTrue(column.getMessage().contains("certificate_ms") && column.getMessage().contains(noCert.toString()),
                column.getMessage());
        Path headless = Files.writeString(dir.resolve("d.tsv"), "minference\t131072\t3.9\n");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> StageTimeChart.read("x", headless, "minference", 131072))
                .getMessage().contains("no header row"));
    }

    @Test
    void drawsOneStackedBarPerRunWithItsStagesInOrder() throws Exception {
        Path file = Files.writeString(dir.resolve("e.tsv"), TSV);
        List<StageTimeChart.Bar> bars = List.of(StageTimeChart.read("bf16", file, "minference", 131072),
                StageTimeChart.read("FP8 projections", file, "minference-fp8", 131072));
        JFreeChart chart = StageTimeChart.create("Llama-3-8B shape, 128K tokens", bars, 3.5);
        CategoryDataset data = ((CategoryPlot) chart.getPlot()).getDataset();
        assertEquals(List.of("bf16 (3.78 s)", "FP8 projections (2.79 s)"), data.getColumnKeys());
        assertEquals(StageTimeChart.Stage.values().length, data.getRowCount());
        assertEquals(StageTimeChart.Stage.GEMM.label, data.getRowKey(0));
        assertEquals(1.728, data.getValue(StageTimeChart.Stage.GEMM.label, "FP8 projections (2.79 s)").doubleValue(), 1e-12);
        CategoryPlot plot = (CategoryPlot) chart.getPlot();
        assertEquals(1, plot.getRangeMarkers(org.jfree.chart.ui.Layer.FOREGROUND).size());

        Path png = dir.resolve("stages.png");
        ChartStyle.writePng(chart, png, StageTimeChart.WIDTH, StageTimeChart.HEIGHT);
        BufferedImage image = ImageIO.read(png.toFile());
        assertEquals(StageTimeChart.WIDTH, image.getWidth());
        assertEquals(StageTimeChart.HEIGHT, image.getHeight());
        assertTrue(Files.size(png) > 10_000, "a chart with text and bars, not a blank image: " + Files.size(png) + " bytes");
    }

    @Test
    void mainTakesLabelledRunsAndRefusesAMalformedOne() throws Exception {
        Path file = Files.writeString(dir.resolve("f.tsv"), TSV);
        Path out = dir.resolve("main.png");
        StageTimeChart.main(new String[] {out.toString(), "1M", "target=28", "bf16=" + file + ":minference:1048576"});
        assertTrue(Files.size(out) > 10_000);
        assertThrows(IllegalArgumentException.class,
                () -> StageTimeChart.main(new String[] {out.toString(), "t", "target=soon", "bf16=" + file + ":minference:131072"}));
        assertThrows(IllegalArgumentException.class, () -> StageTimeChart.main(new String[] {out.toString(), "t", "target=3"}));
        assertThrows(IllegalArgumentException.class,
                () -> StageTimeChart.main(new String[] {out.toString(), "t", "bf16=" + file + ":minference"}));
        assertThrows(IllegalArgumentException.class,
                () -> StageTimeChart.main(new String[] {out.toString(), "t", "bf16=" + file + ":minference:lots"}));
    }
}
