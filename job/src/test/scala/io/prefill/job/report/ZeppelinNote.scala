package io.prefill.job.report

import java.nio.file.Path

import scala.jdk.CollectionConverters._

import com.fasterxml.jackson.databind.{JsonNode, ObjectMapper}

/** What the notebook suite reads from a Zeppelin .zpln file: its paragraphs, in order. */
final case class ZeppelinNote(file: Path, name: String, id: String, paragraphs: Seq[ZeppelinNote.Paragraph])

object ZeppelinNote {
  /** A result's chart settings: mode and the columns it plots, as (name, index). */
  final case class Chart(mode: String, columns: Seq[(String, Int)], valueColumns: Seq[String])

  final case class Paragraph(id: String, title: String, interpreter: String, body: String, chart: Option[Chart]) {
    /** Marked by a "-- may be empty" (SQL) or "// may be empty" (Scala) comment line. */
    def mayBeEmpty: Boolean = body.linesIterator.exists(_.trim.matches("(--|//)\\s*may be empty\\b.*"))
    def label: String = if (title.nonEmpty) s"'$title'" else id
  }

  /** Zeppelin's built-in charts. */
  val ChartModes = Set("table", "multiBarChart", "stackedAreaChart", "lineChart", "pieChart", "scatterChart")

  def read(file: Path): ZeppelinNote = {
    val root = new ObjectMapper().readTree(file.toFile)
    def text(n: JsonNode, field: String): String = {
      val v = n.get(field)
      require(v != null && v.isTextual, s"$file: missing text field '$field'")
      v.asText
    }
    require(root.path("paragraphs").isArray, s"$file: no paragraphs array")
    val paragraphs = root.get("paragraphs").elements.asScala.map { p =>
      val (interpreter, body) = splitInterpreter(text(p, "text"))
      Paragraph(text(p, "id"), p.path("title").asText(""), interpreter, body, chart(p.path("config")))
    }.toSeq
    ZeppelinNote(file, text(root, "name"), text(root, "id"), paragraphs)
  }

  /** "%spark.sql(k=v)\nSELECT ..." -> ("spark.sql", "SELECT ..."); Zeppelin's binding line is the first line. */
  def splitInterpreter(text: String): (String, String) = {
    val t = text.stripLeading
    if (!t.startsWith("%")) ("", t)
    else {
      val end = t.indexWhere(c => c.isWhitespace || c == '(')
      val name = t.substring(1, if (end < 0) t.length else end)
      val rest = if (end < 0) "" else t.substring(end)
      val body = if (rest.startsWith("(")) rest.substring(rest.indexOf(')') + 1) else rest
      (name, body)
    }
  }

  private def chart(config: JsonNode): Option[Chart] = {
    val graph = config.path("results").path("0").path("graph")
    if (graph.isMissingNode) None
    else {
      def cols(node: JsonNode): Seq[(String, Int)] =
        if (node.isArray) node.elements.asScala.map(c => (c.path("name").asText, c.path("index").asInt)).toSeq
        else if (node.isObject && node.has("name")) Seq((node.path("name").asText, node.path("index").asInt))
        else Seq.empty
      val scatter = graph.path("setting").path("scatterChart")
      val scatterCols = Seq("xAxis", "yAxis", "group", "size").flatMap(a => cols(scatter.path(a)))
      val values = cols(graph.path("values")).map(_._1) ++ Seq("xAxis", "yAxis").flatMap(a => cols(scatter.path(a))).map(_._1)
      Some(Chart(graph.path("mode").asText, cols(graph.path("keys")) ++ cols(graph.path("groups")) ++
        cols(graph.path("values")) ++ scatterCols, values))
    }
  }
}
