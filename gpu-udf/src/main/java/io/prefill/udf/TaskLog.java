package io.prefill.udf;

import io.prefill.engine.DocumentResult;
import io.prefill.settings.PrefillSettings;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.util.TaskCompletionListener;
import org.apache.spark.util.TaskFailureListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Option;

import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What a task did with the pre-fill engine, logged at INFO by {@code io.prefill.udf.TaskLog}: with Spark's
 * default logging, on the executor's stderr (the worker's {@code stderr} file of the executor); in local
 * mode on the driver's, with {@code --log-level info}:
 * <pre>
 * [prefill-task] executor 0, stage 3.0, partition 1, task 17 attempt 0: cuda backend on GPU 0 from Spark task
 *   resources gpu=[0]; engine built by this task in 12.31 s        (or: engine reused, built by task 15 in 12.31 s)
 * [prefill-doc] executor 0, stage 3.0, partition 1, task 17 attempt 0: 131072 tokens, pre-fill 4812.3 ms, in the
 *   task 4901.2 ms, ok
 * [prefill-task] executor 0, stage 3.0, partition 1, task 17 attempt 0 succeeded: 2 documents, 196608 tokens,
 *   pre-fill 7012.0 ms of 7230.4 ms from its first document to its end
 * </pre>
 * The first and last lines come once per task attempt that pre-fills; the per-document lines only with
 * {@code spark.prefill.logDocuments=true} ({@link PrefillSettings#LOG_DOCUMENTS}). A document's time "in the task" is the SQL function's call: tokenizing,
 * waiting for a GPU shared with other tasks, the pre-fill and decoding the first token.
 */
final class TaskLog {
    private static final Logger LOG = LoggerFactory.getLogger(TaskLog.class);
    private static final Map<Long, Task> TASKS = new ConcurrentHashMap<>();

    private static final class Task {
        final String name;
        final long firstDocumentNanos = System.nanoTime();
        long documents;
        long tokens;
        double prefillMillis;
        volatile boolean failed;

        Task(String name) { this.name = name; }
    }

    private TaskLog() { }

    /**
     * Called before each document: on a task attempt's first, prints where it runs and which engine it
     * uses, and registers the line printed when the attempt ends. Outside a task it does nothing.
     */
    static void engineInUse(String backend, GpuBinding.Binding binding, EngineCache.Built built) {
        TaskContext task = TaskContext.get();
        if (task == null || TASKS.containsKey(task.taskAttemptId())) return;
        Task state = new Task(taskName(task));
        if (TASKS.putIfAbsent(task.taskAttemptId(), state) != null) return;
        task.addTaskFailureListener((TaskFailureListener) (ctx, error) -> state.failed = true);
        task.addTaskCompletionListener((TaskCompletionListener) ctx -> {
            TASKS.remove(ctx.taskAttemptId());
            LOG.info(taskEnd(state.name, !state.failed && !ctx.isInterrupted(), state.documents, state.tokens,
                    state.prefillMillis, (System.nanoTime() - state.firstDocumentNanos) / 1e6));
        });
        LOG.info(taskStart(state.name, backend, binding, resources(task), built, task.taskAttemptId()));
    }

    /** Called after each document with the wall time of its SQL function call. */
    static void document(DocumentResult r, double wallMillis) {
        TaskContext task = TaskContext.get();
        if (task == null) return;
        Task state = TASKS.get(task.taskAttemptId());
        if (state != null) {
            synchronized (state) {
                state.documents++;
                state.tokens += r.promptTokens() - r.droppedTokens();
                state.prefillMillis += r.prefillMillis();
            }
        }
        SparkEnv env = SparkEnv.get();
        if (PrefillSettings.LOG_DOCUMENTS.get(env == null ? null : env.conf())) {
            LOG.info(documentLine(taskName(task), r, wallMillis));
        }
    }

    static String taskStart(String task, String backend, GpuBinding.Binding binding, String resources,
                            EngineCache.Built built, long attemptId) {
        String where = binding.device() < 0
                ? backend + " backend (Spark task resources " + resources + ")"
                : backend + " backend on GPU " + binding.device() + " from " + binding.source();
        String engine;
        if (built == null) engine = "engine not built";
        else if (built.byTaskAttempt() == attemptId) engine = String.format(Locale.ROOT, "engine built by this task in %.2f s", built.seconds());
        else engine = String.format(Locale.ROOT, "engine reused, built by %s in %.2f s",
                built.byTaskAttempt() < 0 ? "the driver" : "task " + built.byTaskAttempt(), built.seconds());
        return "[prefill-task] " + task + ": " + where + "; " + engine;
    }

    static String documentLine(String task, DocumentResult r, double wallMillis) {
        return String.format(Locale.ROOT, "[prefill-doc] %s: %d tokens, pre-fill %.1f ms, in the task %.1f ms, %s",
                task, r.promptTokens() - r.droppedTokens(), r.prefillMillis(), wallMillis,
                r.ok() ? "ok" : r.errorKind());
    }

    static String taskEnd(String task, boolean succeeded, long documents, long tokens, double prefillMillis,
                          double wallMillis) {
        return String.format(Locale.ROOT, "[prefill-task] %s %s: %d documents, %d tokens, pre-fill %.1f ms of %.1f ms "
                + "from its first document to its end", task, succeeded ? "succeeded" : "failed", documents, tokens,
                prefillMillis, wallMillis);
    }

    private static String taskName(TaskContext t) {
        SparkEnv env = SparkEnv.get();
        return String.format(Locale.ROOT, "executor %s, stage %d.%d, partition %d, task %d attempt %d",
                env == null ? "?" : env.executorId(), t.stageId(), t.stageAttemptNumber(), t.partitionId(),
                t.taskAttemptId(), t.attemptNumber());
    }

    private static String resources(TaskContext t) {
        Option<ResourceInformation> gpu = t.resources().get(GpuBinding.RESOURCE);
        return gpu.isEmpty() ? "none" : "gpu=" + Arrays.toString(gpu.get().addresses());
    }
}
