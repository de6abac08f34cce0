package io.prefill.udf;

import io.prefill.kv.KvSummaryRows;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The columns of one first-token output row; the README documents each. The KV-summary rows'
 * columns are {@link KvSummaryRows#KV_LAYER}, beside the code that writes and reads them.
 */
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
            DataTypes.createStructField("kept_mass_min", DataTypes.DoubleType, true),
            DataTypes.createStructField("kept_mass_mean", DataTypes.DoubleType, true),
            DataTypes.createStructField("kept_mass_worst_head", DataTypes.StringType, true),
            DataTypes.createStructField("dense_fallback_heads", DataTypes.IntegerType, true),
            DataTypes.createStructField("prefill_ms", DataTypes.DoubleType, false),
            DataTypes.createStructField("backend", DataTypes.StringType, false),
            DataTypes.createStructField("weights", DataTypes.StringType, false),
            DataTypes.createStructField("error_kind", DataTypes.StringType, true),
            DataTypes.createStructField("error", DataTypes.StringType, true),
    });

    /** What the KV-summary SQL function returns: the first-token struct and the document's KV rows. */
    public static final StructType FIRST_TOKEN_AND_KV = new StructType(new StructField[]{
            DataTypes.createStructField("first", RESULT, false),
            DataTypes.createStructField("kv", DataTypes.createArrayType(KvSummaryRows.KV_LAYER, false), false),
    });
}
