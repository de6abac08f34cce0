package io.prefill.job

import java.nio.file.{Files, Path}
import java.util.concurrent.atomic.AtomicInteger

import org.apache.hadoop.mapreduce.{JobContext, TaskAttemptContext}
import org.apache.spark.SparkEnv
import org.apache.spark.internal.io.FileCommitProtocol.TaskCommitMessage
import org.apache.spark.sql.execution.datasources.SQLHadoopMapReduceCommitProtocol

/**
 * Test-only: Spark's own commit protocol, except that at a chosen commit it creates a marker file
 * and stops there for good, so that a test can kill the driver (SIGKILL, from outside) at a known
 * moment. {@value StallingCommitProtocol.AT} = "task:N" stops before the N-th task commit of the
 * JVM (a job in the middle of its work), "job:N" before the N-th job commit (every task of that
 * write finished, nothing of it committed). {@value StallingCommitProtocol.MARKER} names the marker
 * file. Local mode runs tasks in the driver's JVM, so both counters live in one process.
 */
class StallingCommitProtocol(jobId: String, path: String, dynamicPartitionOverwrite: Boolean)
    extends SQLHadoopMapReduceCommitProtocol(jobId, path, dynamicPartitionOverwrite) {

  override def commitTask(taskContext: TaskAttemptContext): TaskCommitMessage = {
    StallingCommitProtocol.maybeStall("task", StallingCommitProtocol.tasks)
    super.commitTask(taskContext)
  }

  override def commitJob(jobContext: JobContext, taskCommits: Seq[TaskCommitMessage]): Unit = {
    StallingCommitProtocol.maybeStall("job", StallingCommitProtocol.jobs)
    super.commitJob(jobContext, taskCommits)
  }
}

object StallingCommitProtocol {
  final val AT = "spark.test.stallCommitAt"
  final val MARKER = "spark.test.stallMarker"
  private val tasks = new AtomicInteger()
  private val jobs = new AtomicInteger()

  private def maybeStall(kind: String, counter: AtomicInteger): Unit = {
    val n = counter.incrementAndGet()
    val conf = SparkEnv.get.conf
    if (conf.getOption(AT).contains(s"$kind:$n")) {
      Files.writeString(Path.of(conf.get(MARKER)), s"$kind:$n")
      while (true) Thread.sleep(60000)
    }
  }
}
