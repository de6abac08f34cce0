package io.prefill.job

import java.nio.charset.StandardCharsets
import java.nio.file.{Files, Path}
import java.util.concurrent.atomic.AtomicInteger

import io.prefill.model.{TextTokenizer, TinyModelSpec, TinyModelWriter}
import io.prefill.settings.PrefillSettings
import io.prefill.udf.GpuBinding
import org.apache.spark.scheduler.{SparkListener, SparkListenerTaskEnd}
import org.apache.spark.sql.SparkSession
import org.scalatest.BeforeAndAfterAll
import org.scalatest.concurrent.Eventually._
import org.scalatest.time.{Seconds, Span}
import org.scalatest.funsuite.AnyFunSuite

/**
 * How the job behaves on a cluster, in local mode: tasks that fail and are retried never duplicate
 * or lose a document, a resumed job skips what is already written, partitions follow the cost plan.
 */
class ClusterBehaviourSuite extends AnyFunSuite with BeforeAndAfterAll {
  private var spark: SparkSession = _
  private var work: Path = _
  private var model: Path = _
  private var corpus: Path = _
  private val failedTasks = new AtomicInteger()

  override def beforeAll(): Unit = {
    work = Files.createTempDirectory("prefill-cluster-suite")
    model = work.resolve("model")
    TinyModelWriter.write(model, TinyModelSpec.demo(), 21L)
    corpus = work.resolve("corpus.jsonl")
    val tok = TextTokenizer.load(model.resolve("tokenizer.json"))
    try DemoCorpus.write(corpus, tok, Array(500, 700, 900, 1100, 1300, 1500), 5L) finally tok.close()
    spark = SparkSession.builder().master("local[2,4]").appName("prefill-cluster-suite")
      .config("spark.ui.enabled", "false")
      .config(PrefillSettings.FAIL_FIRST_ATTEMPT_OF_PARTITION.key, "0")
      .getOrCreate()
    spark.sparkContext.addSparkListener(new SparkListener {
      override def onTaskEnd(end: SparkListenerTaskEnd): Unit =
        if (!end.taskInfo.successful) failedTasks.incrementAndGet()
    })
  }

  override def afterAll(): Unit = if (spark != null) spark.stop()

  private def run(out: String, input: String, mode: String, partitions: Int = 3): JobSummary =
    PrefillJob.run(spark, JobOptions.parse(Array("--input", input, "--model", model.toString, "--output", out,
      "--write-mode", mode, "--partitions", partitions.toString, "--no-summary")), System.out)

  private def ids(path: String): Seq[String] =
    spark.read.parquet(path).select("id").collect().map(_.getString(0)).toSeq

  test("a task that fails on its first attempt is retried, and every document appears exactly once") {
    val out = work.resolve("retried.parquet").toString
    val before = failedTasks.get()
    // two partitions of four documents: the first attempt of partition 0 fails after writing a row
    run(out, corpus.toString, "overwrite", partitions = 2)
    // listener events arrive asynchronously
    eventually(timeout(Span(20, Seconds))) {
      assert(failedTasks.get() > before, "the injected failure should have failed a task attempt")
    }
    val written = ids(out)
    val expected = spark.read.json(corpus.toString).select("id").collect().map(_.getString(0)).toSeq
    assert(written.sorted == expected.sorted, "each input id exactly once")
    assert(written.distinct.size == written.size)
  }

  test("write mode resume skips documents already in the output") {
    val out = work.resolve("resumed.parquet").toString
    val firstHalf = work.resolve("first-half.jsonl")
    val lines = Files.readAllLines(corpus, StandardCharsets.UTF_8)
    Files.write(firstHalf, lines.subList(0, 3))
    run(out, firstHalf.toString, "overwrite")
    val firstRun = spark.read.parquet(out).select("id", "prefill_ms").collect().map(r => r.getString(0) -> r.getDouble(1)).toMap

    val summary = run(out, corpus.toString, "resume")
    val all = spark.read.parquet(out).select("id", "prefill_ms").collect()
    val written = all.map(_.getString(0)).toSeq
    assert(written.sorted == spark.read.json(corpus.toString).select("id").collect().map(_.getString(0)).toSeq.sorted)
    assert(written.distinct.size == written.size, "no document twice after resuming")
    for (r <- all if firstRun.contains(r.getString(0))) assert(r.getDouble(1) == firstRun(r.getString(0)), "kept, not redone")
    assert(summary.rows == written.size)

    val e = intercept[IllegalArgumentException](run(out, corpus.toString, "error"))
    assert(e.getMessage.contains("resume"))
  }

  test("partitions follow the cost plan, and the estimate is written beside the measured time") {
    val out = work.resolve("planned.parquet").toString
    run(out, corpus.toString, "overwrite")
    val rows = spark.read.parquet(out).collect()
    val ok = rows.filter(_.isNullAt(rows.head.fieldIndex("error")))
    assert(ok.forall(_.getAs[Double]("estimated_gflops") > 0))
    assert(rows.map(_.getAs[Int]("partition")).toSet.subsetOf(Set(0, 1, 2)))
    // longer documents are estimated to cost more
    val byTokens = ok.sortBy(_.getAs[Int]("prompt_tokens")).map(_.getAs[Double]("estimated_gflops"))
    assert(byTokens.sliding(2).forall(w => w.length < 2 || w(0) <= w(1)))
    // partition loads are about equal: 6 documents of 500-1500 tokens over 3 partitions
    val loads = rows.groupBy(_.getAs[Int]("partition")).values.map(_.map(_.getAs[Double]("estimated_gflops")).sum)
    assert(loads.max / loads.min <= 1.5, loads)
  }

  test("without resource scheduling, tasks fall back to the configured device") {
    // Spark's local mode does not schedule custom resources, so tasks here carry no GPU address.
    val devices = spark.sparkContext.parallelize(1 to 4, 4)
      .mapPartitions(_ => Iterator((GpuBinding.assignedDevice(), GpuBinding.deviceForTask(1)))).collect()
    assert(devices.forall(_ == ((-1, 1))), devices.mkString(","))
    assert(GpuBinding.deviceForTask(0) == 0)
  }
}
