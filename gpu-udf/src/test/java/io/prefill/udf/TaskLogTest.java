package io.prefill.udf;

import io.prefill.engine.AttentionStats;
import io.prefill.engine.DocumentResult;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class TaskLogTest {
    private static final String TASK = "executor 0, stage 3.0, partition 1, task 17 attempt 0";

    @Test
    void theFirstLineSaysWhichGpuAndWhetherTheTaskBuiltTheEngine() {
        GpuBinding.Binding gpu = new GpuBinding.Binding(0, "Spark task resources gpu=[0]");
        assertEquals("[prefill-task] " + TASK + ": cuda backend on GPU 0 from Spark task resources gpu=[0]; "
                        + "engine built by this task in 12.31 s",
                TaskLog.taskStart(TASK, "cuda", gpu, "gpu=[0]", new EngineCache.Built(12.3149, 17), 17));
        assertEquals("[prefill-task] " + TASK + ": cuda backend on GPU 0 from Spark task resources gpu=[0]; "
                        + "engine reused, built by task 15 in 12.31 s",
                TaskLog.taskStart(TASK, "cuda", gpu, "gpu=[0]", new EngineCache.Built(12.3149, 15), 17));
        assertEquals("[prefill-task] " + TASK + ": cpu backend (Spark task resources none); "
                        + "engine reused, built by the driver in 0.50 s",
                TaskLog.taskStart(TASK, "cpu", new GpuBinding.Binding(-1, "cpu backend: no GPU"), "none",
                        new EngineCache.Built(0.5, -1), 17));
    }

    @Test
    void documentAndEndLinesCarryTokensAndTimes() {
        DocumentResult ok = new DocumentResult(131072, 72, null, AttentionStats.NONE, 4812.34, "cuda", null, null);
        assertEquals("[prefill-doc] " + TASK + ": 131000 tokens, pre-fill 4812.3 ms, in the task 4901.2 ms, ok",
                TaskLog.documentLine(TASK, ok, 4901.24));
        DocumentResult failed = DocumentResult.failed("cuda", 900000, "device_memory", "does not fit");
        assertEquals("[prefill-doc] " + TASK + ": 900000 tokens, pre-fill 0.0 ms, in the task 3.0 ms, device_memory",
                TaskLog.documentLine(TASK, failed, 3.0));
        assertEquals("[prefill-task] " + TASK + " failed: 2 documents, 196608 tokens, pre-fill 7012.0 ms of 7230.4 ms "
                + "from its first document to its end", TaskLog.taskEnd(TASK, false, 2, 196608, 7012.0, 7230.4));
    }
}
