package io.prefill.job.report

import scala.collection.mutable.ArrayBuffer

import org.apache.spark.sql.{DataFrame, Dataset}

/**
 * The part of Zeppelin's `z` that the notes' Scala paragraphs use: dynamic forms answer with the
 * suite's values (a form the suite does not know fails the paragraph), and `show` records what
 * the paragraph displays.
 */
class ZeppelinContextStub(forms: Map[String, String]) {
  val shown: ArrayBuffer[DataFrame] = ArrayBuffer.empty

  def textbox(name: String, defaultValue: String): AnyRef = form(name)
  def textbox(name: String): AnyRef = form(name)
  def show(ds: Dataset[_]): Unit = shown += ds.toDF()
  def show(ds: Dataset[_], maxResult: Int): Unit = shown += ds.toDF().limit(maxResult)

  private def form(name: String): AnyRef =
    forms.getOrElse(name, throw new IllegalArgumentException(s"dynamic form '$name' has no value in the notebook suite"))
}
