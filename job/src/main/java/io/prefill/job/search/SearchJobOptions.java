package io.prefill.job.search;

import io.prefill.sparse.PatternConfig;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Command-line options of {@link io.prefill.job.PatternSearchJob}. */
public record SearchJobOptions(Path model, List<Path> calibration, double targetCost, Path output, Path report,
                               int minSparseLength, int maxTokens, int recallRows, Path pinned, String modelName,
                               String backend, int device) {

    public static final String USAGE = "usage: PatternSearchJob --model DIR --calibration PATH[,PATH...] "
        + "--output CONFIG.json [--target-cost 0.1] [--report REPORT.md] [--min-sparse-length 8192] "
        + "[--max-tokens N] [--recall-rows 256] [--pinned CONFIG] [--model-name NAME] [--backend cpu|cuda] [--device N]";

    public static SearchJobOptions parse(String[] args) {
        Path model = null, output = null, report = null, pinned = null;
        List<Path> calibration = new ArrayList<>();
        double target = 0.1;
        int minSparse = PatternConfig.DEFAULT_MIN_SPARSE_LENGTH, maxTokens = 0, recallRows = 256;
        String name = null, backend = "cpu";
        int device = 0;
        for (int i = 0; i < args.length; i++) {
            String flag = args[i];
            if (i + 1 >= args.length) throw new IllegalArgumentException(flag + " needs a value\n" + USAGE);
            String value = args[++i];
            switch (flag) {
                case "--model" -> model = Path.of(value);
                case "--calibration" -> { for (String p : value.split(",")) calibration.add(Path.of(p)); }
                case "--target-cost" -> target = number(flag, value);
                case "--output" -> output = Path.of(value);
                case "--report" -> report = Path.of(value);
                case "--min-sparse-length" -> minSparse = whole(flag, value);
                case "--max-tokens" -> maxTokens = whole(flag, value);
                case "--recall-rows" -> recallRows = whole(flag, value);
                case "--pinned" -> pinned = Path.of(value);
                case "--model-name" -> name = value;
                case "--backend" -> backend = value;
                case "--device" -> device = whole(flag, value);
                default -> throw new IllegalArgumentException("unknown option " + flag + "\n" + USAGE);
            }
        }
        if (model == null) throw new IllegalArgumentException("--model is required\n" + USAGE);
        if (calibration.isEmpty()) throw new IllegalArgumentException("--calibration is required\n" + USAGE);
        if (output == null) throw new IllegalArgumentException("--output is required\n" + USAGE);
        if (!(target > 0 && target <= 1)) {
            throw new IllegalArgumentException("--target-cost must be a fraction of dense in (0, 1], got " + value(target));
        }
        if (!backend.equals("cpu") && !backend.equals("cuda")) {
            throw new IllegalArgumentException("--backend must be cpu or cuda, got '" + backend + "'\n" + USAGE);
        }
        if (report == null) report = defaultReport(output);
        if (name == null) name = model.toAbsolutePath().normalize().getFileName().toString();
        return new SearchJobOptions(model, List.copyOf(calibration), target, output, report, minSparse, maxTokens,
            recallRows, pinned, name, backend, device);
    }

    /** The report goes next to the config: x.json -> x.report.md. */
    static Path defaultReport(Path output) {
        String file = output.getFileName().toString();
        String stem = file.endsWith(".json") ? file.substring(0, file.length() - 5) : file;
        return output.resolveSibling(stem + ".report.md");
    }

    private static String value(double d) { return Double.toString(d); }

    private static double number(String flag, String value) {
        try {
            return Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " must be a number, got '" + value + "'");
        }
    }

    private static int whole(String flag, String value) {
        try {
            int v = Integer.parseInt(value);
            if (v < 0) throw new IllegalArgumentException(flag + " must be >= 0, got " + v);
            return v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " must be a whole number, got '" + value + "'");
        }
    }
}
