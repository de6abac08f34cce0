package io.prefill.job

import java.util.concurrent.atomic.AtomicInteger

import org.apache.hadoop.mapreduce.{JobContext, TaskAttemptContext}
import org.apache.spark.SparkEnv
import org.apache.spark.internal.io.FileCommitProtocol.TaskCommitMessage
import org.apache.spark.sql.execution.datasources.SQLHadoopMapReduceCommitProtocol

/**
 * Test-only: Spark's own commit protocol, except that the JVM halts (as under kill -9: no shutdown
 * hooks, no cleanup) at a chosen commit, so a test can kill a real job's driver at a known moment.
 * {@value HaltingCommitProtocol.CONF} = "task:N" halts before the N-th task commit of the JVM (a job
 * in the middle of its work), "job:N" before the N-th job commit (every task of that write done).
 * Local mode runs tasks in the driver's JVM, so both counters live in one process.
 */
class HaltingCommitProtocol(jobId: String, path: String, dynamicPartitionOverwrite: Boolean)
    extends SQLHadoopMapReduceCommitProtocol(jobId, path, dynamicPartitionOverwrite) {

  override def commitTask(taskContext: TaskAttemptContext): TaskCommitMessage = {
    HaltingCommitProtocol.maybeHalt("task", HaltingCommitProtocol.tasks)
    super.commitTask(taskContext)
  }

  override def commitJob(jobContext: JobContext, taskCommits: Seq[TaskCommitMessage]): Unit = {
    HaltingCommitProtocol.maybeHalt("job", HaltingCommitProtocol.jobs)
    super.commitJob(jobContext, taskCommits)
  }
}

object HaltingCommitProtocol {
  final val CONF = "spark.prefill.test.haltAt"
  /** The exit status of a halted JVM. */
  final val EXIT_CODE = 86
  private val tasks = new AtomicInteger()
  private val jobs = new AtomicInteger()

  private def maybeHalt(kind: String, counter: AtomicInteger): Unit = {
    val n = counter.incrementAndGet()
    val at = Option(SparkEnv.get).flatMap(_.conf.getOption(CONF))
    if (at.contains(s"$kind:$n")) {
      System.err.println(s"[test] halting the JVM before $kind commit $n")
      Runtime.getRuntime.halt(EXIT_CODE)
    }
  }
}
