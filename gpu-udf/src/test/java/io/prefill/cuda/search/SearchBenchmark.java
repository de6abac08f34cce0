package io.prefill.cuda.search;

import io.prefill.cuda.forward.CudaBackendOptions;
import io.prefill.cuda.forward.PrefillBenchmark;
import io.prefill.model.ModelConfig;
import io.prefill.search.CalibrationDocument;
import io.prefill.search.HeadOutcome;
import io.prefill.search.PatternSearch;
import io.prefill.search.SearchOptions;
import io.prefill.search.SearchOutcome;
import io.prefill.search.SearchReport;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * Time of the pattern search on the device for a Llama-3-8B-shaped model (synthetic weights
 * generated on the GPU) on one calibration document per size, next to the dense pre-fill alone.
 * Random weights attend almost uniformly, so the chosen patterns say nothing about a trained
 * model; the time does not depend on them (every family is fitted and scored for every head).
 * Not a test: run on a GPU node (scripts/gpu-bundle/run.sh search-bench), results in BENCHMARKS.md.
 * <pre>
 *   SearchBenchmark [--sizes 65536] [--target 0.1] [--out FILE.tsv] [--report DIR]
 * </pre>
 */
public final class SearchBenchmark {
    public static void main(String[] args) throws IOException {
        String sizes = "65536", out = null, reportDir = null;
        double target = 0.1;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--sizes" -> sizes = args[++i];
                case "--target" -> target = Double.parseDouble(args[++i]);
                case "--out" -> out = args[++i];
                case "--report" -> reportDir = args[++i];
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        ModelConfig c = PrefillBenchmark.LLAMA3_8B;
        StringBuilder tsv = new StringBuilder("tokens\tsearch_s\tdense_prefill_s\tscoring_s\tlayers\theads\tpatterns\n");
        try (GpuCalibrationScorer scorer = GpuCalibrationScorer.synthetic("llama3-8b-synthetic", c, 1,
                CudaBackendOptions.defaults())) {
            System.out.printf(Locale.ROOT, "[search-bench] %s, Llama-3-8B shape, synthetic weights%n",
                    scorer.forwardPass().device());
            run(scorer, c, 4096, target, null);  // warm-up: kernels loaded, JIT compiled
            for (String s : sizes.split(",")) {
                int n = Integer.parseInt(s.trim());
                tsv.append(run(scorer, c, n, target, reportDir));
            }
        }
        System.out.print(tsv);
        if (out != null) Files.writeString(Path.of(out), tsv.toString());
    }

    private static String run(GpuCalibrationScorer scorer, ModelConfig c, int n, double target, String reportDir)
            throws IOException {
        Random r = new Random(n);
        int[] tokens = new int[n];
        for (int i = 0; i < n; i++) tokens[i] = r.nextInt(c.vocabSize());
        long t0 = System.nanoTime();
        scorer.forwardPass().forward(tokens);
        double dense = (System.nanoTime() - t0) / 1e9;
        SearchOptions options = SearchOptions.defaults(target, Math.min(8192, n));
        t0 = System.nanoTime();
        SearchOutcome o = PatternSearch.run("llama3-8b-synthetic", c, scorer,
                java.util.List.of(new CalibrationDocument("random-" + n, tokens)), options, null, null);
        double search = (System.nanoTime() - t0) / 1e9;
        Map<String, Integer> counts = new TreeMap<>();
        for (java.util.List<HeadOutcome> layer : o.heads())
            for (HeadOutcome h : layer) counts.merge(h.chosen().family().name().toLowerCase(Locale.ROOT), 1, Integer::sum);
        System.out.printf(Locale.ROOT, "[search-bench] n=%d: search %.1f s (dense pre-fill alone %.1f s), chosen %s%n",
                n, search, dense, counts);
        if (reportDir != null) {
            Files.createDirectories(Path.of(reportDir));
            SearchReport.write(o, Path.of(reportDir, "search-" + n + ".report.md"));
        }
        return String.format(Locale.ROOT, "%d\t%.2f\t%.2f\t%.2f\t%d\t%d\t%s%n", n, search, dense, search - dense,
                c.numLayers(), c.numHeads(), counts);
    }
}
