package io.prefill.job

import java.lang.management.ManagementFactory
import java.nio.charset.StandardCharsets
import java.nio.file.{Files, Path}
import java.util.concurrent.TimeUnit

import scala.jdk.CollectionConverters._

import io.prefill.model.{TinyModelSpec, TinyModelWriter}
import org.apache.spark.sql.{Row, SparkSession}
import org.apache.spark.sql.types.{DataTypes, StructField, StructType}
import org.scalatest.BeforeAndAfterAll
import org.scalatest.funsuite.AnyFunSuite

/**
 * Nothing lost, nothing silently wrong: inputs that are not what they claim, an output that would
 * overwrite the input, and a driver killed in the middle of a job. One Spark session for every test;
 * the killed drivers are child JVMs running the real job.
 */
class ReliabilitySuite extends AnyFunSuite with BeforeAndAfterAll {
  private var spark: SparkSession = _
  private var work: Path = _
  private var model: Path = _

  override def beforeAll(): Unit = {
    work = Files.createTempDirectory("prefill-reliability-suite")
    model = work.resolve("model")
    TinyModelWriter.write(model, TinyModelSpec.demo(), 31L)
    spark = SparkSession.builder().master("local[2]").appName("prefill-reliability-suite")
      .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate()
  }

  override def afterAll(): Unit = if (spark != null) spark.stop()

  private def text(i: Int, words: Int = 60): String =
    (0 until words).map(w => Seq("revenue", "grew", "in", "the", "north", "region", "audit", "filed")((i * 7 + w) % 8))
      .mkString(s"Report $i. ", " ", ".")

  private def job(input: String, output: String, extra: String*): JobOptions = JobOptions.parse((Seq(
    "--input", input, "--model", model.toString, "--output", output, "--no-summary") ++ extra).toArray)

  private def run(input: String, output: String, extra: String*): JobSummary =
    PrefillJob.run(spark, job(input, output, extra: _*), System.out)

  private def jsonl(name: String, lines: Seq[String]): Path = {
    val f = work.resolve(name)
    Files.write(f, lines.mkString("", "\n", "\n").getBytes(StandardCharsets.UTF_8))
    f
  }

  private def doc(id: String, body: String): String =
    s"""{"id": ${if (id == null) "null" else "\"" + id + "\""}, "text": "$body"}"""

  private def rows(path: String): Map[String, Row] = {
    val all = spark.read.parquet(path).collect()
    val byId = all.map(r => r.getAs[String]("id") -> r).toMap
    assert(byId.size == all.length, s"duplicate ids in $path")
    byId
  }

  private def kind(r: Row): String = r.getAs[String]("error_kind")

  private def printed(summary: JobSummary): String = {
    val buffer = new java.io.ByteArrayOutputStream()
    summary.print(new java.io.PrintStream(buffer, true, StandardCharsets.UTF_8))
    buffer.toString(StandardCharsets.UTF_8)
  }

  test("an output equal to, inside or containing the input is refused before any work") {
    val corpus = work.resolve("paths").resolve("corpus.parquet").toString
    spark.createDataFrame(Seq(("a", text(1)), ("b", text(2)))).toDF("id", "text").write.parquet(corpus)
    def refused(output: String, extra: String*): String = {
      val e = intercept[IllegalArgumentException](run(corpus, output, extra: _*))
      assert(e.getMessage.contains("input"), e.getMessage)
      e.getMessage
    }
    refused(corpus, "--write-mode", "overwrite")
    refused(corpus + "/", "--write-mode", "overwrite")
    refused("file:" + corpus, "--write-mode", "resume")
    refused(corpus + "/out", "--write-mode", "overwrite")
    refused(work.resolve("paths").toString, "--write-mode", "overwrite")
    refused(work.resolve("elsewhere").toString, "--mode", "both", "--kv-output", corpus + "/kv")
    assert(spark.read.parquet(corpus).count() == 2, "the corpus is untouched")
    assert(!Files.exists(work.resolve("elsewhere")))
  }

  test("null and duplicate ids are refused up front, listing them") {
    val corpus = jsonl("ids.jsonl", Seq(doc(null, "x"), doc("d1", "first"), doc(null, "y"), doc("d1", "second"),
      doc("new", "third"), doc("d2", "a"), doc("d2", "b")))
    val out = work.resolve("ids-out").toString
    val e = intercept[IllegalArgumentException](run(corpus.toString, out))
    assert(e.getMessage.contains("2 rows with a null id") && e.getMessage.contains("d1 (2 rows)")
      && e.getMessage.contains("d2 (2 rows)"), e.getMessage)
    assert(!Files.exists(Path.of(out)), "nothing is written")
  }

  /** Columns that must be identical between an interrupted-and-resumed run and an uninterrupted one. */
  private val resultColumns = Seq("prompt_tokens", "dropped_tokens", "first_token_id", "first_token_text",
    "first_token_logprob", "top_ids", "top_texts", "top_logprobs", "attention_density", "error_kind", "error",
    "estimated_gflops")

  private def assertSameResults(expected: Map[String, Row], actual: Map[String, Row], label: String): Unit = {
    assert(actual.keySet == expected.keySet, s"$label: ids")
    for ((id, e) <- expected; c <- resultColumns) {
      assert(actual(id).get(actual(id).fieldIndex(c)) == e.get(e.fieldIndex(c)), s"$label: $id $c")
    }
  }

  /** Runs PrefillJob.main in a child JVM (a real driver that can be killed); returns its exit status. */
  private def childJob(args: Seq[String], log: Path): Int = {
    val java = Path.of(System.getProperty("java.home"), "bin", "java").toString
    val jvmOptions = ManagementFactory.getRuntimeMXBean.getInputArguments.asScala.filter(a =>
      a.startsWith("--add-opens") || a.startsWith("-XX:+IgnoreUnrecognizedVMOptions") || a.startsWith("-Djdk.reflect")
        || a.startsWith("-Dio.netty"))
    val command = Seq(java, "-Xmx1g") ++ jvmOptions ++ Seq("-cp", System.getProperty("java.class.path"),
      classOf[PrefillJob].getName) ++ args
    val p = new ProcessBuilder(command.asJava).redirectErrorStream(true).redirectOutput(log.toFile).start()
    assert(p.waitFor(5, TimeUnit.MINUTES), "the child job did not finish")
    p.exitValue()
  }

}
