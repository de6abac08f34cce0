package io.prefill.job;

import io.prefill.model.WeightFormat;
import io.prefill.engine.Backends;
import io.prefill.engine.EngineOptions;
import io.prefill.engine.LengthPolicy;
import io.prefill.kv.KvSummaryOptions;
import io.prefill.settings.OptionTable;
import io.prefill.settings.PrefillSettings;
import io.prefill.settings.UsageException;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Command-line options of the pre-fill job, parsed from {@link #TABLE}. Parsing fails fast with a
 * message naming the option, so a typo never costs a cluster run.
 *
 * @param inputFormat the format given or read from the path's extension; null when neither says
 *                    (the job then looks at the path: a folder of .txt files is text, else Parquet)
 * @param backend     {@code auto}, {@code cpu} or {@code cuda}; the job resolves {@code auto}
 */
public record JobOptions(String input, InputFormat inputFormat, String idColumn, String textColumn,
                         String questionColumn, String question, String output, WriteMode writeMode,
                         String model, String patterns, String backend, int topK, int maxTokens,
                         LengthPolicy lengthPolicy, String template, int partitions, String master,
                         Map<String, String> sparkConf, boolean printSummary, Mode mode, String kvOutput,
                         KvSummaryOptions kvSummary, int minSparseLength, boolean addSpecialTokens,
                         boolean allowBeyondMaxPositions, boolean failOnDocumentErrors,
                         List<String> textExtensions, boolean binaryText, int wavePartitions, double minKeptMass,
                         WeightFormat weights) {

    public enum InputFormat { PARQUET, JSONL, TEXT }

    /** What the job writes: first tokens, KV summaries, or both from one pre-fill per document. */
    public enum Mode {
        FIRST_TOKEN, KV_SUMMARY, BOTH;

        public boolean writesKv() { return this != FIRST_TOKEN; }
    }

    /** Where --mode both writes the KV summaries unless --kv-output says otherwise: a sibling of --output. */
    public static String defaultKvOutput(String output) {
        return output.replaceAll("/+$", "") + "-kv";
    }

    public enum WriteMode { ERROR, OVERWRITE, RESUME }

    /** --backend auto: cuda where the executors have a usable GPU and the model suits it, else cpu. */
    public static final String AUTO = "auto";

    public static final OptionTable TABLE = OptionTable.builder(
                    "spark-submit --class io.prefill.job.PrefillJob job-<version>-spark.jar [options]")
            .required("--input", "PATH", "the corpus: Parquet, JSON lines (a file or a folder of them), or a folder of "
                    + "`.txt` files (one document per file, the file name is its id)")
            .option("--input-format", "F", "from the path", "`parquet`, `jsonl` or `text`; by default `.jsonl`/`.json` "
                    + "or a folder of them is JSON lines, `.txt` or a folder of `.txt` files is text, anything else Parquet; "
                    + "a folder that mixes these is refused")
            .option("--id-column", "NAME", "`id`", "id column for Parquet and JSON lines")
            .option("--text-column", "NAME", "`text`", "text column for Parquet and JSON lines")
            .option("--question-column", "NAME", null, "column with a per-document question for the template's `{question}`")
            .option("--question", "TEXT", null, "one question for every document")
            .option("--template", "T", "`{document}`", "prompt template containing `{document}` and optionally `{question}`")
            .required("--output", "PATH", "Parquet output directory (any Hadoop path); `_prefill_summary.json` is "
                    + "written into it at the end")
            .option("--write-mode", "M", "`error`", "`error` (refuse an existing output), `overwrite`, or `resume`: "
                    + "skip every document whose id is already in the output and append the rest")
            .required("--model", "URI", "Hugging Face model directory on any Hadoop path (`file:`, `hdfs:`, `s3a:`)")
            .option("--patterns", "FILE", "vertical-slash (1000, 6096)", "pattern config, ours or MInference's "
                    + "published format; the default applies to every head, dense under 8192 tokens")
            .option("--backend", "B", "`auto`", "`auto` (cuda where the executors have a usable GPU and the model "
                    + "suits it, else cpu), `cpu` (the reference) or `cuda` (checked before any work)")
            .option("--top-k", "K", "5", "alternatives kept per document")
            .option("--max-tokens", "N", "0", "longest prompt pre-filled; 0 = no limit")
            .option("--length-policy", "P", "`error`", "over `--max-tokens`: `error` (an error row), `head` or `tail` "
                    + "(keep that end; `tail` keeps the BOS token)")
            .option("--min-sparse-length", "N", "the config's", "prompts shorter than N run every head dense, whatever "
                    + "the pattern config says (MInference-format files are read with 8192)")
            .option("--min-kept-mass", "M", "0", "a sparse head whose plan keeps less than M of its last 64 queries' "
                    + "attention mass (the `kept_mass_*` columns) runs dense for that document; 0 = never")
            .option("--weights", "W", "`bf16`", "`bf16` (the projections as the checkpoint stores them) or `fp8`: "
                    + "q/k/v/o and gate/up/down in FP8 E4M3 with one scale per output channel, quantised at load "
                    + "and activations quantised per token as they enter each projection (embeddings, norms and lm_head "
                    + "stay as stored; an FP8 checkpoint runs in FP8 either way); on cuda the projections run on "
                    + "Hopper's FP8 tensor cores (compute capability 9.0)")
            .option("--add-special-tokens", "B", "`true`", "whether tokenizing adds the tokenizer's special tokens "
                    + "(BOS); `false` for prompts that already carry BOS or a chat template")
            .flag("--allow-beyond-max-positions", "run prompts longer than the model's `max_position_embeddings` (RoPE "
                    + "scaling that extends the model); by default they are `too_long` error rows")
            .option("--partitions", "N", "4 waves", "cost-balanced partitions of the corpus; by default "
                    + "four waves' worth, 4 x `--wave-partitions` (with `--wave-partitions 0`: Spark's default parallelism)")
            .option("--wave-partitions", "N", "Spark's default parallelism", "partitions pre-filled and committed "
                    + "to the output together; a driver that dies loses at most the wave in flight, which "
                    + "`--write-mode resume` redoes (0 = every partition in one wave)")
            .option("--mode", "M", "`first-token`", "`first-token`, `kv-summary` (KV summaries to `--output`) or "
                    + "`both` (one pre-fill: first tokens to `--output`, KV summaries to `--kv-output`)")
            .option("--kv-output", "PATH", "`--output` + `-kv`", "where `--mode both` writes the KV summaries")
            .option("--kv-window", "W", Integer.toString(KvSummaryOptions.DEFAULT_WINDOW),
                    "KV observation window: the last W prompt queries vote, and are kept")
            .option("--kv-top-k", "K", Integer.toString(KvSummaryOptions.DEFAULT_TOP_K),
                    "positions kept by vote per layer and KV head")
            .option("--kv-sinks", "S", Integer.toString(KvSummaryOptions.DEFAULT_SINKS), "first positions always kept")
            .option("--kv-pool-kernel", "N", Integer.toString(KvSummaryOptions.DEFAULT_KERNEL),
                    "odd width of the pooling filter over the votes")
            .option("--kv-pooling", "P", "`max`", "`max` or `avg`")
            .option("--kv-max-bytes", "B", "1 GiB", "a larger summary is not written: its document gets one "
                    + "`kv_too_large` error row with the numbers; 0 = no limit")
            .option("--master", "URL", null, "Spark master when not launched by spark-submit (e.g. `local[2]`)")
            .repeatable("--conf", "KEY=VALUE", "a Spark setting (`spark.prefill.*` ones are checked against the "
                    + "settings table)")
            .option("--text-extensions", "E", "`txt`", "extensions read as documents from a text folder, "
                    + "comma-separated; other files are skipped")
            .flag("--binary-text", "accept a binary text column (Parquet), decoded as UTF-8; invalid bytes make an "
                    + "`unparseable` row")
            .flag("--no-summary", "do not print the result table at the end")
            .flag("--fail-on-document-errors", "exit with code 5 when the job completed but some documents are "
                    + "error rows (without it: 0)")
            .build();

    /** @throws UsageException naming the option when the arguments are wrong */
    public static JobOptions parse(String[] args) {
        OptionTable.Parsed p = TABLE.parse(args);
        String input = p.required("--input");
        String output = p.required("--output");
        String model = p.required("--model");
        if (p.has("--question") && p.has("--question-column")) {
            throw new UsageException("give either --question or --question-column, not both");
        }
        Mode mode = p.choice("--mode", Mode.class, Mode.FIRST_TOKEN);
        WriteMode writeMode = p.choice("--write-mode", WriteMode.class, WriteMode.ERROR);
        boolean kvOptionGiven = p.given().stream().anyMatch(k -> k.startsWith("--kv-"));
        if (!mode.writesKv() && kvOptionGiven) {
            throw new UsageException("--kv-* options need --mode kv-summary or --mode both");
        }
        if (p.has("--kv-output") && mode != Mode.BOTH) {
            throw new UsageException("--kv-output is for --mode both; with --mode kv-summary the summaries go to --output");
        }
        if (mode == Mode.BOTH && writeMode == WriteMode.RESUME) {
            // Two outputs could disagree on which documents are done; resume each mode on its own.
            throw new UsageException("--write-mode resume is not supported with --mode both");
        }
        String kvOutput = mode == Mode.BOTH ? p.value("--kv-output", defaultKvOutput(output)) : null;
        if (kvOutput != null && kvOutput.replaceAll("/+$", "").equals(output.replaceAll("/+$", ""))) {
            throw new UsageException("--kv-output must differ from --output");
        }
        KvSummaryOptions kv;
        try {
            kv = new KvSummaryOptions(p.integer("--kv-window", KvSummaryOptions.DEFAULT_WINDOW, 1),
                    p.integer("--kv-top-k", KvSummaryOptions.DEFAULT_TOP_K, 0),
                    p.integer("--kv-sinks", KvSummaryOptions.DEFAULT_SINKS, 0),
                    p.integer("--kv-pool-kernel", KvSummaryOptions.DEFAULT_KERNEL, 1),
                    KvSummaryOptions.Pooling.parse(p.value("--kv-pooling", "max")),
                    p.longValue("--kv-max-bytes", KvSummaryOptions.DEFAULT_MAX_BYTES, 0));
        } catch (UsageException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new UsageException("KV summary options: " + e.getMessage(), e);
        }
        LengthPolicy lengthPolicy;
        try {
            lengthPolicy = LengthPolicy.parse(p.value("--length-policy", "error"));
        } catch (IllegalArgumentException e) {
            throw new UsageException("option --length-policy: " + e.getMessage(), e);
        }
        Map<String, String> conf = p.keyValues("--conf");
        try {
            PrefillSettings.checkSparkSettings(conf);
        } catch (IllegalArgumentException e) {
            throw new UsageException("option --conf: " + e.getMessage(), e);
        }
        return new JobOptions(input, inputFormat(p.value("--input-format"), input),
                p.value("--id-column", "id"), p.value("--text-column", "text"),
                p.value("--question-column"), p.value("--question"), output,
                writeMode, model, p.value("--patterns"), backend(p.value("--backend", AUTO)),
                p.integer("--top-k", 5, 1), p.integer("--max-tokens", 0, 0),
                lengthPolicy, p.value("--template"),
                p.integer("--partitions", 0, 1), p.value("--master"), conf, !p.has("--no-summary"), mode, kvOutput, kv,
                p.integer("--min-sparse-length", EngineOptions.CONFIG_MIN_SPARSE_LENGTH, 0),
                p.bool("--add-special-tokens", true), p.has("--allow-beyond-max-positions"),
                p.has("--fail-on-document-errors"),
                textExtensions(p.value("--text-extensions", "txt")), p.has("--binary-text"),
                p.integer("--wave-partitions", Waves.DEFAULT, 0), minKeptMass(p), weights(p.value("--weights", "bf16")));
    }

    /** In [0, 1]. */
    private static double minKeptMass(OptionTable.Parsed p) {
        double m = p.number("--min-kept-mass", 0);
        if (!(m >= 0 && m <= 1)) throw new UsageException("option --min-kept-mass: must be in [0, 1], got " + m);
        return m;
    }

    /** The options with the input format the job recognised from the input path itself. */
    public JobOptions withInputFormat(InputFormat format) {
        return new JobOptions(input, format, idColumn, textColumn, questionColumn, question, output, writeMode, model,
                patterns, backend, topK, maxTokens, lengthPolicy, template, partitions, master, sparkConf, printSummary,
                mode, kvOutput, kvSummary, minSparseLength, addSpecialTokens, allowBeyondMaxPositions,
                failOnDocumentErrors, textExtensions, binaryText, wavePartitions, minKeptMass, weights);
    }

    private static WeightFormat weights(String v) {
        try {
            return WeightFormat.ofOption(v.trim().toLowerCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new UsageException("option --weights: " + e.getMessage(), e);
        }
    }

    private static List<String> textExtensions(String v) {
        try {
            return TextFolders.extensions(v);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage(), e);
        }
    }

    private static String backend(String v) {
        String b = v.trim().toLowerCase(Locale.ROOT);
        if (b.equals(AUTO)) return AUTO;
        try {
            return Backends.validate(b);
        } catch (IllegalArgumentException e) {
            throw new UsageException("option --backend: '" + v + "' is not one of [auto, cpu, cuda]");
        }
    }

    /** The format given, else the one the path's extension names, else null (decided from the path itself). */
    private static InputFormat inputFormat(String explicit, String input) {
        if (explicit != null) return OptionTable.choice("--input-format", InputFormat.class, explicit);
        String lower = input.toLowerCase(Locale.ROOT).replaceAll("/+$", "");
        if (lower.endsWith(".jsonl") || lower.endsWith(".json")) return InputFormat.JSONL;
        if (lower.endsWith(".txt")) return InputFormat.TEXT;
        if (lower.endsWith(".parquet")) return InputFormat.PARQUET;
        return null;
    }
}
