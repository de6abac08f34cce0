package io.prefill.udf;

import io.prefill.cuda.forward.CudaBackendOptions;
import io.prefill.engine.EngineOptions;
import io.prefill.engine.PrefillEngine;
import io.prefill.model.FiniteWeights;
import io.prefill.model.LoadedModel;
import io.prefill.model.ModelCache;
import io.prefill.model.ModelConfig;
import io.prefill.settings.PrefillSettings;
import io.prefill.sparse.PatternConfig;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.deploy.SparkHadoopUtil;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One engine per spec per executor JVM, created on first use and shared by every task thereafter,
 * so the model is copied, mapped and validated once rather than per task or per row.
 */
public final class EngineCache {
    /** An engine is bound to one device: the same spec on two GPUs is two engines. */
    private record Key(EngineSpec spec, int device) { }

    /** How an engine came to be: the seconds its building took (the model's load) and the task attempt that built it. */
    public record Built(double seconds, long byTaskAttempt) { }

    private static final Map<Key, PrefillEngine> ENGINES = new ConcurrentHashMap<>();
    private static final Map<Key, Built> BUILT = new ConcurrentHashMap<>();
    /** Model directories whose norms and embedding the driver found finite (checked once per JVM). */
    private static final Set<Path> FINITE_CHECKED = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(EngineCache::closeAll, "prefill-engine-shutdown"));
    }

    private EngineCache() { }

    /** The engine for spec on the device this task was given (device -1 for the cpu backend). */
    public static PrefillEngine get(EngineSpec spec) {
        return get(spec, deviceFor(spec));
    }

    public static PrefillEngine get(EngineSpec spec, int device) {
        return ENGINES.computeIfAbsent(new Key(spec, device), k -> {
            long start = System.nanoTime();
            PrefillEngine engine = open(k.spec(), k.device());
            TaskContext task = TaskContext.get();
            BUILT.put(k, new Built((System.nanoTime() - start) / 1e9, task == null ? -1 : task.taskAttemptId()));
            return engine;
        });
    }

    /** How the cached engine for spec on device was built, or null when there is none. */
    public static Built built(EngineSpec spec, int device) {
        return BUILT.get(new Key(spec, device));
    }

    /**
     * The engine the driver uses to validate the model, the tokenizer and the pattern config and to
     * read the model's config: always on the cpu backend, so a driver needs no GPU. A model the
     * chosen backend cannot run, or whose norms or embedding hold NaN or infinity, is refused here,
     * before any work.
     */
    public static PrefillEngine onDriver(EngineSpec spec) {
        PrefillEngine engine = get(spec.withBackend("cpu"), -1);
        if (!FINITE_CHECKED.contains(engine.model().directory())) {
            FiniteWeights.check(engine.model());
            FINITE_CHECKED.add(engine.model().directory());
        }
        ForwardBackends.checkSupported(spec.backend(), engine.model().config(), engine.model().weightsLabel(),
                patternsOf(spec, engine.model().config()));
        return engine;
    }

    /** -1 for backends without a device; else the GPU Spark assigned to the running task. */
    public static int deviceFor(EngineSpec spec) {
        return bindingFor(spec).device();
    }

    /** The device for spec in the running task and where it came from (device -1: the backend needs none). */
    public static GpuBinding.Binding bindingFor(EngineSpec spec) {
        if (!"cuda".equals(spec.backend())) return new GpuBinding.Binding(-1, spec.backend() + " backend: no GPU");
        SparkEnv env = SparkEnv.get();
        return GpuBinding.bindingForTask(PrefillSettings.CUDA_DEVICE.get(env == null ? null : env.conf()));
    }

    /** Engines alive in this JVM (one per spec and device). */
    public static int size() { return ENGINES.size(); }

    /** Builds an engine outside the cache (the driver's fail-fast check, tests). */
    public static PrefillEngine open(EngineSpec spec) {
        return open(spec, deviceFor(spec));
    }

    /** The cuda backend's settings for a device: the memory budget comes from the Spark conf. */
    static CudaBackendOptions cudaOptions(int device) {
        SparkEnv env = SparkEnv.get();
        long budget = PrefillSettings.GPU_MEMORY_BUDGET.get(env == null ? null : env.conf());
        return CudaBackendOptions.defaults().onDevice(Math.max(device, 0)).withMemoryBudget(budget);
    }

    static PrefillEngine open(EngineSpec spec, int device) {
        Path local = localize(spec.modelUri());
        LoadedModel model = LoadedModel.open(local, spec.weights());
        PatternConfig patterns;
        try {
            patterns = patternsOf(spec, model.config());
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
        try {
            return new PrefillEngine(model, ForwardBackends.create(spec.backend(), model, patterns, cudaOptions(device),
                    spec.options().minKeptMass()),
                    spec.options());
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /**
     * The spec's pattern config, checked against the model; MInference's default when it has none;
     * with the options' min_sparse_length when they set one.
     */
    public static PatternConfig patternsOf(EngineSpec spec, ModelConfig config) {
        PatternConfig patterns = spec.patterns() == null
                ? PatternConfig.uniform("default", config.numLayers(), config.numHeads(),
                        PatternConfig.DEFAULT_MIN_SPARSE_LENGTH, PatternConfig.MINFERENCE_DEFAULT)
                : spec.patterns();
        patterns.validateFor(config.numLayers(), config.numHeads(), spec.patternSource());
        int minSparse = spec.options().minSparseLength();
        return minSparse == EngineOptions.CONFIG_MIN_SPARSE_LENGTH ? patterns : patterns.withMinSparseLength(minSparse);
    }

    static Path localize(String uri) {
        SparkEnv env = SparkEnv.get();
        Configuration conf = env == null ? new Configuration() : SparkHadoopUtil.get().newConfiguration(env.conf());
        String cacheDir = PrefillSettings.MODEL_CACHE_DIR.get(env == null ? null : env.conf());
        Path root = cacheDir != null ? Path.of(cacheDir)
                : Path.of(System.getProperty("java.io.tmpdir"), "prefill-model-cache");
        return ModelCache.localize(uri, root, conf);
    }

    static void closeAll() {
        for (PrefillEngine e : ENGINES.values()) {
            try {
                e.close();
            } catch (Exception ignored) {
                // the JVM is exiting; nothing useful to do with a close failure
            }
        }
        ENGINES.clear();
        BUILT.clear();
    }
}
