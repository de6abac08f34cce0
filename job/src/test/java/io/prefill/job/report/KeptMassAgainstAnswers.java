package io.prefill.job.report;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.trim;

/**
 * Does the accuracy certificate predict wrong answers? For first-token outputs of a needle corpus
 * (the corpus's JSON lines carry id, answer and length), per length: documents, right answers,
 * the mean {@code kept_mass_min} of right and of wrong answers, and the AUROC of
 * {@code kept_mass_min} as a predictor of a right answer (0.5: no better than chance).
 * Not a test: the figures in BENCHMARKS.md ("The accuracy certificate").
 * <pre>
 *   KeptMassAgainstAnswers CORPUS.jsonl OUTPUT.parquet [OUTPUT.parquet ...]
 * </pre>
 */
public final class KeptMassAgainstAnswers {
    private KeptMassAgainstAnswers() { }

    public static void main(String[] args) {
        if (args.length < 2) throw new IllegalArgumentException("usage: KeptMassAgainstAnswers CORPUS.jsonl OUTPUT...");
        SparkSession spark = SparkSession.builder().master("local[2]").appName("kept-mass-against-answers")
                .config("spark.ui.enabled", "false").getOrCreate();
        try {
            Dataset<Row> corpus = spark.read().json(args[0]).select(col("id"), col("answer"), col("length"));
            for (int i = 1; i < args.length; i++) {
                List<Row> rows = spark.read().parquet(args[i]).join(corpus, "id")
                        .select(col("length"), trim(col("first_token_text")).equalTo(col("answer")).as("right"),
                                col("kept_mass_min"), col("attention_density"))
                        .collectAsList();
                System.out.println("== " + args[i]);
                System.out.println("length\tn\tright\tkept_min(right)\tkept_min(wrong)\tauroc\tdensity");
                Map<Integer, List<Row>> byLength = new TreeMap<>();
                for (Row r : rows) byLength.computeIfAbsent(((Number) r.get(0)).intValue(), k -> new ArrayList<>()).add(r);
                byLength.forEach((length, group) -> System.out.println(line(String.valueOf(length), group)));
                System.out.println(line("all", rows));
            }
        } finally {
            spark.stop();
        }
    }

    private static String line(String label, List<Row> group) {
        List<Double> right = new ArrayList<>(), wrong = new ArrayList<>();
        int correct = 0;
        double density = 0;
        for (Row r : group) {
            boolean ok = !r.isNullAt(1) && r.getBoolean(1);
            if (ok) correct++;
            density += r.isNullAt(3) ? 0 : r.getDouble(3);
            if (!r.isNullAt(2)) (ok ? right : wrong).add(r.getDouble(2));
        }
        return String.format("%s\t%d\t%d\t%s\t%s\t%s\t%.3f", label, group.size(), correct, mean(right), mean(wrong),
                auroc(right, wrong), density / group.size());
    }

    private static String mean(List<Double> xs) {
        return xs.isEmpty() ? "-" : String.format("%.3f", xs.stream().mapToDouble(Double::doubleValue).average().orElseThrow());
    }

    /** P(kept mass of a right answer > that of a wrong one), ties counted half. */
    private static String auroc(List<Double> right, List<Double> wrong) {
        if (right.isEmpty() || wrong.isEmpty()) return "-";
        double wins = 0;
        for (double r : right) for (double w : wrong) wins += r > w ? 1 : r == w ? 0.5 : 0;
        return String.format("%.2f", wins / ((double) right.size() * wrong.size()));
    }
}
