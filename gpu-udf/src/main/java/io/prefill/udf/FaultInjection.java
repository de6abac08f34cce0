package io.prefill.udf;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;

/**
 * Test-only fault injection, off unless {@value #CONF} is set: the first attempt of the named
 * partition fails after pre-filling its first document, so tests can show that Spark's retry and
 * output commit protocol leave every document exactly once in the output.
 */
public final class FaultInjection {
    public static final String CONF = "spark.prefill.test.failFirstAttemptOfPartition";

    private static final Set<Long> FIRST_ROW_DONE = ConcurrentHashMap.newKeySet();

    private FaultInjection() { }

    static void maybeFail() {
        SparkEnv env = SparkEnv.get();
        TaskContext task = TaskContext.get();
        if (env == null || task == null) return;
        String partition = env.conf().get(CONF, null);
        if (partition == null || task.attemptNumber() > 0 || task.partitionId() != Integer.parseInt(partition)) return;
        if (!FIRST_ROW_DONE.add(task.taskAttemptId())) {
            throw new IllegalStateException("injected failure (" + CONF + "=" + partition + ") on attempt 0 of partition "
                    + partition);
        }
    }
}
