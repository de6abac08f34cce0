package io.prefill.cuda;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * Benchmark program (not a test): the online estimate and plan of one layer (32 query heads, 8 KV
 * heads, head_dim 128, random bf16 Q and K made on the device), stage by stage. Vertical-slash
 * (1000, 6096): the last queries' row statistics, the column and diagonal scores, the top-k
 * selection and the CSR plan; block-sparse top 100: pooling, block scores and top-k into the plan.
 * Each stage's device time (median of the runs, CUDA events) and the whole estimate + plan's host
 * wall time. Usage:
 *   EstimateBenchmark [--sizes 131072,524288] [--out results.tsv]
 * Under Nsight Compute (`ncu --metrics gpu__time_duration.sum`) it gives each kernel's time.
 */
public final class EstimateBenchmark {
    static final int HEADS = 32, KV_HEADS = 8, D = 128, VERTICAL = 1000, SLASH = 6096, TOP_BLOCKS = 100;

    public static void main(String[] args) throws IOException {
        List<Integer> sizes = List.of(131072, 524288);
        Path out = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--sizes" -> sizes = Arrays.stream(args[++i].split(",")).map(Integer::parseInt).toList();
                case "--out" -> out = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        List<String> rows = new ArrayList<>();
        rows.add("n\tstage\tms\tclock");
        try (BenchmarkDevice b = BenchmarkDevice.open()) {
            System.out.println("device: " + b.device + ", " + b.availability.reason());
            for (int n : sizes) rows.addAll(runSize(b.module, b.stream, b.arena, n));
        }
        if (out != null) Files.write(out, rows);
    }

    static List<String> runSize(KernelModule module, CudaStream stream, DeviceArena arena, int n) {
        AttentionShape s = new AttentionShape(HEADS, KV_HEADS, n, D);
        long mark = arena.mark();
        List<String> rows = new ArrayList<>();
        DeviceBuffer q = arena.alloc(2 * s.qElements(), "q"), k = arena.alloc(2 * s.kvElements(), "k");
        AttentionBenchmark.fillRandom(module, stream, q, s.qElements(), 1);
        AttentionBenchmark.fillRandom(module, stream, k, s.kvElements(), 2);
        int reps = n >= 262144 ? 3 : 5;
        int[] vb = new int[HEADS], sb = new int[HEADS];
        Arrays.fill(vb, VERTICAL);
        Arrays.fill(sb, SLASH);

        VerticalSlashGpu vs = new VerticalSlashGpu(module, stream, arena);
        long m = arena.mark();
        rows.add(row(n, "VS row statistics", "device", time(stream, reps, arena, () -> vs.rowStats(q, k, s))));
        DeviceBuffer rowStat = vs.rowStats(q, k, s);
        rows.add(row(n, "VS column and diagonal scores", "device",
                time(stream, reps, arena, () -> vs.scores(q, k, s, rowStat))));
        VerticalSlashGpu.VsScores scores = vs.scores(q, k, s, rowStat);
        rows.add(row(n, "VS top-k selection", "device", time(stream, reps, arena, () -> vs.select(scores, vb, sb))));
        VsSelection sel = vs.select(scores, vb, sb);
        rows.add(row(n, "VS plan (count, scan, fill)", "device", time(stream, reps, arena, () -> vs.plan(sel, n))));
        arena.reset(m);
        rows.add(row(n, "VS estimate + plan", "wall",
                wall(stream, reps, arena, () -> vs.plan(vs.estimate(q, k, s, vb, sb), n))));

        BlockSparseGpu bs = new BlockSparseGpu(module, stream, arena);
        rows.add(row(n, "block-sparse estimate + plan", "device",
                time(stream, reps, arena, () -> bs.plan(q, k, s, TOP_BLOCKS))));
        rows.add(row(n, "block-sparse estimate + plan", "wall",
                wall(stream, reps, arena, () -> bs.plan(q, k, s, TOP_BLOCKS))));
        arena.reset(mark);
        return rows;
    }

    static String row(int n, String stage, String clock, double ms) {
        System.out.printf(Locale.ROOT, "n=%-7d %-36s %-6s %10.3f ms%n", n, stage, clock, ms);
        return String.format(Locale.ROOT, "%d\t%s\t%.3f\t%s", n, stage, ms, clock);
    }

    /**
     * AttentionBenchmark's median device time, with what each run allocates released after it is
     * enqueued (the one stream orders the next run's writes after this run's kernels).
     */
    static double time(CudaStream stream, int reps, DeviceArena arena, Supplier<?> work) {
        return AttentionBenchmark.time(stream, reps, released(arena, work));
    }

    /** AttentionBenchmark's median host wall time, to the end of the stream's work, likewise. */
    static double wall(CudaStream stream, int reps, DeviceArena arena, Supplier<?> work) {
        return AttentionBenchmark.wall(stream, reps, released(arena, work));
    }

    private static Supplier<Void> released(DeviceArena arena, Supplier<?> work) {
        return () -> {
            long m = arena.mark();
            work.get();
            arena.reset(m);
            return null;
        };
    }
}
