package io.prefill.job

import java.io.{ByteArrayOutputStream, PrintStream}
import java.nio.charset.StandardCharsets
import java.nio.file.{Files, Path}

import com.fasterxml.jackson.databind.ObjectMapper
import io.prefill.cuda.CudaAvailability
import io.prefill.job.cli.{Cli, ClusterException}
import io.prefill.model.{TextTokenizer, TinyModelSpec, TinyModelWriter}
import io.prefill.sparse.{HeadPattern, PatternConfig}
import org.apache.spark.sql.SparkSession
import org.scalatest.BeforeAndAfterAll
import org.scalatest.funsuite.AnyFunSuite

/**
 * What a scheduler and a first-time user can rely on: every failure found before any document runs
 * is one exception of a known kind (hence one exit code and one line), the input is checked and
 * recognised up front, the backend is decided before the corpus is read, and a finished job leaves
 * _prefill_summary.json beside its output with counts that agree with the output.
 */
class JobContractSuite extends AnyFunSuite with BeforeAndAfterAll {
  private var spark: SparkSession = _
  private var work: Path = _
  private var model: Path = _
  private var corpus: Path = _

  override def beforeAll(): Unit = {
    work = Files.createTempDirectory("prefill-contract-suite")
    model = work.resolve("model")
    TinyModelWriter.write(model, TinyModelSpec.demo(), 31L)
    corpus = work.resolve("corpus.jsonl")
    val tok = TextTokenizer.load(model.resolve("tokenizer.json"))
    try DemoCorpus.write(corpus, tok, Array(600, 900, 1300), 9L) finally tok.close()
    spark = SparkSession.builder().master("local[2]").appName("prefill-contract-suite")
      .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate()
  }

  override def afterAll(): Unit = if (spark != null) spark.stop()

  private def options(extra: String*): JobOptions = JobOptions.parse((Seq("--model", model.toString,
    "--partitions", "2", "--no-summary") ++ extra).toArray)

  private def run(o: JobOptions): (JobSummary, String) = {
    val bytes = new ByteArrayOutputStream()
    val log = new PrintStream(bytes, true, StandardCharsets.UTF_8)
    val summary = PrefillJob.run(spark, o, log)
    (summary, bytes.toString(StandardCharsets.UTF_8))
  }

  /** The failure of a job that must stop before any work, its exit code, and that nothing was written. */
  private def failure(o: JobOptions): (Throwable, Int) = {
    val e = intercept[Throwable](run(o))
    assert(!Files.exists(Path.of(o.output())) || o.output().contains("existing"), s"${o.output()} must not be written")
    (e, Cli.exitCode(e))
  }

  test("failures before any work are bad input (exit 3), each with a message naming what is wrong") {
    val (noInput, c1) = failure(options("--input", work.resolve("nope.jsonl").toString,
      "--output", work.resolve("o1").toString))
    assert(c1 == Cli.BAD_INPUT)
    assert(Cli.oneLine(noInput) == s"input ${work.resolve("nope.jsonl")} does not exist")

    val (noModel, c2) = failure(JobOptions.parse(Array("--input", corpus.toString, "--model",
      work.resolve("no-model").toString, "--output", work.resolve("o2").toString)))
    assert(c2 == Cli.BAD_INPUT && Cli.oneLine(noModel).contains("no-model"), Cli.oneLine(noModel))

    val wrong = work.resolve("wrong-layers.json")
    Files.writeString(wrong, PatternConfig.uniform("tiny", 3, 4, 0, new HeadPattern.Dense()).toJson)
    val (mismatch, c3) = failure(options("--input", corpus.toString, "--output", work.resolve("o3").toString,
      "--patterns", wrong.toString))
    assert(c3 == Cli.BAD_INPUT && Cli.oneLine(mismatch).contains("wrong-layers.json"), Cli.oneLine(mismatch))

    val existing = work.resolve("existing").toString
    spark.range(1).write.parquet(existing)
    val (exists, c4) = failure(options("--input", corpus.toString, "--output", existing))
    assert(c4 == Cli.BAD_INPUT)
    assert(Cli.oneLine(exists) == s"output $existing already exists; use --write-mode overwrite (start over) or " +
      "--write-mode resume (skip documents already there), or choose another path")

    // the demo model's head_dim 16 is outside the CUDA kernels: a config problem, found before the cluster is asked
    val (cudaModel, c5) = failure(options("--input", corpus.toString, "--output", work.resolve("o5").toString,
      "--backend", "cuda"))
    assert(c5 == Cli.BAD_INPUT && Cli.oneLine(cudaModel).contains("head_dim 16"), Cli.oneLine(cudaModel))
    for (e <- Seq(noInput, noModel, mismatch, exists, cudaModel)) assert(!Cli.oneLine(e).contains("\n"))
  }

  test("--weights fp8: a shape without 16-byte FP8 rows is refused for cuda before any work (exit 3); the output records the format") {
    val demo = TinyModelSpec.demo()
    val oddRows = work.resolve("fp8-odd-model")  // intermediate_size 264: 16-byte bf16 rows, not E4M3 ones
    TinyModelWriter.write(oddRows, new TinyModelSpec(demo.architecture, 128, 264, 2, 2, 1, 64, demo.ropeTheta,
      demo.ropeScaling, false, demo.dtype, demo.maxPositionEmbeddings), 5L)
    val refusedOut = work.resolve("fp8-cuda-out").toString
    val (refused, code) = failure(JobOptions.parse(Array("--input", corpus.toString, "--model", oddRows.toString,
      "--output", refusedOut, "--backend", "cuda", "--weights", "fp8")))
    assert(code == Cli.BAD_INPUT && Cli.oneLine(refused).contains("multiples of 16"), Cli.oneLine(refused))
    assert(!Files.exists(Path.of(refusedOut)))

    val gpuShaped = work.resolve("fp8-model")
    TinyModelWriter.write(gpuShaped, new TinyModelSpec(demo.architecture, 128, 256, 2, 2, 1, 64, demo.ropeTheta,
      demo.ropeScaling, false, demo.dtype, demo.maxPositionEmbeddings), 5L)
    val out = work.resolve("fp8-out").toString
    val (_, log) = run(JobOptions.parse(Array("--input", corpus.toString, "--model", gpuShaped.toString,
      "--output", out, "--weights", "fp8", "--max-tokens", "300", "--length-policy", "head", "--no-summary")))
    assert(log.contains("[prefill] backend "), log)
    val rows = spark.read.parquet(out)
    assert(rows.select("weights").distinct().collect().map(_.getString(0)).toSeq == Seq("fp8-e4m3"))
    assert(rows.where("error IS NULL").count() > 0)
  }

  test("--backend cuda on a machine without a usable GPU is a cluster failure (exit 4) before the corpus is read") {
    assume(!CudaAvailability.probe().available(), "this machine has a usable GPU")
    val gpuModel = work.resolve("gpu-model")
    val demo = TinyModelSpec.demo()
    TinyModelWriter.write(gpuModel, new TinyModelSpec(demo.architecture, 128, 256, 2, 2, 1, 64, demo.ropeTheta,
      demo.ropeScaling, false, demo.dtype, demo.maxPositionEmbeddings), 5L)
    val out = work.resolve("cuda-out").toString
    val e = intercept[ClusterException](run(JobOptions.parse(Array("--input", corpus.toString, "--model",
      gpuModel.toString, "--output", out, "--backend", "cuda"))))
    assert(Cli.exitCode(e) == Cli.CLUSTER)
    assert(Cli.oneLine(e).startsWith("--backend cuda: no usable GPU on executor "), Cli.oneLine(e))
    assert(Cli.oneLine(e).contains(CudaAvailability.probe().reason()))
    assert(!Files.exists(Path.of(out)))

    // auto: the same model and machine run the cpu backend, and the output says so
    val autoOut = work.resolve("auto-out").toString
    val (_, log) = run(JobOptions.parse(Array("--input", corpus.toString, "--model", gpuModel.toString,
      "--output", autoOut, "--max-tokens", "300", "--length-policy", "head", "--no-summary")))
    assert(log.contains("[prefill] backend cpu (--backend auto: no usable GPU on the executors"), log)
    assert(spark.read.parquet(autoOut).select("backend").distinct().collect().map(_.getString(0)).toSeq == Seq("cpu"))
  }

  /**
   * Runs the job on a folder without --input-format: every document of it pre-filled under the given
   * ids, and the job's own output (Parquet beside its _prefill_summary.json) still recognised as Parquet.
   */
  private def assertFolderRead(folder: Path, outName: String, ids: Set[String]): Unit = {
    val out = work.resolve(outName).toString
    run(options("--input", folder.toString, "--output", out))
    val rows = spark.read.parquet(out).collect()
    assert(rows.map(_.getAs[String]("id")).toSet == ids)
    assert(rows.forall(r => r.isNullAt(r.fieldIndex("error"))))
    assert(InputPaths.recognise(spark.sparkContext.hadoopConfiguration, out) == JobOptions.InputFormat.PARQUET)
  }

  test("a folder of .txt files is read as text without --input-format") {
    val folder = Files.createDirectories(work.resolve("texts"))
    Files.writeString(folder.resolve("alpha.txt"), "The quarterly report was filed on time. " * 20)
    Files.writeString(folder.resolve("beta.txt"), "Revenue grew in the north region. " * 30)
    assertFolderRead(folder, "from-texts", Set("alpha.txt", "beta.txt"))
  }

  test("a folder of .jsonl files is read as JSON lines; a folder mixing formats is refused before any work") {
    val folder = Files.createDirectories(work.resolve("jsonl-folder"))
    Files.writeString(folder.resolve("part-a.jsonl"),
      "{\"id\":\"a1\",\"text\":\"" + "The quarterly report was filed on time. " * 20 + "\"}\n")
    Files.writeString(folder.resolve("part-b.jsonl"),
      "{\"id\":\"b1\",\"text\":\"" + "Revenue grew in the north region. " * 30 + "\"}\n")
    assertFolderRead(folder, "from-jsonl-folder", Set("a1", "b1"))

    Files.writeString(folder.resolve("notes.txt"), "a stray text file")
    val e = intercept[IllegalArgumentException](InputPaths.recognise(spark.sparkContext.hadoopConfiguration, folder.toString))
    assert(e.getMessage.contains("1 text") && e.getMessage.contains("2 jsonl") && e.getMessage.contains("--input-format"),
      e.getMessage)
  }

  test("the run summary beside the output agrees with the output, and the output still reads as Parquet") {
    val out = work.resolve("summarised").toString
    val (summary, log) = run(options("--input", corpus.toString, "--output", out, "--max-tokens", "1000",
      "--length-policy", "tail"))
    val rows = spark.read.parquet(out).collect()
    assert(rows.length == 5, "three documents and the two without text; the summary file is not a row")
    val ok = rows.filter(r => r.isNullAt(r.fieldIndex("error")))
    val prefilled = ok.map(r => r.getAs[Int]("prompt_tokens") - r.getAs[Int]("dropped_tokens")).sum
    val dropped = ok.map(r => r.getAs[Int]("dropped_tokens")).sum
    assert(dropped > 0, "the 1300-token document is cut to 1000")

    val file = Path.of(out, RunSummary.FILE)
    assert(log.contains(s"[prefill] run summary: "), log)
    val json = new ObjectMapper().readTree(file.toFile)
    assert(json.get("format").asInt == RunSummary.FORMAT)
    assert(json.get("spark_application_id").asText == spark.sparkContext.applicationId)
    assert(json.get("backend").asText == "cpu")
    assert(json.get("backend_reason").asText.contains("head_dim 16"))
    assert(json.get("model").get("identity").asText.startsWith("model@"))
    assert(json.get("options").get("input").asText == corpus.toString)
    assert(json.get("options").get("length_policy").asText == "tail")
    assert(json.get("options").get("backend").asText == "auto")
    val output = json.get("output")
    assert(output.get("documents").asLong == 5 && output.get("errors").asLong == 2)
    assert(output.get("errors_by_kind").get("empty_text").asLong == 2)
    assert(output.get("errors_by_kind").size == 1)
    assert(output.get("prefilled_tokens").asLong == prefilled)
    assert(output.get("dropped_tokens").asLong == dropped)
    val thisRun = json.get("run")
    assert(thisRun.get("documents").asLong == 5)
    assert(thisRun.get("prefilled_tokens").asLong == prefilled, "one token count: after the length policy")
    assert(thisRun.get("dropped_tokens").asLong == dropped)
    assert(thisRun.get("prefill_wall_seconds").asDouble > 0 && thisRun.get("prefill_seconds").asDouble > 0)
    assert(thisRun.get("wall_seconds").asDouble >= thisRun.get("prefill_wall_seconds").asDouble)
    assert(thisRun.get("tokens_per_second").asDouble > 0)

    // the same count in the final line and the progress lines
    assert(summary.tokens == prefilled && summary.droppedTokens == dropped)
    val printed = new ByteArrayOutputStream()
    summary.print(new PrintStream(printed, true, StandardCharsets.UTF_8))
    val last = printed.toString(StandardCharsets.UTF_8).trim.linesIterator.toSeq.last
    assert(last.contains(f"(2 errors: 2 empty_text), $prefilled%,d tokens pre-filled ($dropped%,d more cut by " +
      "--length-policy)"), last)
    val progress = log.linesIterator.filter(_.startsWith("[prefill] partition 2/2 done")).toSeq
    assert(progress.size == 1 && progress.head.contains(f"$prefilled%,d tokens"), log)
    assert(!log.contains("Infinity"), log)
  }

  test("--fail-on-document-errors turns error rows into exit code 5; without it the job exits 0") {
    val o = options("--input", corpus.toString, "--output", work.resolve("errors-flag").toString, "--max-tokens", "700")
    val (summary, _) = run(o)
    assert(summary.errors > 0)
    assert(PrefillJob.exitCode(summary, o) == Cli.OK)
    val strict = JobOptions.parse(Array("--input", "i", "--output", "o", "--model", "m", "--fail-on-document-errors"))
    assert(PrefillJob.exitCode(summary, strict) == Cli.DOCUMENT_ERRORS)
    val clean = new JobSummary(summary.output, summary.rows, 0, java.util.Map.of(), summary.tokens,
      summary.droppedTokens, summary.seconds, summary.sample)
    assert(PrefillJob.exitCode(clean, strict) == Cli.OK)
  }
}
