package io.prefill.job.report

import java.io.{PrintWriter, StringWriter}
import java.nio.file.{Files, Path}

import scala.jdk.CollectionConverters._
import scala.tools.nsc.Settings
import scala.tools.nsc.interpreter.{IMain, Results}
import scala.tools.nsc.interpreter.shell.ReplReporterImpl

import org.apache.spark.sql.{DataFrame, SparkSession}
import org.apache.spark.sql.types.NumericType
import org.scalatest.BeforeAndAfterAll
import org.scalatest.funsuite.AnyFunSuite

/**
 * Runs every Zeppelin note in notebooks/ the way Zeppelin would, against a real job output: dynamic
 * forms get the output's path and the demo pattern config, %spark.sql paragraphs run statement by
 * statement, %spark paragraphs run in an embedded Scala interpreter with `spark` and a stub `z`.
 * A paragraph fails the note if it throws, returns no rows without a "may be empty" mark, or has a
 * chart whose columns are not the columns its query returns.
 */
class NotebookSuite extends AnyFunSuite with BeforeAndAfterAll {
  private lazy val notebooks: Path = ReportTestOutput.repoFile("notebooks")
  private lazy val notes: Seq[Path] =
    Files.list(notebooks).iterator.asScala.filter(_.toString.endsWith(".zpln")).toSeq.sortBy(_.toString)
  private var spark: SparkSession = _
  private var forms: Map[String, String] = _

  override def beforeAll(): Unit = {
    spark = ReportTestOutput.session()
    val output = ReportTestOutput.get(spark)
    forms = Map("output" -> output.parquet, "patterns" -> output.patterns, "kv_output" -> output.kv)
  }

  override def afterAll(): Unit = if (spark != null) spark.stop()

  test("notebooks/ holds the output and pattern notes, each importable: a name, an id, paragraphs with ids") {
    val names = notes.map(ZeppelinNote.read(_).name)
    assert(names.contains("Pre-fill output") && names.contains("Pattern config") && names.contains("KV summaries"), names)
    for (n <- notes.map(ZeppelinNote.read)) {
      assert(n.id.matches("[A-Z0-9]{9}"), s"${n.file}: Zeppelin note ids are 9 upper-case characters")
      assert(n.file.getFileName.toString.endsWith("_" + n.id + ".zpln"), s"${n.file}: Zeppelin names files <name>_<id>.zpln")
      assert(n.paragraphs.map(_.id).distinct.size == n.paragraphs.size, s"${n.file}: duplicate paragraph ids")
    }
  }

  test("SQL paragraphs split at semicolons outside quotes and comments") {
    assert(SqlParagraph.statements("CREATE VIEW v AS SELECT ';' AS a; -- x; y\nSELECT '\\';' FROM v;\n") ==
      Seq("CREATE VIEW v AS SELECT ';' AS a", "SELECT '\\';' FROM v"))
  }

  for (file <- notesAtConstruction()) {
    test(s"every paragraph of ${file.getFileName} runs and returns rows") {
      runNote(ZeppelinNote.read(file))
    }
  }

  /** Registered before beforeAll runs, so found from the working directory here. */
  private def notesAtConstruction(): Seq[Path] = notes

  private def runNote(note: ZeppelinNote): Unit = {
    // A session of its own per note: its temporary views are what the note's paragraphs share.
    val session = spark.newSession()
    lazy val scala = new ScalaParagraphs(session)
    var ran = 0
    for (p <- note.paragraphs) {
      withClue(s"${note.file.getFileName} paragraph ${p.label}: ") {
        p.interpreter match {
          case "md" | "markdown" => assert(p.body.trim.nonEmpty)
          case "spark.sql" | "sql" =>
            val result = SqlParagraph.statements(substituteForms(p.body)).map(session.sql).lastOption
            result.foreach(df => check(p, df))
            ran += 1
          case "spark" =>
            val shown = scala.run(p.body, new ZeppelinContextStub(forms))
            shown.lastOption match {
              case Some(df) => check(p, df)
              case None => assert(p.chart.isEmpty, "has chart settings but shows nothing (z.show)")
            }
            ran += 1
          case other => fail(s"interpreter %$other is not run by this suite; add it here or use %spark.sql / %spark")
        }
      }
    }
    assert(ran > 0, s"${note.file} has no paragraph to run")
  }

  /** Rows where rows are expected, and charts that plot columns the result has (numbers as values). */
  private def check(p: ZeppelinNote.Paragraph, df: DataFrame): Unit = {
    val fields = df.schema.fields
    if (fields.nonEmpty) {
      val rows = df.limit(1000).collect()
      if (!p.mayBeEmpty) assert(rows.nonEmpty, "returned no rows; mark it \"-- may be empty\" if that is legitimate")
    }
    p.chart.foreach { c =>
      assert(ZeppelinNote.ChartModes.contains(c.mode), s"unknown chart mode ${c.mode}")
      for ((name, index) <- c.columns) {
        assert(index < fields.length && fields(index).name == name,
          s"chart column $name at index $index, but the result's columns are ${fields.map(_.name).mkString(", ")}")
      }
      if (c.mode != "table") for (v <- c.valueColumns) {
        assert(fields.find(_.name == v).exists(_.dataType.isInstanceOf[NumericType]), s"chart value $v is not numeric")
      }
    }
  }

  /** Zeppelin's simple dynamic forms: ${name}, ${name=default}, ${name=default,a|b}, and note forms $${...}. */
  private def substituteForms(sql: String): String =
    "\\$?\\$\\{([^}]*)\\}".r.replaceAllIn(sql, m => {
      val spec = m.group(1)
      val name = spec.split("[=,]", 2)(0).replaceFirst("^(checkbox|select):", "").trim
      val value = forms.getOrElse(name, fail(s"dynamic form '$name' has no value in the notebook suite"))
      scala.util.matching.Regex.quoteReplacement(value)
    })

  /** An embedded Scala interpreter with `spark` bound, like Zeppelin's Spark interpreter. */
  private final class ScalaParagraphs(session: SparkSession) {
    private val log = new StringWriter()
    private val intp = {
      val settings = new Settings()
      settings.usejavacp.value = true
      settings.embeddedDefaults(getClass.getClassLoader)
      val i = new IMain(settings, new ReplReporterImpl(settings, new PrintWriter(log)))
      i.beQuietDuring(i.bind("spark", classOf[SparkSession].getName, session))
      i
    }

    def run(code: String, z: ZeppelinContextStub): Seq[DataFrame] = {
      intp.beQuietDuring(intp.bind("z", classOf[ZeppelinContextStub].getName, z))
      log.getBuffer.setLength(0)
      val result = intp.interpret(code)
      assert(result == Results.Success, s"Scala paragraph failed ($result):\n$log")
      z.shown.toSeq
    }
  }
}

/** Splits a %spark.sql paragraph into statements at semicolons outside quotes and comments, as Zeppelin does. */
object SqlParagraph {
  def statements(sql: String): Seq[String] = {
    val out = Seq.newBuilder[String]
    val cur = new StringBuilder
    var i = 0
    var quote: Char = 0
    while (i < sql.length) {
      val c = sql.charAt(i)
      if (quote != 0) {
        cur += c
        if (c == '\\' && i + 1 < sql.length) { cur += sql.charAt(i + 1); i += 1 }
        else if (c == quote) quote = 0
      } else if (c == '-' && sql.startsWith("--", i)) {
        val end = sql.indexOf('\n', i)
        i = (if (end < 0) sql.length else end) - 1
      } else if (c == ';') {
        out += cur.toString; cur.clear()
      } else {
        if (c == '\'' || c == '"' || c == '`') quote = c
        cur += c
      }
      i += 1
    }
    out += cur.toString
    out.result().map(_.trim).filter(_.nonEmpty)
  }
}
