package io.prefill.job;

import io.prefill.engine.Backends;
import io.prefill.job.report.ReportMain;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import static org.apache.spark.sql.functions.col;

/**
 * The README's first command: runs the real pre-fill job in Spark local mode on the trained needle
 * model ({@code models/needle-llama}) over a corpus of needle documents, each hiding one fact in a
 * long haystack and asking for it at the end, with the model's sparse pattern config; then prints
 * whether each first token is the planted answer, and writes a report. On the cpu backend the
 * documents are 1K to 4K tokens (the plain-Java engine takes about a minute for them on two cores);
 * with {@code cuda} as its second argument they are 12K to 16K tokens on this machine's GPU.
 */
public final class DemoMain {
    static final Path MODEL = Path.of("models", "needle-llama");
    static final Path PATTERNS = Path.of("pattern-configs", "needle-llama.json");

    private DemoMain() { }

    public static void main(String[] args) {
        Path work = Path.of(args.length > 0 ? args[0] : "demo-output").toAbsolutePath();
        String backend = args.length > 1 ? args[1] : Backends.CPU;
        if (!Backends.NAMES.contains(backend)) {
            throw new IllegalArgumentException("demo backend '" + backend + "': expected one of " + Backends.NAMES);
        }
        Path corpus = corpus(backend);
        for (Path p : List.of(MODEL.resolve("config.json"), MODEL.resolve("model.safetensors"), PATTERNS, corpus)) {
            if (!Files.isRegularFile(p)) {
                throw new IllegalStateException("the demo needs " + p + " (run it from the repository's root, as "
                        + "scripts/demo.sh does)");
            }
        }
        Path output = work.resolve("first-tokens.parquet");
        System.out.println("[demo] model " + MODEL + " (a 5M-parameter Llama trained to find one planted fact), "
                + "corpus " + corpus + ", patterns " + PATTERNS);
        System.out.println("[demo] running the pre-fill job: spark local[2], " + backend + " backend");
        PrefillJob.main(new String[]{
                "--master", "local[2]",
                "--input", corpus.toString(),
                "--output", output.toString(), "--write-mode", "overwrite",
                "--model", MODEL.toString(),
                "--patterns", PATTERNS.toString(),
                "--backend", backend,
                "--top-k", "5",
                "--partitions", "2",
                "--conf", "spark.ui.enabled=false",
                "--conf", "spark.sql.shuffle.partitions=2"});
        SparkSession spark = SparkSession.builder().master("local[1]").appName("minference-prefill-demo")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "1").getOrCreate();
        try {
            printAnswers(answers(spark, output.toString(), corpus.toString()), System.out);
            System.out.println("[demo] output: " + output);
            Path report = ReportMain.writeLocal(output.toString(), PATTERNS.toString(), work.resolve("report"));
            System.out.println("[demo] report: " + report);
        } finally {
            spark.stop();
        }
    }

    static Path corpus(String backend) {
        return MODEL.resolve("demo").resolve(backend.equals(Backends.CUDA) ? "needle-demo.jsonl" : "needle-demo-cpu.jsonl");
    }

    /** One document of the demo: what the job wrote beside what the corpus planted. */
    record Answer(String id, int tokens, Double depth, String expected, String firstToken, Double density,
                  Double prefillMs, String errorKind) {
        boolean right() {
            return expected != null && firstToken != null && expected.strip().equals(firstToken.strip());
        }
    }

    static List<Answer> answers(SparkSession spark, String output, String corpus) {
        Dataset<Row> planted = spark.read().json(corpus).select(col("id"), col("answer"), col("depth"));
        return spark.read().parquet(output).join(planted, "id").orderBy("id")
                .select(col("id"), col("prompt_tokens"), col("depth").cast("double"), col("answer"),
                        col("first_token_text"), col("attention_density"), col("prefill_ms"), col("error_kind"))
                .collectAsList().stream()
                .map(r -> new Answer(r.getString(0), r.getInt(1), r.isNullAt(2) ? null : r.getDouble(2),
                        r.isNullAt(3) ? null : r.getString(3), r.isNullAt(4) ? null : r.getString(4),
                        r.isNullAt(5) ? null : r.getDouble(5), r.isNullAt(6) ? null : r.getDouble(6),
                        r.isNullAt(7) ? null : r.getString(7)))
                .toList();
    }

    static void printAnswers(List<Answer> answers, PrintStream out) {
        out.println("[demo] does the first token name the planted fact?");
        out.printf(Locale.ROOT, "  %-16s %8s %8s %9s %12s %6s %8s %9s%n", "id", "tokens", "fact at", "planted",
                "first token", "right", "density", "pre-fill");
        int right = 0, scored = 0;
        double density = 0;
        for (Answer a : answers) {
            if (a.errorKind() != null) {
                out.printf(Locale.ROOT, "  %-16s %8d %8s %9s %12s %6s %8s %9s%n", a.id(), a.tokens(), "-", "-",
                        "(" + a.errorKind() + ")", "-", "-", "-");
                continue;
            }
            scored++;
            if (a.right()) right++;
            density += a.density() == null ? 0 : a.density();
            out.printf(Locale.ROOT, "  %-16s %,8d %7.0f%% %9s %12s %6s %8.2f %7.1f s%n", a.id(), a.tokens(),
                    a.depth() == null ? Double.NaN : 100 * a.depth(), quoted(a.expected()), quoted(a.firstToken()),
                    a.right() ? "yes" : "NO", a.density() == null ? Double.NaN : a.density(),
                    a.prefillMs() == null ? Double.NaN : a.prefillMs() / 1000);
        }
        out.printf(Locale.ROOT, "[demo] %d of %d answers right, computing on average %.0f%% of the attention "
                + "entries (MInference vertical-slash heads); the rows without text are error rows%n", right, scored,
                scored == 0 ? 0 : 100 * density / scored);
    }

    private static String quoted(String token) {
        return token == null ? "-" : "'" + token.strip() + "'";
    }
}
