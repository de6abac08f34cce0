package io.prefill.udf;

import io.prefill.engine.DocumentOutputs;
import io.prefill.engine.PrefillEngine;
import io.prefill.kv.KvSummaryOptions;
import io.prefill.kv.KvSummaryRows;
import io.prefill.kv.ModelIdentity;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.expressions.UserDefinedFunction;

import static org.apache.spark.sql.functions.udf;

/**
 * {@code minference_prefill_kv(text, question)}: one pre-fill returning the first-token struct
 * and the document's KV-summary rows ({@link OutputSchema#FIRST_TOKEN_AND_KV}), so a job can write
 * either or both. Non-deterministic for the same reason as {@link PrefillUdf}.
 */
public final class KvSummaryUdf implements UDF2<String, String, Row> {
    private static final long serialVersionUID = 1L;
    public static final String NAME = "minference_prefill_kv";

    private final EngineSpec spec;
    private final KvSummaryOptions kv;
    private final PrefillUdf.JobCounters counters;

    public KvSummaryUdf(EngineSpec spec, KvSummaryOptions kv, PrefillUdf.JobCounters counters) {
        this.spec = spec;
        this.kv = kv;
        this.counters = counters;
    }

    public static UserDefinedFunction register(SparkSession spark, EngineSpec spec, KvSummaryOptions kv,
                                              PrefillUdf.JobCounters counters) {
        UserDefinedFunction f = udf(new KvSummaryUdf(spec, kv, counters), OutputSchema.FIRST_TOKEN_AND_KV).asNondeterministic();
        PrefillUdf.replace(spark, NAME, f);
        return f;
    }

    @Override
    public Row call(String text, String question) {
        long start = System.nanoTime();
        PrefillUdf.Prefilled<DocumentOutputs> p = PrefillUdf.onEngine(spec, engine -> engine.prepare(text, question),
                (engine, doc) -> new PrefillUdf.Prefilled<>(engine.prefillWithKvSummary(doc, kv,
                        ModelIdentity.of(spec.modelUri(), engine.model().config())), engine.model().weightsLabel()));
        DocumentOutputs out = p.result();
        TaskLog.document(out.first(), (System.nanoTime() - start) / 1e6);
        if (counters != null) counters.record(out.first());
        return RowFactory.create(PrefillUdf.toRow(out.first(), p.weights()), KvSummaryRows.toRows(out.kv()).toArray(new Row[0]));
    }
}
