package io.prefill.job

import java.nio.file.{Files, Path}
import java.nio.file.attribute.PosixFilePermissions

import io.prefill.model.{TextTokenizer, TinyModelWriter}
import io.prefill.udf.{EngineCache, EngineSpec, GpuBinding}
import org.apache.spark.TaskContext
import org.apache.spark.sql.SparkSession
import org.scalatest.BeforeAndAfterAll
import org.scalatest.funsuite.AnyFunSuite

/**
 * Local mode with the driver's GPUs (what `scripts/submit.sh local` sets up): Spark discovers them for
 * the driver but gives its local tasks no resources, so the binding spreads tasks over the driver's GPUs.
 * Runs without a GPU: nothing here builds a cuda engine.
 */
class LocalGpuBindingSuite extends AnyFunSuite with BeforeAndAfterAll {
  private var spark: SparkSession = _
  private var work: Path = _

  override def beforeAll(): Unit = {
    work = Files.createTempDirectory("prefill-local-gpu-suite")
    val script = work.resolve("discover.sh")
    Files.writeString(script, "#!/usr/bin/env bash\necho '{\"name\": \"gpu\", \"addresses\": [\"0\", \"1\"]}'\n")
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"))
    spark = SparkSession.builder().master("local[4]").appName("prefill-local-gpu-suite")
      .config("spark.ui.enabled", "false")
      .config("spark.driver.resource.gpu.amount", "2")
      .config("spark.driver.resource.gpu.discoveryScript", script.toString)
      .getOrCreate()
  }

  override def afterAll(): Unit = if (spark != null) spark.stop()

  test("the driver discovers its GPUs, local tasks get none from Spark and use the driver's by partition") {
    assert(spark.sparkContext.resources("gpu").addresses.toSeq == Seq("0", "1"))
    val seen = spark.sparkContext.parallelize(0 until 4, 4).mapPartitions { _ =>
      val binding = GpuBinding.bindingForTask(0)
      Iterator((TaskContext.getPartitionId(), TaskContext.get().resources().contains("gpu"), binding.device(),
        binding.source()))
    }.collect().sortBy(_._1)
    assert(seen.map(_._2).forall(!_), "Spark 4.0's local mode assigns no custom resources to tasks")
    assert(seen.map(_._3).toSeq == Seq(0, 1, 0, 1), seen.mkString(", "))
    assert(seen.forall(_._4.contains("local mode")), seen.mkString(", "))
  }

  test("counting tokens for the cost plan of a cuda job builds no cuda engine (no weights go to a GPU)") {
    val model = work.resolve("tiny64")
    TinyModelWriter.write(model, DeploymentCheck.TINY64, 3L)
    val corpus = work.resolve("corpus.jsonl")
    val tok = TextTokenizer.load(model.resolve("tokenizer.json"))
    try DemoCorpus.write(corpus, tok, Array(300, 500, 700), 1L) finally tok.close()
    val options = JobOptions.parse(Array("--input", corpus.toString, "--model", model.toString, "--output",
      work.resolve("out").toString, "--backend", "cuda"))
    val spec = PrefillJob.validate(spark, options)
    val patterns = EngineCache.patternsOf(spec, EngineCache.onDriver(spec).model().config())
    val planned = CostPlanner.plan(spark, CorpusReader.read(spark, options), spec, patterns, 2)
    assert(planned.documents == 5)
    assert(EngineCache.built(spec, 0) == null && EngineCache.built(spec, 1) == null, "no cuda engine on any device")
    assert(EngineCache.built(spec.withBackend("cpu"), -1) != null, "the cpu engine of the model counted the tokens")
  }
}
