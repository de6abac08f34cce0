package io.prefill.job

import java.nio.file.{Files, Path}

import scala.jdk.CollectionConverters._

import org.apache.spark.sql.{Row, SparkSession}
import org.scalatest.BeforeAndAfterAll
import org.scalatest.funsuite.AnyFunSuite

/**
 * The trained needle model (models/needle-llama) through the real job on the cpu backend: every
 * document of the fixture plants one fact at a different depth of a 1K-token haystack, and the first
 * token must be that fact's value, with dense attention and with the model's sparse pattern config
 * (pattern-configs/needle-llama.json, vertical-slash (64, 256), sparse from 512 tokens). A change to
 * the forward pass, the tokenizer, RoPE, grouped-query attention or the sparse planners that loses
 * the needle changes these answers.
 */
class NeedleModelSuite extends AnyFunSuite with BeforeAndAfterAll {
  private val root = Path.of("..").toAbsolutePath.normalize
  private val model = root.resolve("models/needle-llama")
  private val patterns = root.resolve("pattern-configs/needle-llama.json")
  private val aShape = root.resolve("pattern-configs/needle-llama-a-shape.json")
  private val adaptive = root.resolve("pattern-configs/needle-llama-adaptive.json")
  private val corpus = root.resolve("job/src/test/resources/needle/single-needle-1k.jsonl")
  private var spark: SparkSession = _
  private var work: Path = _

  override def beforeAll(): Unit = {
    work = Files.createTempDirectory("needle-model-suite")
    spark = SparkSession.builder().master("local[2]").appName("needle-model-suite")
      .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate()
  }

  override def afterAll(): Unit = if (spark != null) spark.stop()

  private def expected: Map[String, String] =
    spark.read.json(corpus.toString).collect().map(r => r.getAs[String]("id") -> r.getAs[String]("answer")).toMap

  private def run(name: String, extra: String*): Map[String, Row] = {
    val out = work.resolve(name).toString
    val o = JobOptions.parse((Seq("--input", corpus.toString, "--model", model.toString, "--output", out,
      "--backend", "cpu", "--partitions", "2", "--no-summary") ++ extra).toArray)
    PrefillJob.run(spark, o, System.out)
    spark.read.parquet(out).collect().map(r => r.getAs[String]("id") -> r).toMap
  }

  private def assertAnswers(rows: Map[String, Row]): Unit = {
    val want = expected
    assert(rows.keySet == want.keySet)
    for ((id, answer) <- want) {
      val r = rows(id)
      assert(r.isNullAt(r.fieldIndex("error")), s"$id: ${r.getAs[String]("error")}")
      assert(r.getAs[String]("first_token_text").trim == answer,
        s"$id: first token '${r.getAs[String]("first_token_text")}', expected '$answer' " +
          s"(log-prob ${r.getAs[Double]("first_token_logprob")})")
    }
  }

  /** Every row computed a fraction of the attention, and its certificate says every sparse head kept above minKept. */
  private def assertSparseAndCertified(rows: Map[String, Row], minKept: Double): Unit = rows.values.foreach { r =>
    val id = r.getAs[String]("id")
    val d = r.getAs[Double]("attention_density")
    assert(d > 0.0 && d < 0.9, s"$id: density $d is not sparse")
    val kept = r.getAs[Double]("kept_mass_min")
    assert(kept > minKept && kept <= 1.0 + 1e-9, s"$id: kept mass $kept")
    assert(r.getAs[Double]("kept_mass_mean") >= kept)
    assert(r.getAs[String]("kept_mass_worst_head").matches("layer [0-5] head [0-3]"))
  }

  test("dense attention: the first token is the planted value at every depth") {
    val rows = run("dense")
    assertAnswers(rows)
    rows.values.foreach { r =>
      assert(r.getAs[Double]("attention_density") == 1.0)
      assert(r.isNullAt(r.fieldIndex("kept_mass_min")) && r.isNullAt(r.fieldIndex("kept_mass_worst_head")),
        "no head ran sparse: no certificate")
    }
  }

  test("the model's sparse config keeps the answers while computing a fraction of the attention") {
    val rows = run("sparse", "--patterns", patterns.toString)
    assertAnswers(rows)
    assertSparseAndCertified(rows, minKept = 0.8)
  }

  test("adaptive heads, budgets from 95% of the estimated attention mass, keep the answers sparsely") {
    val rows = run("adaptive", "--patterns", adaptive.toString)
    assertAnswers(rows)
    assertSparseAndCertified(rows, minKept = 0.9)
  }

  test("A-shape, which cannot see the middle of the prompt, loses answers: the answers above are evidence") {
    val rows = run("a-shape", "--patterns", aShape.toString)
    val want = expected
    val wrong = want.filter { case (id, answer) => rows(id).getAs[String]("first_token_text").trim != answer }
    assert(wrong.nonEmpty, "every answer survived A-shape (64, 256): the fixture no longer needs the middle of the prompt")
    rows.values.foreach(r => assert(r.getAs[Double]("attention_density") < 0.9))
    // the certificate says so: a blind head keeps little mass, and the lost answers kept the least
    rows.values.foreach(r => assert(r.getAs[Double]("kept_mass_min") < 0.5, r.getAs[String]("id")))
    def mean(id: String) = rows(id).getAs[Double]("kept_mass_mean")
    val right = want.keySet -- wrong.keySet
    assert(right.isEmpty || wrong.keys.map(mean).max < right.map(mean).min,
      s"kept mass of lost answers ${wrong.keys.map(mean)} against kept ones ${right.map(mean)}")
  }

  test("--min-kept-mass sends the heads that lost the fact to dense and the answers come back") {
    val blind = run("a-shape-again", "--patterns", aShape.toString)
    val rows = run("a-shape-certified", "--patterns", aShape.toString, "--min-kept-mass", "0.5")
    assertAnswers(rows)
    for ((id, r) <- rows) {
      assert(r.getAs[Double]("kept_mass_min") >= 0.5, id)
      assert(r.getAs[Int]("dense_fallback_heads") > 0, id)
      assert(blind(id).getAs[Int]("dense_fallback_heads") == 0, id)
      // the extra cost, in attention entries
      assert(r.getAs[Double]("attention_density") > blind(id).getAs[Double]("attention_density"), id)
      assert(r.getAs[Double]("attention_density") < 1.0, s"$id: some heads stayed sparse")
    }
  }
}
