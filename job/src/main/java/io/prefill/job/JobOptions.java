package io.prefill.job;

import io.prefill.engine.Backends;
import io.prefill.engine.EngineOptions;
import io.prefill.engine.LengthPolicy;
import io.prefill.kv.KvSummaryOptions;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Command-line options of the pre-fill job. Parsing fails fast with a message naming the option,
 * so a typo never costs a cluster run.
 */
public record JobOptions(String input, InputFormat inputFormat, String idColumn, String textColumn,
                         String questionColumn, String question, String output, WriteMode writeMode,
                         String model, String patterns, String backend, int topK, int maxTokens,
                         LengthPolicy lengthPolicy, String template, int partitions, String master,
                         Map<String, String> sparkConf, boolean printSummary, Mode mode, String kvOutput,
                         KvSummaryOptions kvSummary, int minSparseLength, boolean addSpecialTokens,
                         boolean allowBeyondMaxPositions, List<String> textExtensions, boolean binaryText,
                         int wavePartitions) {

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

    public static final String USAGE = String.join("\n",
            "usage: spark-submit --class io.prefill.job.PrefillJob job-*-spark.jar [options]",
            "  --input PATH            corpus: Parquet, JSON lines, or a folder of .txt files (required)",
            "  --input-format F        parquet | jsonl | text (default: from the path's extension, else parquet)",
            "  --id-column NAME        id column for parquet/jsonl (default id; text: the file name)",
            "  --text-column NAME      text column for parquet/jsonl (default text)",
            "  --question-column NAME  column with a per-document question for the template's {question}",
            "  --question TEXT         one question for every document",
            "  --output PATH           Parquet output directory (required)",
            "  --write-mode M          error (default: refuse an existing output) | overwrite | resume (skip ids already written)",
            "  --model URI             Hugging Face model directory on any Hadoop path (required)",
            "  --patterns FILE         pattern config (ours or MInference's); default: vertical-slash(1000, 6096) for all heads",
            "  --backend B             cpu (default) | cuda",
            "  --top-k K               alternatives kept per document (default 5)",
            "  --max-tokens N          longest prompt pre-filled; 0 = no limit (default)",
            "  --length-policy P       over the maximum: error (default) | head | tail",
            "  --template T            prompt template with {document} and optionally {question}",
            "  --add-special-tokens B  true (default) | false: whether tokenizing adds BOS (false for prompts that",
            "                          already carry BOS or a chat template)",
            "  --min-sparse-length N   prompts shorter than N run every head dense (default: the pattern config's;",
            "                          MInference-format files: 8192)",
            "  --allow-beyond-max-positions  run prompts longer than the model's max_position_embeddings (RoPE",
            "                          scaling that extends the model); default: too_long error rows",
            "  --text-extensions E     extensions read from a text folder, comma-separated (default txt)",
            "  --binary-text           accept a binary text column (parquet), decoded as UTF-8",
            "  --partitions N          cost-balanced partitions of the corpus (default: 4 waves of --wave-partitions)",
            "  --wave-partitions N     partitions written and committed together; a crash loses at most the wave in",
            "                          flight (default: Spark's default parallelism; 0 = all partitions in one wave)",
            "  --mode M                first-token (default) | kv-summary (KV summaries to --output) | both (one pre-fill:",
            "                          first tokens to --output, KV summaries to --kv-output)",
            "  --kv-output PATH        KV-summary output for --mode both (default: --output with -kv appended)",
            "  --kv-window W           KV observation window: the last W prompt queries vote, and are kept (default 32)",
            "  --kv-top-k K            positions kept per layer and KV head by vote (default 1024)",
            "  --kv-sinks S            first positions always kept (default 4)",
            "  --kv-pool-kernel N      odd width of the pooling filter over the votes (default 7)",
            "  --kv-pooling P          max (default) | avg",
            "  --kv-max-bytes B        larger summaries become kv_too_large error rows; 0 = no limit (default 1073741824)",
            "  --master URL            Spark master when not launched by spark-submit (e.g. local[2])",
            "  --conf KEY=VALUE        any Spark setting (repeatable)",
            "  --no-summary            do not print the result table at the end");

    public static JobOptions parse(String[] args) {
        Map<String, String> values = new LinkedHashMap<>();
        Map<String, String> conf = new LinkedHashMap<>();
        boolean summary = true;
        boolean beyondMaxPositions = false;
        List<String> known = List.of("--input", "--input-format", "--id-column", "--text-column", "--question-column",
                "--question", "--output", "--write-mode", "--model", "--patterns", "--backend", "--top-k",
                "--max-tokens", "--length-policy", "--template", "--partitions", "--master", "--conf", "--mode",
                "--kv-output", "--kv-window", "--kv-top-k", "--kv-sinks", "--kv-pool-kernel", "--kv-pooling",
                "--kv-max-bytes", "--min-sparse-length", "--add-special-tokens", "--text-extensions", "--wave-partitions");
        boolean binaryText = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--no-summary")) {
                summary = false;
                continue;
            }
            if (a.equals("--allow-beyond-max-positions")) {
                beyondMaxPositions = true;
                continue;
            }
            if (a.equals("--binary-text")) { binaryText = true; continue; }
            if (a.equals("--help") || a.equals("-h")) throw new IllegalArgumentException(USAGE);
            if (!known.contains(a)) throw new IllegalArgumentException("unknown option '" + a + "'\n" + USAGE);
            if (i + 1 >= args.length) throw new IllegalArgumentException("option " + a + " needs a value");
            String v = args[++i];
            if (a.equals("--conf")) {
                int eq = v.indexOf('=');
                if (eq <= 0) throw new IllegalArgumentException("--conf expects KEY=VALUE, got '" + v + "'");
                conf.put(v.substring(0, eq), v.substring(eq + 1));
            } else {
                values.put(a, v);
            }
        }
        String input = required(values, "--input");
        String output = required(values, "--output");
        String model = required(values, "--model");
        if (values.containsKey("--question") && values.containsKey("--question-column")) {
            throw new IllegalArgumentException("give either --question or --question-column, not both");
        }
        Mode mode = enumOption(Mode.class, "--mode", values.getOrDefault("--mode", "first-token"));
        WriteMode writeMode = enumOption(WriteMode.class, "--write-mode", values.getOrDefault("--write-mode", "error"));
        boolean kvOptionGiven = values.keySet().stream().anyMatch(k -> k.startsWith("--kv-"));
        if (!mode.writesKv() && kvOptionGiven) {
            throw new IllegalArgumentException("--kv-* options need --mode kv-summary or --mode both");
        }
        if (values.containsKey("--kv-output") && mode != Mode.BOTH) {
            throw new IllegalArgumentException("--kv-output is for --mode both; with --mode kv-summary the summaries go to --output");
        }
        if (mode == Mode.BOTH && writeMode == WriteMode.RESUME) {
            // Two outputs could disagree on which documents are done; resume each mode on its own.
            throw new IllegalArgumentException("--write-mode resume is not supported with --mode both");
        }
        String kvOutput = mode == Mode.BOTH ? values.getOrDefault("--kv-output", defaultKvOutput(output)) : null;
        if (kvOutput != null && kvOutput.replaceAll("/+$", "").equals(output.replaceAll("/+$", ""))) {
            throw new IllegalArgumentException("--kv-output must differ from --output");
        }
        KvSummaryOptions kv;
        try {
            kv = new KvSummaryOptions(intOption(values, "--kv-window", KvSummaryOptions.DEFAULT_WINDOW, 1),
                    intOption(values, "--kv-top-k", KvSummaryOptions.DEFAULT_TOP_K, 0),
                    intOption(values, "--kv-sinks", KvSummaryOptions.DEFAULT_SINKS, 0),
                    intOption(values, "--kv-pool-kernel", KvSummaryOptions.DEFAULT_KERNEL, 1),
                    KvSummaryOptions.Pooling.parse(values.getOrDefault("--kv-pooling", "max")),
                    longOption(values, "--kv-max-bytes", KvSummaryOptions.DEFAULT_MAX_BYTES));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("KV summary options: " + e.getMessage(), e);
        }
        return new JobOptions(input, inputFormat(values.get("--input-format"), input),
                values.getOrDefault("--id-column", "id"), values.getOrDefault("--text-column", "text"),
                values.get("--question-column"), values.get("--question"), output,
                writeMode, model, values.get("--patterns"), Backends.validate(values.getOrDefault("--backend", "cpu")),
                intOption(values, "--top-k", 5, 1), intOption(values, "--max-tokens", 0, 0),
                LengthPolicy.parse(values.getOrDefault("--length-policy", "error")), values.get("--template"),
                intOption(values, "--partitions", 0, 1), values.get("--master"), conf, summary, mode, kvOutput, kv,
                intOption(values, "--min-sparse-length", EngineOptions.CONFIG_MIN_SPARSE_LENGTH, 0),
                booleanOption(values, "--add-special-tokens", true), beyondMaxPositions,
                TextFolders.extensions(values.getOrDefault("--text-extensions", "txt")), binaryText,
                intOption(values, "--wave-partitions", Waves.DEFAULT, 0));
    }

    private static String required(Map<String, String> values, String name) {
        String v = values.get(name);
        if (v == null || v.isBlank()) throw new IllegalArgumentException("missing required option " + name + "\n" + USAGE);
        return v;
    }

    private static int intOption(Map<String, String> values, String name, int dflt, int min) {
        String v = values.get(name);
        if (v == null) return dflt;
        try {
            int x = Integer.parseInt(v.trim());
            if (x < min) throw new IllegalArgumentException("option " + name + " must be at least " + min + ", got " + x);
            return x;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("option " + name + " expects an integer, got '" + v + "'");
        }
    }

    private static boolean booleanOption(Map<String, String> values, String name, boolean dflt) {
        String v = values.get(name);
        if (v == null) return dflt;
        return switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException("option " + name + " expects true or false, got '" + v + "'");
        };
    }

    private static long longOption(Map<String, String> values, String name, long dflt) {
        String v = values.get(name);
        if (v == null) return dflt;
        try {
            long x = Long.parseLong(v.trim());
            if (x < 0) throw new IllegalArgumentException("option " + name + " must be at least 0, got " + x);
            return x;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("option " + name + " expects an integer, got '" + v + "'");
        }
    }

    private static <E extends Enum<E>> E enumOption(Class<E> type, String name, String v) {
        try {
            return Enum.valueOf(type, v.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            List<String> allowed = new ArrayList<>();
            for (E c : type.getEnumConstants()) allowed.add(c.name().toLowerCase(Locale.ROOT).replace('_', '-'));
            throw new IllegalArgumentException("option " + name + ": '" + v + "' is not one of " + allowed);
        }
    }

    private static InputFormat inputFormat(String explicit, String input) {
        if (explicit != null) return enumOption(InputFormat.class, "--input-format", explicit);
        String lower = input.toLowerCase(Locale.ROOT);
        if (lower.endsWith(".jsonl") || lower.endsWith(".json")) return InputFormat.JSONL;
        if (lower.endsWith(".txt")) return InputFormat.TEXT;
        return InputFormat.PARQUET;
    }
}
