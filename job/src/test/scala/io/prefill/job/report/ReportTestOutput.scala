package io.prefill.job.report

import java.nio.file.{Files, Path}

import io.prefill.job.{DemoCorpus, JobOptions, PrefillJob}
import io.prefill.model.{TextTokenizer, TinyModelSpec, TinyModelWriter}
import org.apache.spark.sql.SparkSession

/**
 * One real job output shared by the report and notebook suites (the job is the slow part): the demo's
 * tiny model and pattern config, short documents (300 to 1300 tokens, so that both dense and
 * sparse heads run: the demo config is dense below 1024), and three error rows of two kinds (empty text, null text, one document over --max-tokens).
 */
object ReportTestOutput {
  final case class Output(parquet: String, patterns: String, dir: Path, kv: String)

  private val lengths = Array(300, 700, 1000, 1300, 2000)
  /** Under the longest document, so that it becomes a too_long error row. */
  val maxTokens = 1800
  val documents: Int = lengths.length + 2
  private val template = "Report:\n{document}\nQuestion: {question}\nAnswer:"
  private var produced: Option[Output] = None

  /** The repository's demo pattern config, found from the module directory the suites run in. */
  def demoPatterns: Path = repoFile("pattern-configs/demo-model.json")

  def repoFile(relative: String): Path =
    Iterator.iterate(Path.of("").toAbsolutePath)(_.getParent).takeWhile(_ != null)
      .map(_.resolve(relative)).find(Files.exists(_))
      .getOrElse(throw new IllegalStateException(s"$relative not found above ${Path.of("").toAbsolutePath}"))

  def get(spark: SparkSession): Output = synchronized {
    produced.getOrElse {
      val work = Files.createTempDirectory("prefill-report-suite")
      val model = work.resolve("model")
      TinyModelWriter.write(model, TinyModelSpec.demo(), 5L)
      val corpus = work.resolve("corpus.jsonl")
      val tok = TextTokenizer.load(model.resolve("tokenizer.json"))
      try DemoCorpus.write(corpus, tok, lengths, 9L) finally tok.close()
      val out = work.resolve("first-tokens.parquet").toString
      val kv = work.resolve("kv-summaries.parquet").toString
      PrefillJob.run(spark, JobOptions.parse(Array("--input", corpus.toString, "--model", model.toString,
        "--template", template, "--question-column", "question", "--patterns", demoPatterns.toString,
        "--max-tokens", maxTokens.toString, "--length-policy", "error", "--partitions", "2",
        "--output", out, "--mode", "both", "--kv-output", kv, "--kv-top-k", "64", "--no-summary")), System.out)
      val o = Output(out, demoPatterns.toString, work, kv)
      produced = Some(o)
      o
    }
  }

  def session(): SparkSession = SparkSession.builder().master("local[2]").appName("prefill-report-suites")
    .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate()
}
