package io.prefill.job.report;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

import java.util.ArrayList;
import java.util.List;

import static org.apache.spark.sql.functions.col;

/** The least confident first tokens, for the report page: where a person would look first. */
public final class FirstTokenSample {
    static final int ROWS = 25;

    /** One answer: its top-k alternatives as "text (probability)". */
    public record Answer(String id, int promptTokens, String text, double probability, List<String> alternatives) { }

    private FirstTokenSample() { }

    public static List<Answer> leastConfident(Dataset<Row> out) {
        List<Answer> answers = new ArrayList<>();
        for (Row r : FirstTokenOutput.succeeded(out)
                .select("id", "prompt_tokens", "first_token_text", "first_token_logprob", "top_texts", "top_logprobs")
                .orderBy(col("first_token_logprob").asc(), col("id")).limit(ROWS).collectAsList()) {
            List<String> texts = r.getList(4);
            List<Double> logprobs = r.getList(5);
            List<String> alternatives = new ArrayList<>();
            for (int i = 0; i < Math.min(texts.size(), logprobs.size()); i++) {
                alternatives.add(visible(texts.get(i)) + " (" + String.format("%.3f", Math.exp(logprobs.get(i))) + ")");
            }
            answers.add(new Answer(r.getString(0), r.getInt(1), visible(r.getString(2)), Math.exp(r.getDouble(3)),
                    alternatives));
        }
        return answers;
    }

    /** Token texts are often whitespace; quoted and escaped they can be read. */
    static String visible(String s) {
        if (s == null) return "null";
        return "'" + s.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r") + "'";
    }
}
