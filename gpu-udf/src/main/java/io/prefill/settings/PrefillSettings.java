package io.prefill.settings;

import io.prefill.settings.Setting.Audience;
import io.prefill.settings.Setting.Scope;
import org.apache.spark.SparkConf;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The registry of every {@code spark.prefill.*} Spark setting and every {@code prefill.*} JVM
 * system property, each declared once with its key, type, default and doc. Code reads a setting
 * through its constant here; the README's settings tables are generated from {@link #ALL}.
 * A {@code spark.prefill.*} key that is not declared here is refused with the nearest known key
 * ({@link #checkSparkConf}), so a misspelled setting never silently does nothing.
 */
public final class PrefillSettings {
    /** The prefix of every Spark setting of the project. */
    public static final String SPARK_PREFIX = "spark.prefill.";

    private static final List<Setting<?>> DECLARED = new ArrayList<>();

    // ---- Spark settings (--conf spark.prefill.X=Y) ----

    public static final Setting<String> MODEL_CACHE_DIR = add(Setting.string("spark.prefill.modelCacheDir",
            Scope.SPARK_CONF, Audience.USER, null, "`<java.io.tmpdir>/prefill-model-cache`",
            "local folder where each executor keeps its one copy of a remote model directory"));

    public static final Setting<Integer> CUDA_DEVICE = add(Setting.index("spark.prefill.cuda.device",
            Scope.SPARK_CONF, Audience.USER, 0, "0",
            "the CUDA device a task uses when Spark's resource scheduling assigned it none (local runs)"));

    public static final Setting<Long> GPU_MEMORY_BUDGET = add(Setting.bytes("spark.prefill.gpuMemoryBudget",
            Scope.SPARK_CONF, Audience.USER, 0L, "0",
            "GPU memory one document's pre-fill may use beside the weights (bytes, or 48g); 0: what is free. "
                    + "Set it when RAPIDS shares the card"));

    public static final Setting<Boolean> LOG_DOCUMENTS = add(Setting.bool("spark.prefill.logDocuments",
            Scope.SPARK_CONF, Audience.USER,
            "one `[prefill-doc]` line per document on the executor's stderr: tokens, pre-fill ms, time in the task"));

    public static final Setting<Integer> FAIL_FIRST_ATTEMPT_OF_PARTITION = add(Setting.index(
            "spark.prefill.test.failFirstAttemptOfPartition", Scope.SPARK_CONF, Audience.TEST, null, "unset",
            "tests only: the first attempt of this partition fails after its first document, to show retries "
                    + "leave each document once"));

    // ---- JVM system properties (-Dprefill.X=Y) ----

    public static final Setting<String> CUDA_GEMM = add(Setting.string("prefill.cuda.gemm", Scope.JVM_PROPERTY,
            Audience.DEBUG, null, "auto",
            "GEMM kernel (`TMA_128x256`, `WGMMA_128x256`, `T128x256`, `T128x128`); auto: on the sm_90a build the "
                    + "persistent TMA kernel where the driver makes tensor maps, else wgmma with cp.async; elsewhere the "
                    + "largest mma.sync tile that fits"));

    public static final Setting<String> CUDA_DENSE = add(Setting.string("prefill.cuda.dense", Scope.JVM_PROPERTY,
            Audience.DEBUG, "AUTO", "AUTO",
            "dense attention kernel (an `AttentionKernels.Variant` name); AUTO: `DENSE_WS` on the sm_90a build, "
                    + "else `DENSE_MMA`"));

    public static final Setting<String> CUDA_PLAN = add(Setting.string("prefill.cuda.plan", Scope.JVM_PROPERTY,
            Audience.DEBUG, "AUTO", "AUTO",
            "sparse (block-plan) attention kernel; AUTO: `PLAN_WGMMA` on the sm_90a build, else `PLAN_MMA`"));

    public static final Setting<String> CUDA_PAIR = add(Setting.string("prefill.cuda.pair", Scope.JVM_PROPERTY,
            Audience.DEBUG, "AUTO", "AUTO",
            "paired-plan attention kernel for vertical-slash and A-shape plans; AUTO: `PAIR_PLAN_WS` where the plan "
                    + "kernel is `PLAN_WGMMA` (the sm_90a build), where it is `PLAN_MMA` by plan (`PAIR_PLAN_MMA_HEAD_MAJOR` "
                    + "when it gathers columns, else `PAIR_PLAN_MMA`), none where `prefill.cuda.plan` names `PLAN_WGMMA`; "
                    + "a name runs those plans over their pair plan with that kernel"));

    public static final Setting<Boolean> CUDA_FUSED_FP8_QUANTISATION = add(Setting.bool(
            "prefill.cuda.fusedFp8Quantisation", Scope.JVM_PROPERTY, Audience.DEBUG,
            "FP8 projections: the E4M3 codes of the normed rows and of the attention output's rows come from the "
                    + "kernel that forms those rows, without writing them as bf16 and reading them back (the same codes "
                    + "bit for bit); on trial, off until measured"));

    public static final Setting<Boolean> CUDA_SEPARATE_ALLOCATIONS = add(Setting.bool(
            "prefill.cuda.separateAllocations", Scope.JVM_PROPERTY, Audience.DEBUG,
            "every device buffer gets its own cuMemAlloc instead of an arena slice, so compute-sanitizer "
                    + "sees each buffer's bounds"));

    public static final Setting<Boolean> CUDA_SYNC_LAUNCHES = add(Setting.bool("prefill.cuda.syncLaunches",
            Scope.JVM_PROPERTY, Audience.DEBUG,
            "synchronise after every kernel launch, so an asynchronous fault is reported at its kernel"));

    public static final Setting<Boolean> CUDA_TRACE_GAPS = add(Setting.bool("prefill.cuda.traceGaps",
            Scope.JVM_PROPERTY, Audience.DEBUG,
            "after every pre-fill on the cuda backend, print where the device sat idle between its launches and "
                    + "copies (a CUDA event before and after each; the operations with the most idle time before them "
                    + "first): what shows a host step holding the device up"));

    public static final Setting<Integer> TEST_CUDA_DEVICE = add(Setting.index("prefill.cuda.device",
            Scope.JVM_PROPERTY, Audience.TEST, 0, "0", "GPU tests: the device they run on"));

    public static final Setting<String> TEST_HF_FIXTURES = add(Setting.string("prefill.hf.fixtures",
            Scope.JVM_PROPERTY, Audience.TEST, null, "unset",
            "GPU tests: folder of Hugging Face parity fixtures (`bench/hf_fixtures.py`); unset: the parity test skips"));

    public static final Setting<String> TEST_SHARED = add(Setting.string("prefill.shared", Scope.JVM_PROPERTY,
            Audience.TEST, null, "`shared/` beside the checkout",
            "tests: folder of optional reference data (real tokenizers, published pattern configs); "
                    + "env `PREFILL_SHARED` also works"));

    /** Every setting, in declaration order. */
    public static final List<Setting<?>> ALL = List.copyOf(DECLARED);

    private PrefillSettings() { }

    private static <T> Setting<T> add(Setting<T> s) {
        for (Setting<?> d : DECLARED) {
            if (d.key().equals(s.key())) throw new IllegalStateException("setting " + s.key() + " declared twice");
        }
        DECLARED.add(s);
        return s;
    }

    /** The declared settings of one scope, by key. */
    public static Map<String, Setting<?>> byKey(Scope scope) {
        Map<String, Setting<?>> m = new LinkedHashMap<>();
        for (Setting<?> s : ALL) if (s.scope() == scope) m.put(s.key(), s);
        return m;
    }

    /** The declared Spark setting of this key; an unknown key fails with the nearest known one. */
    public static Setting<?> spark(String key) {
        Map<String, Setting<?>> known = byKey(Scope.SPARK_CONF);
        Setting<?> s = known.get(key);
        if (s == null) {
            throw new IllegalArgumentException("unknown setting " + key + Names.didYouMean(key, known.keySet())
                    + " (known: " + String.join(", ", known.keySet()) + ")");
        }
        return s;
    }

    /**
     * Checks every {@code spark.prefill.*} key of a Spark configuration: each must be declared
     * (else the nearest known key is named) and its value must parse. Run on the driver before any work.
     */
    public static void checkSparkConf(SparkConf conf) {
        Map<String, String> prefixed = new LinkedHashMap<>();
        for (Tuple2<String, String> kv : conf.getAllWithPrefix(SPARK_PREFIX)) prefixed.put(SPARK_PREFIX + kv._1(), kv._2());
        checkSparkSettings(prefixed);
    }

    /** As {@link #checkSparkConf}, for settings given as a map (command-line --conf values). */
    public static void checkSparkSettings(Map<String, String> settings) {
        for (Map.Entry<String, String> e : settings.entrySet()) {
            if (e.getKey().startsWith(SPARK_PREFIX)) spark(e.getKey()).parse(e.getValue());
        }
    }

    /** A Markdown table (key, type, default, meaning) of the settings of one scope and audiences. */
    public static String markdown(Scope scope, List<Audience> audiences) {
        String header = "| " + (scope == Scope.SPARK_CONF ? "Spark setting" : "JVM property")
                + " | type | default | meaning |\n|---|---|---|---|\n";
        return header + ALL.stream()
                .filter(s -> s.scope() == scope && audiences.contains(s.audience()))
                .map(s -> "| `" + s.key() + "` | " + s.type() + " | " + s.defaultText() + " | "
                        + s.doc().replace("|", "\\|") + " |")
                .collect(Collectors.joining("\n", "", "\n"));
    }
}
