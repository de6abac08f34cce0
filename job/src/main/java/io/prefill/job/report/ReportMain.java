package io.prefill.job.report;

import io.prefill.job.cli.Cli;
import io.prefill.job.cli.Sessions;
import io.prefill.sparse.PatternConfig;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.jfree.chart.JFreeChart;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The report application: reads a first-token output (Parquet, any Hadoop path) and optionally a
 * pattern config, and writes PNG charts and index.html into a local folder, for people without
 * Zeppelin. Only aggregates and a bounded sample of the output reach the driver.
 */
public final class ReportMain {
    public static final String INDEX = "index.html";
    public static final String TIME_VS_LENGTH = "time-vs-length.png";
    public static final String DENSITY_HISTOGRAM = "density-histogram.png";
    public static final String PATTERN_MAP = "pattern-map.png";

    private ReportMain() { }

    /** Exit codes and one-line errors as {@link Cli} describes (a missing output or a bad config: 3). */
    public static void main(String[] args) {
        Cli.main("report", ReportOptions.TABLE, args, a -> {
            ReportOptions o = ReportOptions.parse(a);
            SparkSession spark = Sessions.create("minference-prefill-report", o.master(), o.sparkConf());
            try {
                System.out.println("report: " + writeFor(spark, o.input(), o.patterns(), o.reportDir()).toAbsolutePath());
            } finally {
                spark.stop();
            }
            return Cli.OK;
        });
    }

    /**
     * Writes the report of one output into reportDir (created if needed) and returns its index.html.
     *
     * @param patternsFile local pattern config file, or null for no pattern map
     */
    public static Path writeFor(SparkSession spark, String outputPath, String patternsFile, Path reportDir) {
        // Charts are drawn off-screen; without this AWT looks for a display on a cluster's driver.
        System.setProperty("java.awt.headless", "true");
        try {
            Files.createDirectories(reportDir);
            Dataset<Row> out = FirstTokenOutput.read(spark, outputPath).cache();
            try {
                List<ReportPage.Figure> figures = new ArrayList<>();
                figures.add(figure(reportDir, TIME_VS_LENGTH, "Pre-fill time against prompt length, per backend.",
                        () -> TimeVsLengthChart.create(TimingPoints.of(out)), TimeVsLengthChart.WIDTH, TimeVsLengthChart.HEIGHT));
                figures.add(figure(reportDir, DENSITY_HISTOGRAM,
                        "Share of the dense causal attention matrix each document's pre-fill computed.",
                        () -> DensityHistogramChart.create(DensityHistogram.of(out)),
                        DensityHistogramChart.WIDTH, DensityHistogramChart.HEIGHT));
                if (patternsFile != null) {
                    PatternConfig config = PatternConfig.read(Path.of(patternsFile));
                    figures.add(figure(reportDir, PATTERN_MAP, "Head pattern per layer and head of "
                                    + Path.of(patternsFile).getFileName() + ".", () -> PatternHeatMapChart.create(config),
                            PatternHeatMapChart.width(config), PatternHeatMapChart.height(config)));
                }
                Path index = reportDir.resolve(INDEX);
                ReportPage.write(index, outputPath, patternsFile, OutputSummary.of(out), figures,
                        FirstTokenSample.leastConfident(out));
                return index;
            } finally {
                out.unpersist();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the report to " + reportDir + ": " + e.getMessage(), e);
        }
    }

    /**
     * One chart of the page: drawn into dir/file, or, where this JVM cannot draw (see
     * {@link ChartStyle#writePngOrWhyNot}), a figure that says why, with one warning on stderr.
     */
    static ReportPage.Figure figure(Path dir, String file, String caption, Supplier<JFreeChart> chart,
                                    int width, int height) throws IOException {
        String whyNot = ChartStyle.writePngOrWhyNot(chart.get(), dir.resolve(file), width, height);
        if (whyNot != null) System.err.println("[report] " + file + " not drawn: " + whyNot);
        return new ReportPage.Figure(file, caption, whyNot);
    }

    /**
     * For the demo, after its job has stopped its session: the report on a local Spark session of
     * its own (stopped again), unless a session is still active.
     */
    public static Path writeLocal(String outputPath, String patternsFile, Path reportDir) {
        boolean own = SparkSession.getActiveSession().isEmpty();
        SparkSession spark = own
                ? SparkSession.builder().master("local[2]").appName("minference-prefill-report")
                    .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate()
                : SparkSession.active();
        try {
            return writeFor(spark, outputPath, patternsFile, reportDir);
        } finally {
            if (own) spark.stop();
        }
    }
}
