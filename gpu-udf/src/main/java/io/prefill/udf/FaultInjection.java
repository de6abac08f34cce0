package io.prefill.udf;

import io.prefill.settings.PrefillSettings;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;

/**
 * Test-only fault injection, off unless {@link PrefillSettings#FAIL_FIRST_ATTEMPT_OF_PARTITION} is set: the first attempt of the named
 * partition fails after pre-filling its first document, so tests can show that Spark's retry and
 * output commit protocol leave every document exactly once in the output.
 */
public final class FaultInjection {
    private static final Set<Long> FIRST_ROW_DONE = ConcurrentHashMap.newKeySet();

    private FaultInjection() { }

    static void maybeFail() {
        SparkEnv env = SparkEnv.get();
        TaskContext task = TaskContext.get();
        if (env == null || task == null) return;
        Integer partition = PrefillSettings.FAIL_FIRST_ATTEMPT_OF_PARTITION.get(env.conf());
        if (partition == null || task.attemptNumber() > 0 || task.partitionId() != partition) return;
        if (!FIRST_ROW_DONE.add(task.taskAttemptId())) {
            throw new IllegalStateException("injected failure (" + PrefillSettings.FAIL_FIRST_ATTEMPT_OF_PARTITION.key()
                    + "=" + partition + ") on attempt 0 of partition " + partition);
        }
    }
}
