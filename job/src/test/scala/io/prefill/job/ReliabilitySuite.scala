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

  test("id and text columns must be strings; binary text only when asked, invalid UTF-8 an error row") {
    def parquet(name: String, schema: StructType, values: Seq[Row]): String = {
      val p = work.resolve("types").resolve(name).toString
      spark.createDataFrame(values.asJava, schema).write.parquet(p)
      p
    }
    def field(name: String, t: org.apache.spark.sql.types.DataType) = StructField(name, t, nullable = true)
    val longText = parquet("long-text.parquet", StructType(Seq(field("id", DataTypes.StringType), field("text", DataTypes.LongType))),
      Seq(Row("a", 5L)))
    val listText = parquet("list-text.parquet", StructType(Seq(field("id", DataTypes.StringType),
      field("text", DataTypes.createArrayType(DataTypes.StringType)))), Seq(Row("a", Seq("hello", "world"))))
    val structText = parquet("struct-text.parquet", StructType(Seq(field("id", DataTypes.StringType),
      field("text", StructType(Seq(field("x", DataTypes.StringType)))))), Seq(Row("a", Row("x"))))
    val doubleId = parquet("double-id.parquet", StructType(Seq(field("id", DataTypes.DoubleType), field("text", DataTypes.StringType))),
      Seq(Row(Double.NaN, text(1))))
    for ((input, column, typeName) <- Seq((longText, "text", "bigint"), (listText, "text", "array<string>"),
      (structText, "text", "struct<x:string>"), (doubleId, "id", "double"))) {
      val e = intercept[IllegalArgumentException](run(input, work.resolve("types-out").toString))
      assert(e.getMessage.contains(s"column '$column'") && e.getMessage.contains(typeName), e.getMessage)
    }
    assert(!Files.exists(work.resolve("types-out")))

    val invalid = Array[Byte](0x48, 0x69, 0xC3.toByte, 0x28, 0x20, 0xFF.toByte)
    val binary = parquet("binary-text.parquet", StructType(Seq(field("id", DataTypes.StringType), field("text", DataTypes.BinaryType))),
      Seq(Row("good", text(3).getBytes(StandardCharsets.UTF_8)), Row("bad", invalid)))
    val e = intercept[IllegalArgumentException](run(binary, work.resolve("binary-out").toString))
    assert(e.getMessage.contains("column 'text'") && e.getMessage.contains("binary") && e.getMessage.contains("--binary-text"),
      e.getMessage)
    val out = work.resolve("binary-out").toString
    val summary = run(binary, out, "--binary-text")
    val r = rows(out)
    assert(r("good").isNullAt(r("good").fieldIndex("error")), r("good"))
    assert(kind(r("bad")) == "unparseable" && r("bad").getAs[String]("error").contains("UTF-8"), r("bad"))
    assert(summary.errors == 1 && printed(summary).contains("1 unparseable"), printed(summary))
  }

  test("text folders: only the chosen extensions are read, and an empty file is an empty_text row") {
    val folder = Files.createDirectories(work.resolve("texts"))
    Files.writeString(folder.resolve("alpha.txt"), text(1))
    Files.write(folder.resolve("empty.txt"), Array.emptyByteArray)
    Files.writeString(folder.resolve("notes.md"), text(2))
    Files.writeString(folder.resolve("README.md"), "# Corpus\nHow these files were collected.")
    val out = work.resolve("texts-out").toString
    run(folder.toString, out, "--input-format", "text")
    val r = rows(out)
    assert(r.keySet == Set("alpha.txt", "empty.txt"))
    assert(r("alpha.txt").isNullAt(r("alpha.txt").fieldIndex("error")))
    assert(kind(r("empty.txt")) == "empty_text")

    val both = work.resolve("texts-md-out").toString
    run(folder.toString, both, "--input-format", "text", "--text-extensions", "txt,md")
    assert(rows(both).keySet == Set("alpha.txt", "empty.txt", "notes.md", "README.md"))
  }

  test("unparseable JSON lines are error rows naming file and line, counted in the summary") {
    val f = work.resolve("damaged.jsonl")
    val nul = "{\"id\": \"nul\", \"text\": \"before\u0000after\"}"
    val lines: Seq[Array[Byte]] = Seq(
      doc("a", text(1)).getBytes(StandardCharsets.UTF_8),
      "{\"id\": \"latin1\", \"text\": \"caf".getBytes(StandardCharsets.UTF_8) ++ Array(0xE9.toByte) ++ "\"}".getBytes(StandardCharsets.UTF_8),
      nul.getBytes(StandardCharsets.UTF_8),
      "[1, 2, 3]".getBytes(StandardCharsets.UTF_8),
      "not json at all".getBytes(StandardCharsets.UTF_8),
      Array.emptyByteArray,
      (doc("b", text(2)) + " trailing").getBytes(StandardCharsets.UTF_8),
      doc("c", text(3)).getBytes(StandardCharsets.UTF_8))
    Files.write(f, lines.reduce((a, b) => a ++ "\n".getBytes(StandardCharsets.UTF_8) ++ b))
    val out = work.resolve("damaged-out").toString
    val summary = run(f.toString, out)
    val r = rows(out)
    assert(r("a").isNullAt(r("a").fieldIndex("error")) && r("c").isNullAt(r("c").fieldIndex("error")))
    val bad = r.values.filter(kind(_) == "unparseable").toSeq
    val badLines = bad.map(_.getAs[String]("id")).map(id => id.substring(id.lastIndexOf(':') + 1).toInt).toSet
    assert(badLines == Set(2, 3, 4, 5, 7), bad.map(_.getAs[String]("error")).mkString("\n"))
    bad.foreach { row =>
      val line = row.getAs[String]("id").substring(row.getAs[String]("id").lastIndexOf(':') + 1)
      assert(row.getAs[String]("error").contains("damaged.jsonl") && row.getAs[String]("error").contains(s"line $line"),
        row.getAs[String]("error"))
    }
    assert(r.size == 7, "one row per non-blank line")
    assert(summary.errors == 5 && printed(summary).contains("5 unparseable"), printed(summary))
  }

  test("resume over an existing empty output, or one holding only a crashed job's attempt files, starts fresh") {
    val corpus = jsonl("fresh.jsonl", (1 to 4).map(i => doc(s"f$i", text(i))))
    val empty = Files.createDirectories(work.resolve("fresh-empty"))
    run(corpus.toString, empty.toString, "--write-mode", "resume")
    assert(rows(empty.toString).keySet == (1 to 4).map(i => s"f$i").toSet)

    // what a driver killed before its first commit leaves: uncommitted task output under _temporary
    val crashed = work.resolve("fresh-crashed")
    val attempt = Files.createDirectories(crashed.resolve("_temporary/0/task_202401010000_0001_m_000000"))
    Files.copy(Files.list(empty).iterator().asScala.find(_.toString.endsWith(".parquet")).get, attempt.resolve("part-00000.parquet"))
    run(corpus.toString, crashed.toString, "--write-mode", "resume")
    assert(rows(crashed.toString).keySet == (1 to 4).map(i => s"f$i").toSet)
    assert(!Files.exists(crashed.resolve("_temporary")))
  }

  test("--mode both in waves: each output has every document once and is marked done at the end") {
    val corpus = jsonl("both-waves.jsonl", (1 to 6).map(i => doc(s"b$i", text(i))))
    val out = work.resolve("both-waves").toString
    val buffer = new java.io.ByteArrayOutputStream()
    PrefillJob.run(spark, job(corpus.toString, out, "--mode", "both", "--partitions", "6", "--wave-partitions", "2"),
      new java.io.PrintStream(buffer, true, StandardCharsets.UTF_8))
    val log = buffer.toString(StandardCharsets.UTF_8)
    // a wave's task i pre-fills planned partition (wave start + i): progress counts all six
    assert(log.contains("wave 3/3 committed") && log.contains("partition 6/6 done: 6 documents"), log)
    val ids = (1 to 6).map(i => s"b$i").toSet
    assert(rows(out).keySet == ids)
    val kv = spark.read.parquet(JobOptions.defaultKvOutput(out))
    assert(kv.select("id").distinct().collect().map(_.getString(0)).toSet == ids)
    assert(kv.groupBy("id", "layer").count().filter("count > 1").count() == 0, "one KV row per document and layer")
    assert(Files.exists(Path.of(out, "_SUCCESS")) && Files.exists(Path.of(JobOptions.defaultKvOutput(out), "_SUCCESS")))
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

  /**
   * Starts PrefillJob.main in a child JVM (a real driver, local mode) whose commit protocol stops at
   * `stallAt`; once it has stopped there, kills it with SIGKILL, as a dead driver machine would.
   */
  private def killedAt(stallAt: String, args: Seq[String], log: Path): Unit = {
    val marker = work.resolve(s"stalled-${stallAt.replace(':', '-')}")
    val java = Path.of(System.getProperty("java.home"), "bin", "java").toString
    val jvmOptions = ManagementFactory.getRuntimeMXBean.getInputArguments.asScala.filter(a =>
      a.startsWith("--add-opens") || a.startsWith("-XX:+IgnoreUnrecognizedVMOptions") || a.startsWith("-Djdk.reflect")
        || a.startsWith("-Dio.netty"))
    val command = Seq(java, "-Xmx1g") ++ jvmOptions ++ Seq("-cp", System.getProperty("java.class.path"),
      classOf[PrefillJob].getName) ++ args ++ Seq(
      "--conf", "spark.sql.sources.commitProtocolClass=" + classOf[StallingCommitProtocol].getName,
      "--conf", s"${StallingCommitProtocol.AT}=$stallAt", "--conf", s"${StallingCommitProtocol.MARKER}=$marker")
    val p = new ProcessBuilder(command.asJava).redirectErrorStream(true).redirectOutput(log.toFile).start()
    try {
      val deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(4)
      while (!Files.exists(marker) && p.isAlive && System.nanoTime() < deadline) Thread.sleep(50)
      assert(Files.exists(marker), s"the child job never reached $stallAt:\n" + Files.readString(log))
    } finally {
      p.destroyForcibly()
      assert(p.waitFor(1, TimeUnit.MINUTES), "the killed child did not end")
    }
  }

  test("a driver killed mid-job or before its last commit loses at most a wave; resume gives exactly-once output identical to an uninterrupted run") {
    val corpus = jsonl("crash.jsonl", (1 to 8).map(i => doc(f"c$i%02d", text(i, 40 + 10 * i))))
    val options = Seq("--input", corpus.toString, "--model", model.toString, "--partitions", "8",
      "--wave-partitions", "2", "--no-summary")
    val reference = work.resolve("crash-reference").toString
    PrefillJob.run(spark, JobOptions.parse((options ++ Seq("--output", reference)).toArray), System.out)
    val expected = rows(reference)
    assert(expected.size == 8 && expected.values.forall(r => r.isNullAt(r.fieldIndex("error_kind"))))

    // mid-job: the first wave committed, the driver dies as the second wave's tasks finish;
    // before the last commit: every document pre-filled, the driver dies before the fourth wave's commit
    for ((stallAt, committed) <- Seq(("task:3", 2), ("job:4", 6))) {
      val out = work.resolve(s"crash-${stallAt.replace(':', '-')}")
      killedAt(stallAt, options ++ Seq("--output", out.toString, "--master", "local[2]",
        "--conf", "spark.ui.enabled=false"), work.resolve(s"crash-${stallAt.replace(':', '-')}.log"))
      assert(Files.exists(out.resolve("_temporary")), "the killed job left its attempt files")
      assert(!Files.exists(out.resolve("_SUCCESS")), "no success marker on an unfinished output")
      val survived = spark.read.parquet(out.toString).select("id", "prefill_ms").collect()
        .map(r => r.getString(0) -> r.getDouble(1)).toMap
      assert(survived.size == committed, s"$stallAt: the committed waves survive, each document once")

      val summary = PrefillJob.run(spark, JobOptions.parse((options ++ Seq("--output", out.toString,
        "--write-mode", "resume")).toArray), System.out)
      assert(summary.rows == 8)
      assert(!Files.exists(out.resolve("_temporary")), "resume removed the dead job's attempt files")
      assert(Files.exists(out.resolve("_SUCCESS")), "the resumed job marks the whole output done")
      val resumed = rows(out.toString)
      assertSameResults(expected, resumed, stallAt)
      for ((id, ms) <- survived) assert(resumed(id).getAs[Double]("prefill_ms") == ms, s"$stallAt: $id was kept, not redone")
    }
  }
}
