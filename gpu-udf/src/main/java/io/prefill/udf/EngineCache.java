package io.prefill.udf;

import io.prefill.engine.Backends;
import io.prefill.engine.PrefillEngine;
import io.prefill.model.LoadedModel;
import io.prefill.model.ModelCache;
import io.prefill.sparse.PatternConfig;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkEnv;
import org.apache.spark.deploy.SparkHadoopUtil;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One engine per spec per executor JVM, created on first use and shared by every task thereafter,
 * so the model is copied, mapped and validated once rather than per task or per row.
 */
public final class EngineCache {
    /** Where executors keep their local copy of remote model directories. */
    public static final String CACHE_DIR_CONF = "spark.prefill.modelCacheDir";

    private static final Map<EngineSpec, PrefillEngine> ENGINES = new ConcurrentHashMap<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(EngineCache::closeAll, "prefill-engine-shutdown"));
    }

    private EngineCache() { }

    public static PrefillEngine get(EngineSpec spec) {
        return ENGINES.computeIfAbsent(spec, EngineCache::open);
    }

    /** Builds an engine outside the cache (the driver's fail-fast check, tests). */
    public static PrefillEngine open(EngineSpec spec) {
        Path local = localize(spec.modelUri());
        LoadedModel model = LoadedModel.open(local);
        PatternConfig patterns = spec.patternConfigJson() == null
                ? PatternConfig.uniform("default", model.config().numLayers(), model.config().numHeads(),
                        PatternConfig.DEFAULT_MIN_SPARSE_LENGTH, PatternConfig.MINFERENCE_DEFAULT)
                : PatternConfig.parse(spec.patternConfigJson(), spec.patternSource());
        patterns.validateFor(model.config().numLayers(), model.config().numHeads(), spec.patternSource());
        return new PrefillEngine(model, Backends.create(spec.backend(), model, patterns), spec.options());
    }

    static Path localize(String uri) {
        SparkEnv env = SparkEnv.get();
        Configuration conf = env == null ? new Configuration() : SparkHadoopUtil.get().newConfiguration(env.conf());
        String cacheDir = env == null ? null : env.conf().get(CACHE_DIR_CONF, null);
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
    }
}
