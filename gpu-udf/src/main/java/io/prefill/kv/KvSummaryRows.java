package io.prefill.kv;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.expressions.GenericRowWithSchema;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Between a {@link KvSummaryResult} and its Parquet rows ({@link #KV_LAYER}): one row
 * per layer, or one error row with layer null. The bytes are copied as they are, so the round
 * trip is bit-exact.
 */
public final class KvSummaryRows {
    private KvSummaryRows() { }

    /** One KV head of one layer in a KV-summary row: kept positions and their K, V as bf16 [kept, head_dim]. */
    public static final StructType KV_HEAD = new StructType(new StructField[]{
            DataTypes.createStructField("kv_head", DataTypes.IntegerType, false),
            DataTypes.createStructField("positions", DataTypes.createArrayType(DataTypes.IntegerType, false), false),
            DataTypes.createStructField("k", DataTypes.BinaryType, false),
            DataTypes.createStructField("v", DataTypes.BinaryType, false),
    });

    /**
     * One KV-summary row (all but the id): one per document and layer, or one with layer null for
     * a document that failed. docs/kv-summaries.md documents each column.
     */
    public static final StructType KV_LAYER = new StructType(new StructField[]{
            DataTypes.createStructField("model", DataTypes.StringType, true),
            DataTypes.createStructField("prompt_tokens", DataTypes.IntegerType, false),
            DataTypes.createStructField("layer", DataTypes.IntegerType, true),
            DataTypes.createStructField("kv_heads", DataTypes.createArrayType(KV_HEAD, false), true),
            DataTypes.createStructField("head_dim", DataTypes.IntegerType, true),
            DataTypes.createStructField("dtype", DataTypes.StringType, true),
            DataTypes.createStructField("error_kind", DataTypes.StringType, true),
            DataTypes.createStructField("error", DataTypes.StringType, true),
    });

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
                        h.k(), h.v()}, KV_HEAD));
            }
            rows.add(row(s.model(), s.promptTokens(), l, seq(heads), s.headDim(), KvSummary.DTYPE, null, null));
        }
        return rows;
    }

    /** Rows hold Scala sequences, as rows read back from Parquet do, so one reader serves both. */
    private static <T> Seq<T> seq(List<T> list) {
        return CollectionConverters.asScala(list).toList();
    }

    private static Row row(String model, int promptTokens, Integer layer, Object heads, Integer headDim, String dtype,
                           String errorKind, String error) {
        return new GenericRowWithSchema(new Object[]{model, promptTokens, layer, heads, headDim, dtype, errorKind, error},
                KV_LAYER);
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
            if (!Objects.equals(model, r.getAs("model")) || n != r.<Integer>getAs("prompt_tokens")
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
