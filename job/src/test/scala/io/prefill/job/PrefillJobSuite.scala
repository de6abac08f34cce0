package io.prefill.job

import java.nio.charset.StandardCharsets
import java.nio.file.{Files, Path}

import scala.jdk.CollectionConverters._

import io.prefill.engine.{EngineOptions, LengthPolicy, PromptTemplate}
import io.prefill.model.{TextTokenizer, TinyModelSpec, TinyModelWriter}
import io.prefill.sparse.{HeadPattern, PatternConfig}
import io.prefill.udf.{EngineCache, EngineSpec, PrefillUdf}
import org.apache.spark.sql.{Row, SparkSession}
import org.scalatest.BeforeAndAfterAll
import org.scalatest.funsuite.AnyFunSuite

/**
 * Runs the real job in Spark local mode on a generated tiny model and corpus (2K to 16K tokens),
 * reads the Parquet back and checks every row.
 */
class PrefillJobSuite extends AnyFunSuite with BeforeAndAfterAll {
  private var spark: SparkSession = _
  private var work: Path = _
  private var model: Path = _
  private var corpus: Path = _
  private val lengths = Array(2048, 4096, 16384)
  private val template = "Report:\n{document}\nQuestion: {question}\nAnswer:"

  override def beforeAll(): Unit = {
    work = Files.createTempDirectory("prefill-job-suite")
    model = work.resolve("model")
    TinyModelWriter.write(model, TinyModelSpec.demo(), 11L)
    corpus = work.resolve("corpus.jsonl")
    val tok = TextTokenizer.load(model.resolve("tokenizer.json"))
    try DemoCorpus.write(corpus, tok, lengths, 3L) finally tok.close()
    spark = SparkSession.builder().master("local[2]").appName("prefill-job-suite")
      .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate()
  }

  override def afterAll(): Unit = if (spark != null) spark.stop()

  private def patternsFile(name: String, cfg: PatternConfig): String = {
    val f = work.resolve(name)
    Files.write(f, cfg.toJson.getBytes(StandardCharsets.UTF_8))
    f.toString
  }

  private def options(extra: String*): JobOptions = JobOptions.parse((Seq(
    "--input", corpus.toString, "--model", model.toString, "--template", template,
    "--question-column", "question", "--partitions", "2", "--write-mode", "overwrite") ++ extra).toArray)

  private def readOutput(path: String): Map[String, Row] =
    spark.read.parquet(path).collect().map(r => r.getAs[String]("id") -> r).toMap

  /** The corpus's documents without text: the only ones that must become error rows. */
  private val textless = Set("doc-empty", "doc-null")

  private def errorIds(rows: Map[String, Row]): Set[String] =
    rows.filter { case (_, r) => !r.isNullAt(r.fieldIndex("error")) }.keySet

  private def corpusRows(): Seq[(String, String, String)] =
    spark.read.json(corpus.toString).collect().toSeq.map(r =>
      (r.getAs[String]("id"), r.getAs[String]("text"), r.getAs[String]("question")))

  test("every document gets exactly one row, and each first token equals the engine's direct result") {
    val out = work.resolve("sparse.parquet").toString
    val mixed = java.util.List.of(
      java.util.List.of[HeadPattern](new HeadPattern.VerticalSlash(64, 256), new HeadPattern.AShape(64, 512),
        new HeadPattern.BlockSparse(8), new HeadPattern.VerticalSlash(128, 128)),
      java.util.List.of[HeadPattern](new HeadPattern.BlockSparse(4), new HeadPattern.VerticalSlash(30, 512),
        new HeadPattern.AShape(32, 256), new HeadPattern.AShape(64, 1024)))
    val sparse = patternsFile("mixed.json", new PatternConfig("tiny", 2, 4, 1024, mixed))
    val o = options("--output", out, "--patterns", sparse)
    val summary = PrefillJob.run(spark, o, System.out)
    val rows = readOutput(out)
    val inputs = corpusRows()
    assert(rows.keySet == inputs.map(_._1).toSet, "output ids must equal input ids")
    assert(summary.rows == inputs.size)
    assert(errorIds(rows) == textless, "only the documents without text may fail")

    val spec = new EngineSpec(model.toString, PatternConfig.read(Path.of(sparse)), sparse, "cpu",
      new EngineOptions(5, 0, LengthPolicy.ERROR, PromptTemplate.of(template)))
    val engine = EngineCache.open(spec)
    try {
      for ((id, text, question) <- inputs) {
        val row = rows(id)
        val direct = engine.prefill(text, question)
        assert(direct.ok() == !textless(id), s"$id: ${direct.error()}")
        if (direct.ok()) {
          assert(row.isNullAt(row.fieldIndex("error")), s"$id: unexpected error ${String.valueOf(row.getAs[String]("error"))}")
          assert(row.getAs[Int]("first_token_id") == direct.first().tokenId(), id)
          assert(row.getAs[Int]("prompt_tokens") == direct.promptTokens(), id)
          assert(math.abs(row.getAs[Double]("first_token_logprob") - direct.first().logprob()) < 1e-9, id)
          assert(row.getAs[scala.collection.Seq[Int]]("top_ids") == direct.first().topIds().toSeq, id)
          assert(row.getAs[scala.collection.Seq[Double]]("top_logprobs").zip(direct.first().topLogprobs()).forall { case (a, b) => a == b })
          val density = row.getAs[Double]("attention_density")
          assert(density > 0 && density <= 1.0)
          if (row.getAs[Int]("prompt_tokens") >= 8192) assert(density < 0.5, s"$id density $density should be sparse")
          assert(row.getAs[String]("backend") == "cpu")
        } else {
          assert(row.getAs[String]("error") == direct.error(), id)
        }
      }
    } finally engine.close()

    assert(rows("doc-empty").getAs[String]("error_kind") == "empty_text")
    assert(rows("doc-null").getAs[String]("error_kind") == "empty_text")
    assert(rows("doc-null").isNullAt(rows("doc-null").fieldIndex("first_token_id")))
  }

  test("with budgets covering every entry, sparse equals dense") {
    val denseOut = work.resolve("dense.parquet").toString
    val coverOut = work.resolve("cover.parquet").toString
    val dense = patternsFile("dense.json", PatternConfig.uniform("tiny", 2, 4, 0, new HeadPattern.Dense()))
    val cover = patternsFile("cover.json", PatternConfig.uniform("tiny", 2, 4, 0, new HeadPattern.VerticalSlash(1 << 20, 1 << 20)))
    // Dense attention on the CPU is the slow part of this suite: compare on the first 4096 tokens.
    val cut = Seq("--max-tokens", "4096", "--length-policy", "head", "--no-summary")
    PrefillJob.run(spark, options(Seq("--output", denseOut, "--patterns", dense) ++ cut: _*), System.out)
    PrefillJob.run(spark, options(Seq("--output", coverOut, "--patterns", cover) ++ cut: _*), System.out)
    val d = readOutput(denseOut)
    val c = readOutput(coverOut)
    assert(errorIds(d) == textless && errorIds(c) == textless, "every document with text is compared")
    for ((id, row) <- d if row.isNullAt(row.fieldIndex("error"))) {
      assert(c(id).getAs[Int]("first_token_id") == row.getAs[Int]("first_token_id"), id)
      assert(math.abs(c(id).getAs[Double]("first_token_logprob") - row.getAs[Double]("first_token_logprob")) < 1e-4, id)
      assert(math.abs(c(id).getAs[Double]("attention_density") - 1.0) < 1e-12, id)
      assert(math.abs(row.getAs[Double]("attention_density") - 1.0) < 1e-12, id)
    }
  }

  test("over-long documents: error rows under policy error, head/tail keep the maximum") {
    val errOut = work.resolve("toolong.parquet").toString
    PrefillJob.run(spark, options("--output", errOut, "--max-tokens", "3000", "--no-summary"), System.out)
    val err = readOutput(errOut)
    val long = err.values.filter(r => r.getAs[Int]("prompt_tokens") > 3000)
    assert(long.nonEmpty)
    long.foreach { r =>
      assert(r.getAs[String]("error_kind") == "too_long")
      assert(r.getAs[String]("error").contains("3000"))
    }
    val short = err.values.filter(r => r.getAs[Int]("prompt_tokens") > 0 && r.getAs[Int]("prompt_tokens") <= 3000)
    assert(short.nonEmpty && short.forall(_.isNullAt(err.head._2.fieldIndex("error"))))

    for (policy <- Seq("head", "tail")) {
      val out = work.resolve(s"$policy.parquet").toString
      PrefillJob.run(spark, options("--output", out, "--max-tokens", "3000", "--length-policy", policy, "--no-summary"), System.out)
      val rows = readOutput(out).values.filter(_.isNullAt(err.head._2.fieldIndex("error")))
      val cut = rows.filter(_.getAs[Int]("dropped_tokens") > 0)
      assert(cut.size == long.size, policy)
      cut.foreach(r => assert(r.getAs[Int]("prompt_tokens") - r.getAs[Int]("dropped_tokens") == 3000, policy))
    }
  }

  test("parquet input with custom column names and a folder of text files") {
    val parquetIn = work.resolve("corpus.parquet").toString
    spark.read.json(corpus.toString).withColumnRenamed("id", "doc_id").withColumnRenamed("text", "body")
      .where("doc_id in ('doc-00-2k', 'doc-empty')").write.mode("overwrite").parquet(parquetIn)
    val out = work.resolve("from-parquet.parquet").toString
    PrefillJob.run(spark, JobOptions.parse(Array("--input", parquetIn, "--model", model.toString,
      "--id-column", "doc_id", "--text-column", "body", "--output", out, "--no-summary")), System.out)
    val rows = readOutput(out)
    assert(rows.keySet == Set("doc-00-2k", "doc-empty"))
    assert(rows("doc-00-2k").isNullAt(rows("doc-00-2k").fieldIndex("error")))

    val folder = Files.createDirectories(work.resolve("texts"))
    Files.writeString(folder.resolve("alpha.txt"), "The quarterly report was filed on time. " * 40)
    Files.writeString(folder.resolve("beta.txt"), "Revenue grew in the north region. " * 60)
    val textOut = work.resolve("from-text.parquet").toString
    PrefillJob.run(spark, JobOptions.parse(Array("--input", folder.toString, "--input-format", "text",
      "--model", model.toString, "--output", textOut, "--no-summary")), System.out)
    val textRows = readOutput(textOut)
    assert(textRows.keySet == Set("alpha.txt", "beta.txt"))
    assert(textRows.values.forall(r => r.isNullAt(r.fieldIndex("error")) && r.getAs[Int]("prompt_tokens") > 100))
  }

  test("the SQL function works from SQL once registered") {
    val out = work.resolve("sql-registration.parquet").toString
    PrefillJob.run(spark, options("--output", out, "--max-tokens", "2500", "--no-summary"), System.out)
    val r = spark.sql("select minference_prefill_q('Section 1. The contract was signed by both parties.', " +
      "'Who signed?') as r").select("r.*").collect().head
    assert(r.isNullAt(r.fieldIndex("error")), String.valueOf(r.getAs[String]("error")))
    assert(r.getAs[Int]("prompt_tokens") > 5)
    // The one-argument form has no question, so this template makes it an error row, not a failure.
    val e = spark.sql("select minference_prefill('Some text.') as r").select("r.*").collect().head
    assert(e.getAs[String]("error_kind") == "template")
  }

  test("bad options, model or config fail before any document is processed") {
    val missing = work.resolve("no-such-model").toString
    val e1 = intercept[RuntimeException](PrefillJob.run(spark, JobOptions.parse(Array("--input", corpus.toString,
      "--model", missing, "--output", work.resolve("x.parquet").toString)), System.out))
    assert(e1.getMessage.contains("no-such-model"))

    val wrong = patternsFile("wrong-layers.json", PatternConfig.uniform("tiny", 3, 4, 0, new HeadPattern.Dense()))
    val e2 = intercept[RuntimeException](PrefillJob.run(spark, options("--output", work.resolve("y.parquet").toString,
      "--patterns", wrong), System.out))
    assert(e2.getMessage.contains("wrong-layers.json"))

    val e3 = intercept[IllegalArgumentException](JobOptions.parse(Array("--input", "a", "--output", "b", "--model", "c",
      "--top-k", "zero")))
    assert(e3.getMessage.contains("--top-k"))
    val e4 = intercept[IllegalArgumentException](JobOptions.parse(Array("--input", "a", "--output", "b", "--model", "c",
      "--backend", "tpu")))
    assert(e4.getMessage.contains("tpu"))

    val existing = work.resolve("existing.parquet").toString
    spark.range(1).write.parquet(existing)
    val e5 = intercept[IllegalArgumentException](PrefillJob.run(spark, JobOptions.parse(Array("--input", corpus.toString,
      "--model", model.toString, "--output", existing)), System.out))
    assert(e5.getMessage.contains("already exists"))
    assert(spark.read.parquet(existing).count() == 1, "the existing output is left as it was")
    assert(!Files.exists(work.resolve("x.parquet")) && !Files.exists(work.resolve("y.parquet")))
  }

  test("reproduction options: min sparse length and special tokens from the job; positions and tokens from SQL") {
    val tok = TextTokenizer.load(model.resolve("tokenizer.json"))
    try {
      // a config that is dense below 100000 tokens: --min-sparse-length 0 makes it sparse
      val small = patternsFile("small-budgets.json", PatternConfig.uniform("tiny", 2, 4, 100000,
        new HeadPattern.VerticalSlash(30, 50)))
      val dense = work.resolve("repro-dense.parquet").toString
      val sparse = work.resolve("repro-sparse.parquet").toString
      PrefillJob.run(spark, options("--output", dense, "--patterns", small, "--max-tokens", "4500",
        "--no-summary"), System.out)
      PrefillJob.run(spark, options("--output", sparse, "--patterns", small, "--max-tokens", "4500",
        "--min-sparse-length", "0", "--add-special-tokens", "false", "--no-summary"), System.out)
      val d = readOutput(dense)
      val s = readOutput(sparse)
      val okIds = d.filter(_._2.isNullAt(d.head._2.fieldIndex("error"))).keySet
      assert(okIds.nonEmpty)
      for (id <- okIds) {
        assert(d(id).getAs[Double]("attention_density") == 1.0, id)
        assert(s(id).getAs[Double]("attention_density") < 1.0, id)
        assert(s(id).getAs[Int]("prompt_tokens") == d(id).getAs[Int]("prompt_tokens") - 1, s"$id: no BOS added")
      }

      // SQL functions: a model with 64 positions; prompts beyond them are too_long unless allowed
      val short = work.resolve("short-model")
      val demo = TinyModelSpec.demo()
      TinyModelWriter.write(short, new TinyModelSpec(demo.architecture, demo.hiddenSize, demo.intermediateSize,
        demo.numLayers, demo.numHeads, demo.numKvHeads, demo.headDim, demo.ropeTheta, demo.ropeScaling,
        demo.tieWordEmbeddings, demo.dtype, 64), 11L)
      val text = "word " * 100
      PrefillUdf.register(spark, short.toString, null, "cpu", EngineOptions.defaults())
      val strict = spark.sql(s"select minference_prefill('$text') as r").select("r.*").collect().head
      assert(strict.getAs[String]("error_kind") == "too_long")
      PrefillUdf.register(spark, short.toString, null, "cpu",
        EngineOptions.defaults().withAllowBeyondMaxPositions(true).withAddSpecialTokens(false))
      val allowed = spark.sql(s"select minference_prefill('$text') as r").select("r.*").collect().head
      assert(allowed.isNullAt(allowed.fieldIndex("error")), String.valueOf(allowed.getAs[String]("error")))
      assert(allowed.getAs[Int]("prompt_tokens") == tok.encode(text, false).length)
    } finally tok.close()
  }
}
