package io.prefill.job;

import io.prefill.job.cli.Cli;
import io.prefill.job.cli.ClusterException;
import io.prefill.model.ModelConfig;
import io.prefill.model.ModelFormatException;
import io.prefill.model.TinyModelSpec;
import io.prefill.sparse.PatternConfig;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which backend runs, for every request, model and cluster, with the executor probe stood in for. */
class BackendChoiceTest {
    /** head_dim 16: the demo model, outside the kernels' 64 and 128. */
    private static final ModelConfig DEMO = TinyModelSpec.demo().toConfig(512, 1, 2);
    /** The demo's trained model, head_dim 64: a shape the cuda backend runs. */
    private static final ModelConfig GPU_SHAPED = ModelConfig.read(Path.of("..", "models", "needle-llama", "config.json"));

    private static PatternConfig patterns(ModelConfig c) {
        return PatternConfig.uniform("m", c.numLayers(), c.numHeads(), PatternConfig.DEFAULT_MIN_SPARSE_LENGTH,
                PatternConfig.MINFERENCE_DEFAULT);
    }

    private static final BackendChoice.Probe GPU = new BackendChoice.Probe(true, "1 CUDA device(s)", 1, 0, "node-1", "9.0");
    private static final BackendChoice.Probe AMPERE = new BackendChoice.Probe(true, "1 CUDA device(s)", 1, 0, "node-3", "8.0");
    private static final BackendChoice.Probe NO_GPU = new BackendChoice.Probe(false,
            "JCuda driver library unavailable: libcuda.so.1: cannot open shared object file", 0, -1, "node-2", "");

    private static BackendChoice.Decision decide(String requested, ModelConfig c, boolean scheduled,
                                                 BackendChoice.Probe probe, AtomicInteger probes) {
        Supplier<BackendChoice.Probe> p = () -> {
            probes.incrementAndGet();
            return probe;
        };
        return BackendChoice.decide(requested, c, patterns(c), scheduled, p);
    }

    @Test
    void autoTakesTheGpuWhereTheExecutorHasOne() {
        AtomicInteger probes = new AtomicInteger();
        BackendChoice.Decision d = decide("auto", GPU_SHAPED, true, GPU, probes);
        assertEquals("cuda", d.backend());
        assertTrue(d.reason().contains("Spark assigned GPU 0"), d.reason());
        assertEquals("cuda", decide("auto", GPU_SHAPED, false, GPU, probes).backend(), "a device present suffices");
        assertEquals(2, probes.get());
    }

    @Test
    void autoRunsTheCpuWithoutAGpuOrForAModelTheKernelsCannotRun() {
        AtomicInteger probes = new AtomicInteger();
        BackendChoice.Decision none = decide("auto", GPU_SHAPED, false, NO_GPU, probes);
        assertEquals("cpu", none.backend());
        assertTrue(none.reason().contains("libcuda.so.1"), none.reason());
        BackendChoice.Decision demo = decide("auto", DEMO, true, GPU, probes);
        assertEquals("cpu", demo.backend());
        assertTrue(demo.reason().contains("head_dim 16") && demo.reason().contains("stay idle"), demo.reason());
        assertEquals(1, probes.get(), "no probe for a model the cuda backend cannot run");
    }

    @Test
    void autoFailsWhenSparkGaveGpusThatDoNotWork() {
        ClusterException e = assertThrows(ClusterException.class,
                () -> decide("auto", GPU_SHAPED, true, NO_GPU, new AtomicInteger()));
        assertTrue(e.getMessage().contains("node-2") && e.getMessage().contains("--backend cpu"), e.getMessage());
        assertEquals(Cli.CLUSTER, Cli.exitCode(e));
    }

    @Test
    void cudaIsCheckedBeforeAnyWork() {
        ClusterException noGpu = assertThrows(ClusterException.class,
                () -> decide("cuda", GPU_SHAPED, false, NO_GPU, new AtomicInteger()));
        assertEquals("--backend cuda: no usable GPU on executor node-2: JCuda driver library unavailable: "
                + "libcuda.so.1: cannot open shared object file", noGpu.getMessage());
        assertEquals(Cli.CLUSTER, Cli.exitCode(noGpu));
        AtomicInteger probes = new AtomicInteger();
        ModelFormatException wrongModel = assertThrows(ModelFormatException.class,
                () -> decide("cuda", DEMO, true, GPU, probes));
        assertTrue(wrongModel.getMessage().contains("config.json") && wrongModel.getMessage().contains("head_dim 16"));
        assertEquals(Cli.BAD_INPUT, Cli.exitCode(wrongModel));
        assertEquals(0, probes.get(), "the model is checked before the cluster");
        assertEquals("cuda", decide("cuda", GPU_SHAPED, false, GPU, probes).backend());
    }

    @Test
    void theDemosModelAndPatternConfigSuitTheCudaBackendAndTheRandomTinyModelDoesNot() {
        PatternConfig needle = PatternConfig.read(Path.of("..", "pattern-configs", "needle-llama.json"));
        assertNull(BackendChoice.unsuitable(GPU_SHAPED, "bf16", needle));
        PatternConfig demo = PatternConfig.read(Path.of("..", "pattern-configs", "demo-model.json"));
        assertTrue(BackendChoice.unsuitable(DEMO, "bf16", demo).contains("head_dim 16"));
    }

    @Test
    void adaptiveHeadsRunOnTheGpuUnderAuto() {
        PatternConfig adaptive = PatternConfig.read(Path.of("..", "pattern-configs", "needle-llama-adaptive.json"));
        assertNull(BackendChoice.unsuitable(GPU_SHAPED, "bf16", adaptive));
        BackendChoice.Decision auto = BackendChoice.decide("auto", GPU_SHAPED, adaptive, true, () -> GPU);
        assertEquals("cuda", auto.backend(), auto.reason());
    }

    @Test
    void cpuNeverProbes() {
        AtomicInteger probes = new AtomicInteger();
        assertEquals("cpu", decide("cpu", GPU_SHAPED, true, GPU, probes).backend());
        assertEquals(0, probes.get());
    }

    @Test
    void gpusAreScheduledByExecutorOrTaskAmountsOrTheLocalDriver() {
        assertFalse(BackendChoice.gpusScheduled(new SparkConf(false).set("spark.master", "yarn")));
        assertTrue(BackendChoice.gpusScheduled(new SparkConf(false).set("spark.executor.resource.gpu.amount", "1")));
        assertTrue(BackendChoice.gpusScheduled(new SparkConf(false).set("spark.task.resource.gpu.amount", "0.5")));
        assertTrue(BackendChoice.gpusScheduled(new SparkConf(false).set("spark.master", "local[2]")
                .set("spark.driver.resource.gpu.amount", "1")));
        assertFalse(BackendChoice.gpusScheduled(new SparkConf(false).set("spark.master", "yarn")
                .set("spark.driver.resource.gpu.amount", "1")), "a driver GPU on a cluster runs no task");
        assertFalse(BackendChoice.gpusScheduled(new SparkConf(false).set("spark.executor.resource.gpu.amount", "0")));
    }

    @Test
    void fp8WeightsRunOnCudaOnlyWhereTheExecutorHasHopper() {
        AtomicInteger probes = new AtomicInteger();
        Supplier<BackendChoice.Probe> hopper = () -> {
            probes.incrementAndGet();
            return GPU;
        };
        assertEquals("cuda", BackendChoice.decide("auto", GPU_SHAPED, "fp8-e4m3", patterns(GPU_SHAPED), true, hopper).backend());
        assertEquals("cuda", BackendChoice.decide("cuda", GPU_SHAPED, "fp8-e4m3", patterns(GPU_SHAPED), true, hopper).backend());
        assertEquals(2, probes.get());

        Supplier<BackendChoice.Probe> ampere = () -> AMPERE;
        BackendChoice.Decision auto = BackendChoice.decide("auto", GPU_SHAPED, "fp8-e4m3", patterns(GPU_SHAPED), true, ampere);
        assertEquals("cpu", auto.backend());
        assertTrue(auto.reason().contains("FP8") && auto.reason().contains("9.0") && auto.reason().contains("8.0")
                && auto.reason().contains("node-3") && auto.reason().contains("stay idle"), auto.reason());
        ClusterException cuda = assertThrows(ClusterException.class,
                () -> BackendChoice.decide("cuda", GPU_SHAPED, "fp8-e4m3", patterns(GPU_SHAPED), true, ampere));
        assertTrue(cuda.getMessage().contains("compute capability 8.0") && cuda.getMessage().contains("--backend cpu"),
                cuda.getMessage());
        assertEquals(Cli.CLUSTER, Cli.exitCode(cuda));
        // bf16 weights take the same GPU
        assertEquals("cuda", BackendChoice.decide("auto", GPU_SHAPED, "bf16", patterns(GPU_SHAPED), true, ampere).backend());
    }
}
