package io.prefill.job.search;

import io.prefill.engine.Backends;
import io.prefill.search.PatternFamily;
import io.prefill.search.SearchOptions;
import io.prefill.settings.Names;
import io.prefill.settings.OptionTable;
import io.prefill.settings.UsageException;
import io.prefill.sparse.PatternConfig;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** Command-line options of {@link io.prefill.job.PatternSearchJob}, parsed from {@link #TABLE}. */
public record SearchJobOptions(Path model, List<Path> calibration, double targetCost, Path output, Path report,
                               int minSparseLength, int maxTokens, int recallRows, Path pinned, String modelName,
                               String backend, int device, SearchOptions.ScoredRows scoredRows,
                               List<PatternFamily> families) {

    public static final double DEFAULT_TARGET_COST = 0.1;
    public static final int DEFAULT_RECALL_ROWS = 256;

    public static final OptionTable TABLE = OptionTable.builder(
                    "spark-submit --class io.prefill.job.PatternSearchJob job-<version>-spark.jar [options]")
            .required("--model", "DIR", "local Hugging Face model directory")
            .required("--calibration", "PATH[,PATH]", "`.txt` files (one document each), `.jsonl` files (`id`, `text` "
                    + "per line; empty rows skipped), or folders of them")
            .option("--target-cost", "F", Double.toString(DEFAULT_TARGET_COST),
                    "fraction of dense causal attention each head may compute, in (0, 1]")
            .required("--output", "FILE", "the config, in our schema")
            .option("--report", "FILE", "beside the config, `NAME.report.md`", "the Markdown report")
            .option("--min-sparse-length", "N", Integer.toString(PatternConfig.DEFAULT_MIN_SPARSE_LENGTH),
                    "written to the config; every calibration document must be at least this long")
            .option("--max-tokens", "N", "0", "keep only the first N tokens of each document (0 = all)")
            .option("--recall-rows", "N", Integer.toString(DEFAULT_RECALL_ROWS), "rows sampled per head for recall")
            .option("--pinned", "FILE", null, "a config of the same model whose `dense` heads stay dense and are not searched")
            .option("--model-name", "NAME", "the directory name", "the config's `model`")
            .option("--backend", "B", "`cpu`", "`cpu` or `cuda` (the driver's GPU): where the documents are scored; "
                    + "`cuda` fails before any work, saying why, when the CUDA backend is unavailable")
            .option("--device", "N", "0", "the CUDA device for `--backend cuda`")
            .option("--scored-rows", "R", "`all`", "`all`: a candidate's error is measured on every row of the head's "
                    + "output (for KV summaries); `last-block`: on the last 64-row query block, whose last row becomes "
                    + "the first token (for first-token jobs)")
            .option("--families", "F[,F]", "`" + String.join(",", names(PatternFamily.DEFAULT)) + "`",
                    "the candidate families, of " + String.join(", ", PatternFamily.patternNames()) + " (a near tie "
                    + "goes to the earlier in that order); `adaptive` adds heads whose budgets follow each prompt "
                    + "(both backends score it)")
            .build();

    /** @throws UsageException naming the option when the arguments are wrong */
    public static SearchJobOptions parse(String[] args) {
        OptionTable.Parsed p = TABLE.parse(args);
        Path model = Path.of(p.required("--model"));
        List<Path> calibration = new ArrayList<>();
        for (String c : p.required("--calibration").split(",")) if (!c.isBlank()) calibration.add(Path.of(c.trim()));
        Path output = Path.of(p.required("--output"));
        double target = p.number("--target-cost", DEFAULT_TARGET_COST);
        if (!(target > 0 && target <= 1)) {
            throw new UsageException("--target-cost must be a fraction of dense in (0, 1], got " + target);
        }
        String backend = p.value("--backend", Backends.CPU).trim().toLowerCase(Locale.ROOT);
        if (!Backends.NAMES.contains(backend)) {
            throw new UsageException("option --backend: '" + p.value("--backend") + "' is not one of " + Backends.NAMES);
        }
        SearchOptions.ScoredRows scored = OptionTable.choice("--scored-rows", SearchOptions.ScoredRows.class,
                p.value("--scored-rows", "all"));
        List<PatternFamily> families = families(p.value("--families", String.join(",", names(PatternFamily.DEFAULT))));
        Path report = p.has("--report") ? Path.of(p.value("--report")) : defaultReport(output);
        String name = p.value("--model-name", model.toAbsolutePath().normalize().getFileName().toString());
        return new SearchJobOptions(model, List.copyOf(calibration), target, output, report,
                p.integer("--min-sparse-length", PatternConfig.DEFAULT_MIN_SPARSE_LENGTH, 0),
                p.integer("--max-tokens", 0, 0), p.integer("--recall-rows", DEFAULT_RECALL_ROWS, 0),
                p.has("--pinned") ? Path.of(p.value("--pinned")) : null, name, backend, p.integer("--device", 0, 0), scored,
                families);
    }

    /** The families of a comma-separated list of config pattern names, in preference order. */
    static List<PatternFamily> families(String list) {
        Set<String> asked = new LinkedHashSet<>();
        for (String name : list.split(",")) {
            String n = name.trim().toLowerCase(Locale.ROOT).replace('-', '_');
            if (n.isEmpty()) continue;
            if (PatternFamily.named(n).isEmpty()) {
                throw new UsageException("option --families: '" + name.trim() + "' is not one of "
                        + PatternFamily.patternNames() + Names.didYouMean(n, PatternFamily.patternNames()));
            }
            asked.add(n);
        }
        if (asked.isEmpty()) throw new UsageException("option --families: no family given");
        return Arrays.stream(PatternFamily.values()).filter(f -> asked.contains(f.patternName())).toList();
    }

    private static List<String> names(List<PatternFamily> families) {
        return families.stream().map(PatternFamily::patternName).distinct().toList();
    }

    /** The report goes next to the config: x.json -> x.report.md. */
    static Path defaultReport(Path output) {
        String file = output.getFileName().toString();
        String stem = file.endsWith(".json") ? file.substring(0, file.length() - 5) : file;
        return output.resolveSibling(stem + ".report.md");
    }
}
