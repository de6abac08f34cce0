package io.prefill.cuda.forward;

import io.prefill.engine.DocumentException;
import io.prefill.engine.ForwardOutput;
import io.prefill.model.Architecture;
import io.prefill.model.ModelConfig;
import io.prefill.model.RopeScaling;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Whole-model pre-fill time on a Llama-3-8B shape with synthetic weights generated on the GPU, in
 * MInference mode (a per-head pattern config) and dense mode, with the per-stage breakdown.
 * Random weights have no sparse structure, so the online estimate (run and timed in every mode)
 * finds scattered diagonals that cover almost every block: "minference-estimated" is that, on the
 * sizes of --estimated-sizes. "minference" substitutes, per vertical-slash head and within its
 * budgets, the index shape trained models give and MInference's kernels are judged on (sink
 * columns 0..29, the rest of the columns scattered, diagonals 0..slash-1).
 * Not a test: run on a GPU node (scripts/gpu-bundle/run.sh model-bench), results in BENCHMARKS.md.
 * <pre>
 *   PrefillBenchmark --patterns FILE [--sizes 32768,...] [--estimated-sizes 32768] [--dense-sizes 32768,131072] [--out FILE]
 *                    [--model llama3-8b|llama3-70b] [--weights bf16|fp8|bf16,fp8]
 * </pre>
 * --weights runs the modes once per format (FP8: E4M3 projections with row scales, activations
 * quantised per token; modes get a "-fp8" suffix); --model llama3-70b is Llama-3-70B's shape (80
 * layers, hidden 8192, 64 query / 8 KV heads), which fits one 141 GB card only in FP8. A length
 * the device cannot hold gives a row "does not fit" with the memory plan's numbers, and the run
 * goes on. The last columns are the weights' GiB and the device memory in use.
 */
public final class PrefillBenchmark {
    public static final ModelConfig LLAMA3_8B = new ModelConfig(Architecture.LLAMA, 128256, 4096, 14336, 32, 32, 8, 128,
            1e-5, 500000.0, RopeScaling.NONE, 1 << 20, false, false, 128000, 128001);

    public static final ModelConfig LLAMA3_70B = new ModelConfig(Architecture.LLAMA, 128256, 8192, 28672, 80, 64, 8, 128,
            1e-5, 500000.0, RopeScaling.NONE, 1 << 20, false, false, 128000, 128001);

    public static void main(String[] args) throws IOException {
        String sizes = "32768,131072,524288,1048576", denseSizes = "32768,131072", estimatedSizes = "32768,131072";
        String out = null, patternsFile = null, model = "llama3-8b", weights = "bf16";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--sizes" -> sizes = args[++i];
                case "--dense-sizes" -> denseSizes = args[++i];
                case "--estimated-sizes" -> estimatedSizes = args[++i];
                case "--out" -> out = args[++i];
                case "--patterns" -> patternsFile = args[++i];
                case "--model" -> model = args[++i];
                case "--weights" -> weights = args[++i];
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        ModelConfig c = switch (model) {
            case "llama3-8b" -> LLAMA3_8B;
            case "llama3-70b" -> LLAMA3_70B;
            default -> throw new IllegalArgumentException("--model must be llama3-8b or llama3-70b, got " + model);
        };
        String shape = model.equals("llama3-8b") ? "Llama-3-8B" : "Llama-3-70B";
        PatternConfig sparse = patternsFile == null
                ? PatternConfig.uniform("minference-default", c.numLayers(), c.numHeads(),
                        PatternConfig.DEFAULT_MIN_SPARSE_LENGTH, PatternConfig.MINFERENCE_DEFAULT)
                : PatternConfig.read(Path.of(patternsFile));
        PatternConfig dense = PatternConfig.uniform("dense", c.numLayers(), c.numHeads(), 0, new HeadPattern.Dense());
        List<String> rows = new ArrayList<>();
        rows.add("mode\tn\tseconds\tgemm_ms\tattention_ms\testimate_ms\tother_ms\tdensity\tchunk\tdevice_gib\tcertificate_ms"
                + "\tkept_min\tkept_mean\tweights_gib");
        for (String format : weights.split(",")) {
            boolean fp8 = switch (format.trim()) {
                case "bf16" -> false;
                case "fp8" -> true;
                default -> throw new IllegalArgumentException("--weights must list bf16 and/or fp8, got " + format);
            };
            String suffix = fp8 ? "-fp8" : "";
            long t0 = System.nanoTime();
            try (CudaForwardPass mi = CudaForwardPass.synthetic(c, 1, fp8, sparse, CudaBackendOptions.defaults().profiled())) {
                System.out.printf("synthetic %s weights, %s (%.2f GiB) generated in %.1f s on %s; patterns %s%n", shape,
                        fp8 ? "FP8 projections" : "bf16", mi.weightBytes() / (double) (1L << 30),
                        (System.nanoTime() - t0) / 1e9, mi.device(),
                        patternsFile == null ? "MInference default (1000, 6096)" : patternsFile);
                mi.forward(tokens(4096, c.vocabSize(), 0));  // warm-up: module, allocations, clocks
                for (String s : estimatedSizes.split(",")) {
                    if (!s.isBlank()) rows.add(run(mi, "minference-estimated" + suffix, Integer.parseInt(s.trim())));
                }
                TrainedModelShape substitute = new TrainedModelShape();
                mi.overrideSelections(substitute);
                for (String s : sizes.split(",")) {
                    if (s.isBlank()) continue;
                    substitute.prepare(sparse, Integer.parseInt(s.trim()));
                    rows.add(run(mi, "minference" + suffix, Integer.parseInt(s.trim())));
                }
            }
            if (!denseSizes.isBlank()) {
                try (CudaForwardPass de = CudaForwardPass.synthetic(c, 1, fp8, dense, CudaBackendOptions.defaults().profiled())) {
                    for (String s : denseSizes.split(",")) rows.add(run(de, "dense" + suffix, Integer.parseInt(s.trim())));
                }
            }
        }
        System.out.println("==== pre-fill, " + shape + " shape, synthetic weights");
        rows.forEach(System.out::println);
        if (out != null) Files.write(Path.of(out), rows);
    }

    private static String run(CudaForwardPass f, String mode, int n) {
        System.out.printf("%s n=%d ...%n", mode, n);
        int[] tokens = tokens(n, f.config().vocabSize(), n);
        long start = System.nanoTime();
        ForwardOutput o;
        try {
            o = f.forward(tokens);
        } catch (DocumentException e) {
            if (e.kind() != DocumentException.Kind.DEVICE_MEMORY) throw e;
            String row = String.format("%s\t%d\tdoes not fit: %s", mode, n, e.getMessage());
            System.out.println(row);
            return row;
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        Map<StageClock.Stage, Double> ms = f.lastStageMillis();
        for (float x : o.lastLogits()) if (!Float.isFinite(x)) throw new IllegalStateException(mode + " n=" + n + ": non-finite logits");
        String row = String.format("%s\t%d\t%.3f\t%.0f\t%.0f\t%.0f\t%.0f\t%.4f\t%d\t%.1f\t%.0f\t%.4f\t%.4f\t%.1f", mode, n, seconds,
                ms.getOrDefault(StageClock.Stage.GEMM, 0.0), ms.getOrDefault(StageClock.Stage.ATTENTION, 0.0),
                ms.getOrDefault(StageClock.Stage.ESTIMATE, 0.0), ms.getOrDefault(StageClock.Stage.OTHER, 0.0),
                o.attention().density(), f.lastMemoryPlan().chunkTokens(), f.lastDeviceBytesInUse() / (double) (1L << 30),
                ms.getOrDefault(StageClock.Stage.CERTIFICATE, 0.0), o.attention().kept().min(), o.attention().kept().mean(),
                f.weightBytes() / (double) (1L << 30));
        System.out.println(row);
        return row;
    }

    /**
     * The substitute index shape, made before the timed pre-fill for every fixed-budget head of the
     * config (what the hook is asked during the layer loop is then a lookup, so the host does not
     * hold the device up while it draws the lists; adaptive heads' budgets come from the device
     * and are drawn when asked). A trained model's lists come from the estimate on the device, so
     * drawing them on the host is the benchmark's cost, not the product's.
     */
    static final class TrainedModelShape implements LayerAttention.SelectionOverride {
        private record Key(int layer, int head, int n, int vertical, int slash) { }

        private final Map<Key, int[][]> lists = new java.util.HashMap<>();

        /** Draws the lists of every vertical-slash head of `patterns` at n tokens (and forgets other lengths'). */
        void prepare(PatternConfig patterns, int n) {
            lists.clear();
            for (int l = 0; l < patterns.numLayers(); l++) {
                for (int h = 0; h < patterns.numHeads(); h++) {
                    if (patterns.pattern(l, h) instanceof HeadPattern.VerticalSlash vs) {
                        int v = io.prefill.sparse.VerticalSlashEstimator.verticalBudget(vs.verticalSize(), n);
                        int sl = io.prefill.sparse.VerticalSlashEstimator.slashBudget(vs.slashSize(), n);
                        lists.put(new Key(l, h, n, v, sl), trainedModelShape(l, h, n, v, sl));
                    }
                }
            }
        }

        @Override
        public int[][] select(int layer, int head, int n, int vertical, int slash) {
            return lists.computeIfAbsent(new Key(layer, head, n, vertical, slash),
                    k -> trainedModelShape(layer, head, n, vertical, slash));
        }
    }

    /** Sink columns 0..29 plus columns scattered at random (seeded per head), diagonals 0..slash-1. */
    static int[][] trainedModelShape(int layer, int head, int n, int vertical, int slash) {
        Random r = new Random(31L * layer + head);
        java.util.BitSet cols = new java.util.BitSet(n);
        int count = Math.min(30, vertical);
        cols.set(0, count);
        while (count < vertical) {
            int c = r.nextInt(n);
            if (!cols.get(c)) {
                cols.set(c);
                count++;
            }
        }
        return new int[][] {cols.stream().toArray(), java.util.stream.IntStream.range(0, slash).toArray()};
    }

    static int[] tokens(int n, int vocab, long seed) {
        Random r = new Random(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = r.nextInt(vocab);
        return t;
    }
}
