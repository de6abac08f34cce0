package io.prefill.kv;

import io.prefill.udf.OutputSchema;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.expressions.GenericRowWithSchema;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Between a {@link KvSummaryResult} and its Parquet rows ({@link OutputSchema#KV_LAYER}): one row
 * per layer, or one error row with layer null. The bytes are copied as they are, so the round
 * trip is bit-exact.
 */
public final class KvSummaryRows {
    private KvSummaryRows() { }

    public static List<Row> toRows(KvSummaryResult r) {
        List<Row> rows = new ArrayList<>();
        KvSummary s = r.summary();
        if (s == null) {
            rows.add(row(null, r.promptTokens(), null, null, null, null, r.errorKind(), r.error()));
            return rows;
        }
        for (int l = 0; l < s.numLayers(); l++) {
            List<Row> heads = new ArrayList<>();
            for (int g = 0; g < s.numKvHeads(); g++) {
                HeadKv h = s.head(l, g);
                heads.add(new GenericRowWithSchema(new Object[]{g, seq(Arrays.stream(h.positions()).boxed().toList()),
                        h.k(), h.v()}, OutputSchema.KV_HEAD));
            }
            rows.add(row(s.model(), s.promptTokens(), l, seq(heads), s.headDim(), KvSummary.DTYPE, null, null));
        }
        return rows;
    }

    /** Rows hold Scala sequences, as rows read back from Parquet do, so one reader serves both. */
    private static <T> scala.collection.immutable.Seq<T> seq(List<T> list) {
        return scala.jdk.javaapi.CollectionConverters.asScala(list).toList();
    }

    private static Row row(String model, int promptTokens, Integer layer, Object heads, Integer headDim, String dtype,
                           String errorKind, String error) {
        return new GenericRowWithSchema(new Object[]{model, promptTokens, layer, heads, headDim, dtype, errorKind, error},
                OutputSchema.KV_LAYER);
    }

    /**
     * The summary of one document from its rows (in any order; extra columns such as id are
     * ignored). Every layer must be there exactly once, with one model, token count and head_dim.
     *
     * @throws IllegalArgumentException for an error row or an incomplete or inconsistent set
     */
    public static KvSummary fromRows(List<Row> rows, String what) {
        if (rows.isEmpty()) throw new IllegalArgumentException(what + ": no KV-summary rows");
        Row first = rows.get(0);
        if (first.isNullAt(first.fieldIndex("layer"))) {
            throw new IllegalArgumentException(what + " has no KV summary: " + first.getAs("error_kind") + ": "
                    + first.getAs("error"));
        }
        String model = first.getAs("model");
        int n = first.<Integer>getAs("prompt_tokens");
        int d = first.<Integer>getAs("head_dim");
        HeadKv[][] heads = new HeadKv[rows.size()][];
        for (Row r : rows) {
            if (r.isNullAt(r.fieldIndex("layer"))) throw new IllegalArgumentException(what + ": an error row among its layers");
            int l = r.<Integer>getAs("layer");
            if (l < 0 || l >= heads.length || heads[l] != null) {
                throw new IllegalArgumentException(what + ": layer " + l + " is duplicated or out of range for "
                        + rows.size() + " rows");
            }
            if (!java.util.Objects.equals(model, r.getAs("model")) || n != r.<Integer>getAs("prompt_tokens")
                    || d != r.<Integer>getAs("head_dim") || !KvSummary.DTYPE.equals(r.getAs("dtype"))) {
                throw new IllegalArgumentException(what + ": layer " + l + " disagrees on model, prompt_tokens, head_dim or dtype");
            }
            List<Row> kvHeads = r.getList(r.fieldIndex("kv_heads"));
            heads[l] = new HeadKv[kvHeads.size()];
            for (Row h : kvHeads) {
                int g = h.<Integer>getAs("kv_head");
                List<Integer> positions = h.getList(h.fieldIndex("positions"));
                heads[l][g] = new HeadKv(positions.stream().mapToInt(Integer::intValue).toArray(), h.getAs("k"), h.getAs("v"));
            }
        }
        return new KvSummary(model, n, d, heads);
    }
}
