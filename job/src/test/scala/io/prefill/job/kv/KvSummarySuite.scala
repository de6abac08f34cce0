package io.prefill.job.kv

import java.nio.file.{Files, Path}

import scala.jdk.CollectionConverters._

import io.prefill.cpu.CpuDecodeStep
import io.prefill.engine.{EngineOptions, LengthPolicy, PromptTemplate}
import io.prefill.job.{DemoCorpus, JobOptions, PrefillJob}
import io.prefill.kv.{KvCache, KvSummaryOptions, KvSummaryReader, ModelIdentity}
import io.prefill.model.{TextTokenizer, TinyModelSpec, TinyModelWriter}
import io.prefill.udf.{EngineCache, EngineSpec}
import org.apache.spark.sql.{Row, SparkSession}
import org.scalatest.BeforeAndAfterAll
import org.scalatest.funsuite.AnyFunSuite

/**
 * The job in kv-summary and both modes on a tiny model and a few short documents: the KV Parquet
 * read back, one summary reloaded bit-exactly and decoded from, and the size-limit error rows.
 */
class KvSummarySuite extends AnyFunSuite with BeforeAndAfterAll {
  private var spark: SparkSession = _
  private var work: Path = _
  private var model: Path = _
  private var corpus: Path = _
  private val template = "Report:\n{document}\nQuestion: {question}\nAnswer:"
  private val kvArgs = Seq("--kv-window", "8", "--kv-top-k", "64", "--kv-sinks", "4")
  private val kept = 4 + 64 + 8

  override def beforeAll(): Unit = {
    work = Files.createTempDirectory("kv-summary-suite")
    model = work.resolve("model")
    TinyModelWriter.write(model, TinyModelSpec.demo(), 17L)
    corpus = work.resolve("corpus.jsonl")
    val tok = TextTokenizer.load(model.resolve("tokenizer.json"))
    try DemoCorpus.write(corpus, tok, Array(300, 600, 1200), 5L) finally tok.close()
    spark = SparkSession.builder().master("local[2]").appName("kv-summary-suite")
      .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate()
  }

  override def afterAll(): Unit = if (spark != null) spark.stop()

  /** Runs the job; returns its log (progress lines count the pre-fills the SQL function ran). */
  private def run(extra: String*): String = {
    val log = new java.io.ByteArrayOutputStream()
    val stream = new java.io.PrintStream(log, true, "UTF-8")
    PrefillJob.run(spark, JobOptions.parse((Seq(
      "--input", corpus.toString, "--model", model.toString, "--template", template,
      "--question-column", "question", "--partitions", "2", "--write-mode", "overwrite", "--no-summary") ++ extra).toArray),
      stream)
    print(log.toString("UTF-8"))
    log.toString("UTF-8")
  }

  private def corpusRows(): Seq[(String, String, String)] =
    spark.read.json(corpus.toString).collect().toSeq.map(r =>
      (r.getAs[String]("id"), r.getAs[String]("text"), r.getAs[String]("question")))

  private def engineSpec = new EngineSpec(model.toString, null, "default vertical-slash(1000, 6096)", "cpu",
    new EngineOptions(5, 0, LengthPolicy.ERROR, PromptTemplate.of(template)))

  test("kv-summary mode: one row per document and layer, reloaded bit-exactly into a cache that decodes") {
    val out = work.resolve("kv.parquet").toString
    run(Seq("--output", out, "--mode", "kv-summary") ++ kvArgs: _*)
    val rows = spark.read.parquet(out).collect().toSeq
    val byId = rows.groupBy(_.getAs[String]("id"))
    val docs = corpusRows()
    assert(byId.keySet == docs.map(_._1).toSet)
    for (id <- Seq("doc-empty", "doc-null")) {
      assert(byId(id).size == 1 && byId(id).head.isNullAt(byId(id).head.fieldIndex("layer")), id)
      assert(byId(id).head.getAs[String]("error_kind") == "empty_text", id)
    }
    val spec = engineSpec
    val engine = EngineCache.open(spec)
    try {
      val kvOptions = new KvSummaryOptions(8, 64, 4, 7, KvSummaryOptions.Pooling.MAX, KvSummaryOptions.DEFAULT_MAX_BYTES)
      val modelId = ModelIdentity.of(model.toString, engine.model().config())
      for ((id, text, question) <- docs if !id.startsWith("doc-empty") && id != "doc-null") {
        val layers = byId(id)
        assert(layers.map(_.getAs[Int]("layer")).sorted == Seq(0, 1), id)
        layers.foreach { r =>
          assert(r.getAs[String]("dtype") == "bf16" && r.getAs[Int]("head_dim") == 16 && r.getAs[String]("model") == modelId)
          val heads = r.getList[Row](r.fieldIndex("kv_heads")).asScala
          assert(heads.map(_.getAs[Int]("kv_head")) == Seq(0, 1))
          heads.foreach { h =>
            val pos = h.getList[Int](h.fieldIndex("positions")).asScala.toSeq
            val n = r.getAs[Int]("prompt_tokens")
            assert(pos.size == kept && pos == pos.sorted && pos.distinct == pos, id)
            assert(pos.take(4) == (0 until 4) && pos.takeRight(8) == (n - 8 until n), id)
            assert(h.getAs[Array[Byte]]("k").length == kept * 16 * 2 && h.getAs[Array[Byte]]("v").length == kept * 16 * 2)
          }
        }
        // the Parquet round trip is lossless: the reloaded summary equals the engine's own, byte for byte
        val reloaded = KvSummaryReader.read(spark, out, id)
        val direct = engine.prefillWithKvSummary(text, question, kvOptions, modelId).kv().summary()
        assert(reloaded == direct, id)
        val cache = KvSummaryReader.readCache(spark, out, id)
        val logits = new CpuDecodeStep(engine.model().config(), engine.model().weights())
          .logits(cache, 42, cache.promptTokens())
        assert(logits.forall(z => java.lang.Float.isFinite(z)))
        assert(logits.sameElements(new CpuDecodeStep(engine.model().config(), engine.model().weights())
          .logits(KvCache.of(direct), 42, direct.promptTokens())))
      }
      val e = intercept[IllegalArgumentException](KvSummaryReader.read(spark, out, "doc-empty"))
      assert(e.getMessage.contains("empty_text"))
    } finally engine.close()
  }

  test("both mode: first tokens to --output and KV summaries to the sibling folder, from one pre-fill") {
    val out = work.resolve("both").toString
    val log = run(Seq("--output", out, "--mode", "both") ++ kvArgs: _*)
    // two outputs, one pre-fill: the last progress line counts each of the 5 documents once
    assert(log.contains("partition 2/2 done: 5 documents"), log)
    val first = spark.read.parquet(out).collect().map(r => r.getAs[String]("id") -> r).toMap
    val kv = spark.read.parquet(JobOptions.defaultKvOutput(out))
    assert(first.keySet == corpusRows().map(_._1).toSet)
    assert(kv.select("id").distinct().count() == first.size)
    val engine = EngineCache.open(engineSpec)
    try {
      for ((id, text, question) <- corpusRows()) {
        val direct = engine.prefill(text, question)
        if (direct.ok()) {
          assert(first(id).getAs[Int]("first_token_id") == direct.first().tokenId(), id)
          assert(kv.where(s"id = '$id' and layer is not null").count() == 2, id)
        } else assert(first(id).getAs[String]("error_kind") == direct.errorKind(), id)
      }
    } finally engine.close()
  }

  test("a summary over --kv-max-bytes becomes one kv_too_large row with the numbers") {
    val out = work.resolve("limited.parquet").toString
    // every position kept: a document's summary is 2 layers x 2 KV heads x n x (16 x 2 x 2 + 4) bytes
    val limit = 2L * 2 * 700 * (16 * 2 * 2 + 4)
    run("--output", out, "--mode", "kv-summary", "--kv-top-k", "100000", "--kv-max-bytes", limit.toString)
    val rows = spark.read.parquet(out).collect().toSeq.groupBy(_.getAs[String]("id"))
    val sizes = rows.filter(_._2.head.getAs[String]("error_kind") != "empty_text").map { case (id, rs) =>
      id -> rs.head.getAs[Int]("prompt_tokens") }
    assert(sizes.values.exists(_ < 700) && sizes.values.exists(_ > 700))
    for ((id, n) <- sizes) {
      val rs = rows(id)
      if (n > 700) {
        assert(rs.size == 1 && rs.head.isNullAt(rs.head.fieldIndex("layer")), id)
        assert(rs.head.getAs[String]("error_kind") == "kv_too_large", id)
        val message = rs.head.getAs[String]("error")
        assert(message.contains(s"over the limit of $limit bytes") && message.contains(s"${2L * 2 * n * 68} bytes"), message)
      } else {
        assert(rs.size == 2 && rs.forall(_.isNullAt(rs.head.fieldIndex("error"))), id)
      }
    }
  }
}
