package io.prefill.job.report

import java.nio.charset.StandardCharsets
import java.nio.file.{Files, Path, StandardCopyOption}
import javax.imageio.ImageIO

import io.prefill.sparse.PatternConfig
import org.apache.spark.sql.SparkSession
import org.scalatest.BeforeAndAfterAll
import org.scalatest.funsuite.AnyFunSuite

/** The report application on a real job output: every file written, with sensible sizes and dimensions. */
class ReportMainSuite extends AnyFunSuite with BeforeAndAfterAll {
  private var spark: SparkSession = _
  private var output: ReportTestOutput.Output = _
  private var reportDir: Path = _
  private var index: Path = _

  override def beforeAll(): Unit = {
    spark = ReportTestOutput.session()
    output = ReportTestOutput.get(spark)
    reportDir = output.dir.resolve("report")
    index = ReportMain.writeFor(spark, output.parquet, output.patterns, reportDir)
    // REPORT_KEEP_DIR=DIR keeps a copy of the report, to look at the charts (the Scalatest plugin's
    // forked JVM inherits the environment, not mvn's -D properties).
    Option(System.getenv("REPORT_KEEP_DIR")).foreach { keep =>
      Files.list(reportDir).forEach(f => Files.copy(f, Path.of(keep).resolve(f.getFileName), StandardCopyOption.REPLACE_EXISTING))
    }
  }

  override def afterAll(): Unit = if (spark != null) spark.stop()

  private def assertPng(name: String, width: Int, height: Int): Unit = {
    val file = reportDir.resolve(name)
    assert(Files.isRegularFile(file), s"$name missing")
    val size = Files.size(file)
    // Blank or broken images are a few hundred bytes; a chart with labels and marks is tens of KB.
    assert(size > 10000 && size < 2000000, s"$name has $size bytes")
    val image = ImageIO.read(file.toFile)
    assert(image != null, s"$name is not a readable PNG")
    assert(image.getWidth == width && image.getHeight == height,
      s"$name is ${image.getWidth}x${image.getHeight}, expected ${width}x$height")
  }

  test("writes the three charts as PNGs of the expected dimensions") {
    assertPng(ReportMain.TIME_VS_LENGTH, TimeVsLengthChart.WIDTH, TimeVsLengthChart.HEIGHT)
    assertPng(ReportMain.DENSITY_HISTOGRAM, DensityHistogramChart.WIDTH, DensityHistogramChart.HEIGHT)
    val config = PatternConfig.read(Path.of(output.patterns))
    assertPng(ReportMain.PATTERN_MAP, PatternHeatMapChart.width(config), PatternHeatMapChart.height(config))
  }

  test("index.html embeds every chart and summarises documents, errors by kind, tokens and timings") {
    assert(index == reportDir.resolve(ReportMain.INDEX))
    val html = new String(Files.readAllBytes(index), StandardCharsets.UTF_8)
    for (png <- Seq(ReportMain.TIME_VS_LENGTH, ReportMain.DENSITY_HISTOGRAM, ReportMain.PATTERN_MAP))
      assert(html.contains("<img src=\"" + png + "\""), png)
    assert(html.contains(s"""<tr><th>documents</th><td class="n">${ReportTestOutput.documents}</td></tr>"""))
    assert(html.contains("""<tr><td>empty_text</td><td class="n">2</td></tr>"""))
    assert(html.contains("""<tr><td>too_long</td><td class="n">1</td></tr>"""))
    assert(html.contains("median pre-fill (ms)") && html.contains("<tr><td>cpu</td>"))
    assert(html.contains("Least confident first tokens"))
  }

  test("the summary agrees with the output") {
    val s = OutputSummary.of(FirstTokenOutput.read(spark, output.parquet))
    assert(s.documents == ReportTestOutput.documents && s.errors == 3)
    assert(s.errorsByKind == java.util.Map.of("empty_text", 2L, "too_long", 1L))
    val ok = spark.read.parquet(output.parquet).where("error IS NULL")
    assert(s.promptTokens == ok.selectExpr("sum(prompt_tokens)").head().getLong(0))
    assert(s.series.size == 1 && s.series.get(0).series == "cpu" && s.series.get(0).documents == s.succeeded)
    assert(s.series.get(0).medianMs > 0 && s.series.get(0).tokensPerSecond > 0)
  }

  test("the density histogram counts every document without error, with the median inside its range") {
    val h = DensityHistogram.of(FirstTokenOutput.read(spark, output.parquet))
    assert(h.documents == ReportTestOutput.documents - 3)
    assert(h.lo > 0 && h.hi <= 1.0 + 1e-9 && h.median >= h.lo && h.median <= h.hi)
  }

  test("without a pattern config the report leaves the pattern map out") {
    val dir = output.dir.resolve("report-no-patterns")
    ReportMain.writeFor(spark, output.parquet, null, dir)
    assert(!Files.exists(dir.resolve(ReportMain.PATTERN_MAP)))
    assert(Files.exists(dir.resolve(ReportMain.TIME_VS_LENGTH)) && Files.exists(dir.resolve(ReportMain.INDEX)))
  }

  test("writeLocal (the demo's call) reuses a running session and leaves it running") {
    val dir = output.dir.resolve("report-local")
    assert(ReportMain.writeLocal(output.parquet, output.patterns, dir) == dir.resolve(ReportMain.INDEX))
    assert(Files.exists(dir.resolve(ReportMain.PATTERN_MAP)))
    assert(!spark.sparkContext.isStopped)
  }
}
