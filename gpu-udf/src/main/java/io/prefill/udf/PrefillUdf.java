package io.prefill.udf;

import io.prefill.engine.Backends;
import io.prefill.engine.AttentionStats;
import io.prefill.engine.DocumentResult;
import io.prefill.engine.EngineOptions;
import io.prefill.engine.FirstToken;
import io.prefill.engine.PrefillEngine;
import io.prefill.model.WeightFormat;
import io.prefill.sparse.PatternConfig;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.util.LongAccumulator;

import java.io.Serializable;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.BiFunction;
import java.util.function.Function;

import static org.apache.spark.sql.functions.udf;

/**
 * The pre-fill as a Spark SQL function: {@code minference_prefill(text)} and
 * {@code minference_prefill_q(text, question)} return one struct per row (see {@link OutputSchema}).
 * Marked non-deterministic so the optimizer never duplicates it when the struct is expanded into
 * columns: each document is pre-filled exactly once per evaluation.
 */
public final class PrefillUdf implements UDF2<String, String, Row> {
    private static final long serialVersionUID = 1L;
    public static final String NAME = "minference_prefill";
    public static final String NAME_WITH_QUESTION = "minference_prefill_q";

    private final EngineSpec spec;
    private final JobCounters counters;

    public PrefillUdf(EngineSpec spec, JobCounters counters) {
        this.spec = spec;
        this.counters = counters;
    }

    /** Registers both SQL functions on the session and returns the two-argument one. */
    public static UserDefinedFunction register(SparkSession spark, EngineSpec spec, JobCounters counters) {
        PrefillUdf f = new PrefillUdf(spec, counters);
        UserDefinedFunction withQuestion = udf(f, OutputSchema.RESULT).asNondeterministic();
        UserDefinedFunction textOnly = udf((UDF1<String, Row>) text -> f.call(text, null), OutputSchema.RESULT)
                .asNondeterministic();
        replace(spark, NAME_WITH_QUESTION, withQuestion);
        replace(spark, NAME, textOnly);
        return withQuestion;
    }

    /**
     * Registers a SQL function under a name, replacing an earlier registration of that name (a job
     * run again in one session) without Spark's warning about replaced functions.
     */
    static void replace(SparkSession spark, String name, UserDefinedFunction f) {
        spark.sql("DROP TEMPORARY FUNCTION IF EXISTS " + name);
        spark.udf().register(name, f);
    }

    /**
     * Registers the SQL functions for interactive use (a notebook, spark-shell): the model and
     * pattern config are validated here, on the driver, before any query runs.
     *
     * @param patternsFile a pattern config file, or null for MInference's default
     */
    public static void register(SparkSession spark, String modelUri, String patternsFile, String backend, int topK) {
        register(spark, modelUri, patternsFile, backend, EngineOptions.defaults()
                .withTopK(topK));
    }

    /**
     * As above with every per-document option: e.g. {@code EngineOptions.defaults().withMinSparseLength(0)
     * .withAddSpecialTokens(false)} to reproduce a reference run on prompts that carry their own BOS.
     */
    public static void register(SparkSession spark, String modelUri, String patternsFile, String backend,
                                EngineOptions options) {
        register(spark, modelUri, patternsFile, backend, options, WeightFormat.AS_STORED);
    }

    /** As above with the projection weights in the given format ({@code FP8}: the cpu backend, or cuda on a Hopper GPU). */
    public static void register(SparkSession spark, String modelUri, String patternsFile, String backend,
                                EngineOptions options, WeightFormat weights) {
        PatternConfig patterns = patternsFile == null ? null : PatternConfig.read(Path.of(patternsFile));
        EngineSpec spec = new EngineSpec(modelUri, patterns, patternsFile == null ? "default" : patternsFile,
                Backends.validate(backend), options, weights);
        EngineCache.get(spec);
        register(spark, spec, JobCounters.create(spark));
    }

    @Override
    public Row call(String text, String question) {
        long start = System.nanoTime();
        Prefilled<DocumentResult> p = onEngine(spec, engine -> engine.prepare(text, question),
                (engine, doc) -> new Prefilled<>(engine.prefill(doc), engine.model().weightsLabel()));
        DocumentResult r = p.result();
        TaskLog.document(r, (System.nanoTime() - start) / 1e6);
        if (counters != null) counters.record(r);
        return toRow(r, p.weights());
    }

    /** A document's outcome and the format of the weights that computed it ({@code LoadedModel#weightsLabel}). */
    record Prefilled<T>(T result, String weights) { }

    /**
     * Runs one document's work on this executor's engine for spec in two steps: {@code prepare}
     * (templating, tokenizing, the length policy: no device needed) before the GPU's lock, then
     * {@code work} holding it when the engine is bound to a GPU (the lock is shared by every
     * pre-fill SQL function). Tasks that share a GPU tokenize while another one pre-fills.
     */
    static <P, T> T onEngine(EngineSpec spec, Function<PrefillEngine, P> prepare, BiFunction<PrefillEngine, P, T> work) {
        FaultInjection.maybeFail();
        GpuBinding.Binding binding = EngineCache.bindingFor(spec);
        int device = binding.device();
        PrefillEngine engine;
        try {
            engine = EngineCache.get(spec, device);
        } catch (RuntimeException e) {
            // The engine could not be built on this executor (a lost GPU, no context, an unreadable
            // model copy): fail the task so Spark retries it elsewhere, rather than write error rows.
            throw new IllegalStateException("pre-fill engine unavailable on this executor"
                    + (device >= 0 ? " (GPU " + device + ", " + binding.source() + ")" : "") + ": " + e.getMessage(), e);
        }
        TaskLog.engineInUse(spec.backend(), binding, EngineCache.built(spec, device));
        P prepared = prepare.apply(engine);
        // Tasks sharing a GPU (fractional task amounts) take turns: one pre-fill owns the card.
        return GpuBinding.exclusively(device, () -> work.apply(engine, prepared));
    }

    static Row toRow(DocumentResult r, String weights) {
        FirstToken f = r.first();
        AttentionStats.Certificate kept = r.ok() ? r.attention().kept() : AttentionStats.Certificate.NONE;
        boolean certified = kept.measured();
        return RowFactory.create(
                r.promptTokens(), r.droppedTokens(),
                f == null ? null : f.tokenId(),
                f == null ? null : f.tokenText(),
                f == null ? null : f.logprob(),
                f == null ? null : Arrays.stream(f.topIds()).boxed().toArray(Integer[]::new),
                f == null ? null : f.topTexts(),
                f == null ? null : Arrays.stream(f.topLogprobs()).boxed().toArray(Double[]::new),
                r.ok() ? r.attention().density() : null,
                certified ? kept.min() : null,
                certified ? kept.mean() : null,
                certified ? kept.worst() : null,
                certified ? kept.denseFallbacks() : null,
                r.prefillMillis(), r.backend(), weights, r.errorKind(), r.error());
    }

    /**
     * Spark accumulators the driver reads for progress lines and the run summary. Tokens are those
     * pre-filled: of documents without error, after the length policy; the tokens the policy cut
     * are counted apart.
     */
    public record JobCounters(LongAccumulator documents, LongAccumulator tokens, LongAccumulator droppedTokens,
                              LongAccumulator errors, LongAccumulator prefillMicros) implements Serializable {
        public static JobCounters create(SparkSession spark) {
            var sc = spark.sparkContext();
            return new JobCounters(sc.longAccumulator("prefill documents"), sc.longAccumulator("prefill tokens"),
                    sc.longAccumulator("prefill dropped tokens"), sc.longAccumulator("prefill errors"),
                    sc.longAccumulator("prefill micros"));
        }

        void record(DocumentResult r) {
            documents.add(1);
            tokens.add(r.prefilledTokens());
            if (r.ok()) droppedTokens.add(r.droppedTokens());
            else errors.add(1);
            prefillMicros.add((long) (r.prefillMillis() * 1000));
        }
    }
}
