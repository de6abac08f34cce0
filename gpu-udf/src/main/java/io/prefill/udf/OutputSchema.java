package io.prefill.udf;

import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/** The columns of one first-token output row; the README documents each. */
public final class OutputSchema {
    private OutputSchema() { }

    public static final StructType RESULT = new StructType(new StructField[]{
            DataTypes.createStructField("prompt_tokens", DataTypes.IntegerType, false),
            DataTypes.createStructField("dropped_tokens", DataTypes.IntegerType, false),
            DataTypes.createStructField("first_token_id", DataTypes.IntegerType, true),
            DataTypes.createStructField("first_token_text", DataTypes.StringType, true),
            DataTypes.createStructField("first_token_logprob", DataTypes.DoubleType, true),
            DataTypes.createStructField("top_ids", DataTypes.createArrayType(DataTypes.IntegerType, false), true),
            DataTypes.createStructField("top_texts", DataTypes.createArrayType(DataTypes.StringType, true), true),
            DataTypes.createStructField("top_logprobs", DataTypes.createArrayType(DataTypes.DoubleType, false), true),
            DataTypes.createStructField("attention_density", DataTypes.DoubleType, true),
            DataTypes.createStructField("prefill_ms", DataTypes.DoubleType, false),
            DataTypes.createStructField("backend", DataTypes.StringType, false),
            DataTypes.createStructField("error_kind", DataTypes.StringType, true),
            DataTypes.createStructField("error", DataTypes.StringType, true),
    });

    /** One KV head of one layer in a KV-summary row: kept positions and their K, V as bf16 [kept, head_dim]. */
    public static final StructType KV_HEAD = new StructType(new StructField[]{
            DataTypes.createStructField("kv_head", DataTypes.IntegerType, false),
            DataTypes.createStructField("positions", DataTypes.createArrayType(DataTypes.IntegerType, false), false),
            DataTypes.createStructField("k", DataTypes.BinaryType, false),
            DataTypes.createStructField("v", DataTypes.BinaryType, false),
    });

    /**
     * One KV-summary row (all but the id): one per document and layer, or one with layer null for
     * a document that failed. The README documents each column.
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

    /** What the KV-summary SQL function returns: the first-token struct and the document's KV rows. */
    public static final StructType FIRST_TOKEN_AND_KV = new StructType(new StructField[]{
            DataTypes.createStructField("first", RESULT, false),
            DataTypes.createStructField("kv", DataTypes.createArrayType(KV_LAYER, false), false),
    });
}
