package io.prefill.cuda;

import io.prefill.cuda.Kernel.Dim3;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * Benchmark program (not a test): one layer of 32 query heads, 8 KV heads, head_dim 128, bf16,
 * random inputs made on the device. Prints ms and TFLOP/s counted on the entries each kernel
 * actually computes. Usage:
 *   AttentionBenchmark [--sizes 32768,131072,524288] [--out results.tsv] [--no-dense] [--no-estimated] [--dense-only]
 *                      [--plan-variants PLAN_MMA,PLAN_WGMMA,...] (64-row kernels timed on each plan, in order;
 *                      a variant named again is a second round, reported with "#2")
 *                      [--dense-variants DENSE_WS,DENSE_WS_TMA,...] (dense kernels in order; default: the default twice)
 *                      [--pair-variants PAIR_PLAN_WS,PAIR_PLAN_WS_TMA,...] (pair kernels in order)
 *                      [--vs-budgets 1000:6096,30:800,3500:100] (realistic vertical-slash plans to time; default 1000:6096)
 *   AttentionBenchmark --dump DIR   (writes a small dense case for bench/check_dense_vs_torch.py)
 */
public final class AttentionBenchmark {
    static final int HEADS = 32, KV_HEADS = 8, D = 128;
    static boolean dense = true, estimated = true, denseOnly = false;
    static AttentionKernels.Variant[] planVariants = {AttentionKernels.Variant.PLAN_MMA,
            AttentionKernels.Variant.PLAN_WGMMA, AttentionKernels.Variant.PLAN_MMA, AttentionKernels.Variant.PLAN_WGMMA};
    /** null: the default dense kernel twice; the pair kernels by build (see {@link #planBoth}). */
    static AttentionKernels.Variant[] denseVariants, pairVariants;
    /**
     * (vertical, slash) budgets of the realistic vertical-slash plans to time, each on the index
     * shape trained models give (sinks, scattered columns, diagonals 0..slash-1). (1000, 6096) is
     * the largest budget of MInference's Llama-3-8B config; its other common ones, (30, 800),
     * (100, 800) and (3500, 100), make short items (a narrow band) or gathered ones (many columns).
     */
    static int[][] vsBudgets = {{1000, 6096}};

    public static void main(String[] args) throws IOException {
        List<Integer> sizes = List.of(32768, 131072, 524288);
        Path out = null, dump = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--sizes" -> sizes = Arrays.stream(args[++i].split(",")).map(Integer::parseInt).toList();
                case "--out" -> out = Path.of(args[++i]);
                case "--dump" -> dump = Path.of(args[++i]);
                case "--no-dense" -> dense = false;
                case "--no-estimated" -> estimated = false;
                case "--dense-only" -> denseOnly = true;
                case "--plan-variants" -> planVariants = variants(args[++i]);
                case "--dense-variants" -> denseVariants = variants(args[++i]);
                case "--pair-variants" -> pairVariants = variants(args[++i]);
                case "--vs-budgets" -> vsBudgets = Arrays.stream(args[++i].split(",")).map(b -> b.split(":"))
                        .map(b -> new int[] {Integer.parseInt(b[0]), Integer.parseInt(b[1])}).toArray(int[][]::new);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        try (BenchmarkDevice b = BenchmarkDevice.open()) {
            KernelModule module = b.module;
            CudaStream stream = b.stream;
            if (dump != null) {
                dumpDense(module, stream, b.arena, dump);
                return;
            }
            System.out.println("device: " + b.device + ", " + b.availability.reason() + "; wgmma build loaded: "
                    + Gemm.wgmmaLoaded(module, stream) + "; default plan kernel: "
                    + AttentionKernels.defaultPlanVariant(module, stream));
            AttentionKernels probe = new AttentionKernels(module, stream);
            StringBuilder occ = new StringBuilder("CTAs per SM (driver's occupancy, d = " + D + "):");
            for (AttentionKernels.Variant x : java.util.EnumSet.copyOf(Arrays.asList(planVariants)))
                occ.append(' ').append(x).append('=').append(probe.ctasPerSm(x, D));
            System.out.println(occ);
            List<String> rows = new ArrayList<>();
            rows.add("n\tcase\tms\tentries\tTFLOPs\tnote");
            for (int n : sizes) rows.addAll(runSize(module, stream, b.arena, n));
            if (out != null) Files.write(out, rows);
        }
    }

    /** Variant names, comma-separated, in the order to time them (a name twice: a second round). */
    static AttentionKernels.Variant[] variants(String names) {
        return Arrays.stream(names.split(",")).map(AttentionKernels.Variant::valueOf).toArray(AttentionKernels.Variant[]::new);
    }

    static List<String> runSize(KernelModule module, CudaStream stream, DeviceArena arena, int n) {
        AttentionShape s = new AttentionShape(HEADS, KV_HEADS, n, D);
        long mark = arena.mark();
        List<String> rows = new ArrayList<>();
        DeviceBuffer q = arena.alloc(2 * s.qElements(), "q"), k = arena.alloc(2 * s.kvElements(), "k"),
                v = arena.alloc(2 * s.kvElements(), "v"), o = arena.alloc(2 * s.qElements(), "out");
        fillRandom(module, stream, q, s.qElements(), 1);
        fillRandom(module, stream, k, s.kvElements(), 2);
        fillRandom(module, stream, v, s.kvElements(), 3);
        AttentionKernels attn = new AttentionKernels(module, stream);
        int reps = n >= 262144 ? 3 : 7;

        long denseEntries = s.denseEntries();
        double denseMs = dense ? Double.MAX_VALUE : Double.NaN;
        // the default dense kernel, two rounds (the reference is cuDNN: bench/torch_attention_bench.py)
        AttentionKernels.Variant denseDefault = AttentionKernels.defaultDenseVariant(module, stream);
        AttentionKernels.Variant[] denseRounds = denseVariants != null ? denseVariants
                : new AttentionKernels.Variant[] {denseDefault, denseDefault};
        for (AttentionKernels.Variant x : !dense ? new AttentionKernels.Variant[0] : denseRounds) {
            attn.use(x, AttentionKernels.Variant.PLAN_MMA);
            double ms = time(stream, reps, () -> { attn.dense(q, k, v, o, s); return null; });
            rows.add(report(n, "dense causal (ours, " + x + ")", ms, denseEntries, s,
                    x.hopperOnly() ? perTile(ms, module.device().multiprocessors(), PairTileCount.denseTiles(HEADS, n)) : ""));
            denseMs = Math.min(denseMs, ms);
        }
        attn.use(AttentionKernels.Variant.DENSE_MMA, AttentionKernels.Variant.PLAN_MMA);
        if (denseOnly) {
            arena.reset(mark);
            return rows;
        }

        VerticalSlashGpu vs = new VerticalSlashGpu(module, stream, arena);
        long m2 = arena.mark();
        for (int[] b : vsBudgets) {
            boolean largest = b[0] == 1000 && b[1] == 6096;  // the labels earlier results carry
            DevicePlan realistic = vs.plan(realisticSelection(n, b[0], b[1], arena, stream), n);
            long vsEntries = attn.computedEntries(realistic, arena);
            double pairMs = wall(stream, 3, () -> { long m = arena.mark(); attn.pairPlan(realistic, arena); arena.reset(m); return null; });
            rows.add(report(n, "VS realistic" + (largest ? "" : " (" + b[0] + "," + b[1] + ")") + ": pair plan build (wall)", pairMs,
                    0, s, ""));
            PairPlan vsPair = attn.pairPlan(realistic, arena);
            planBoth(rows, attn, stream, reps, n, "VS(" + b[0] + "," + b[1] + ") attention, realistic plan", vsEntries, s, denseMs,
                    () -> { attn.withPlan(q, k, v, o, s, realistic); return null; },
                    () -> attn.withPairPlan(q, k, v, o, s, realistic, vsPair),
                    PairTileCount.count(PairTileCount.realisticVs(n, b[0], b[1]), n).tiles());
            arena.reset(m2);
        }

        int[] vb = new int[HEADS], sb = new int[HEADS];
        Arrays.fill(vb, 1000);
        Arrays.fill(sb, 6096);
        double estMs = wall(stream, 3, () -> {
            long m = arena.mark();
            vs.plan(vs.estimate(q, k, s, vb, sb), n);
            stream.synchronize();
            arena.reset(m);
            return null;
        });
        rows.add(report(n, "VS estimate + plan, 32 heads (wall)", estMs, 0, s, ""));
        if (n <= 131072 && estimated) {
            DevicePlan est = vs.plan(vs.estimate(q, k, s, vb, sb), n);
            long e = attn.computedEntries(est, arena);
            double ms = time(stream, reps, () -> { attn.withPlan(q, k, v, o, s, est); return null; });
            rows.add(report(n, "VS(1000,6096) attention, estimated plan (random inputs)", ms, e, s, ""));
            arena.reset(m2);
        }

        BlockSparseGpu bs = new BlockSparseGpu(module, stream, arena);
        double bsPlanMs = wall(stream, 3, () -> {
            long m = arena.mark();
            bs.plan(q, k, s, 100);
            arena.reset(m);
            return null;
        });
        DevicePlan bsPlan = bs.plan(q, k, s, 100);
        long bsEntries = attn.computedEntries(bsPlan, arena);
        rows.add(report(n, "block-sparse top-100 estimate + plan (wall)", bsPlanMs, 0, s, ""));
        PairPlan bsPair = attn.pairPlan(bsPlan, arena);
        planBoth(rows, attn, stream, reps, n, "block-sparse top-100 attention", bsEntries, s, denseMs,
                () -> { attn.withPlan(q, k, v, o, s, bsPlan); return null; },
                () -> attn.withPairPlan(q, k, v, o, s, bsPlan, bsPair), 0);
        arena.reset(m2);

        double aPlanMs = wall(stream, 3, () -> {
            long m = arena.mark();
            vs.aShape(HEADS, n, 128, 4096);
            stream.synchronize();
            arena.reset(m);
            return null;
        });
        DevicePlan aPlan = vs.aShape(HEADS, n, 128, 4096);
        long aEntries = attn.computedEntries(aPlan, arena);
        rows.add(report(n, "A-shape(128,4096) plan (wall)", aPlanMs, 0, s, ""));
        PairPlan aPair = attn.pairPlan(aPlan, arena);
        planBoth(rows, attn, stream, reps, n, "A-shape(128,4096) attention", aEntries, s, denseMs,
                () -> { attn.withPlan(q, k, v, o, s, aPlan); return null; },
                () -> attn.withPairPlan(q, k, v, o, s, aPlan, aPair), PairTileCount.count(PairTileCount.aShape(n), n).tiles());
        arena.reset(mark);
        return rows;
    }

    /** Times a plan attention with the 64-row plan-kernel variants and the pair kernel. */
    static void planBoth(List<String> rows, AttentionKernels attn, CudaStream stream, int reps, int n, String what,
                         long entries, AttentionShape s, double denseMs, Supplier<Void> work) {
        planBoth(rows, attn, stream, reps, n, what, entries, s, denseMs, work, null, 0);
    }

    /**
     * pairTiles: the 128-key tiles the warp-specialised pair kernel walks on this plan
     * (PairTileCount, counted on the CPU from the same plans), 0 where not counted; with it the
     * pair rows also say the kernel's time per tile per CTA.
     */
    static void planBoth(List<String> rows, AttentionKernels attn, CudaStream stream, int reps, int n, String what,
                         long entries, AttentionShape s, double denseMs, Supplier<Void> work, Runnable pairWork,
                         long pairTiles) {
        if (pairWork != null) {
            AttentionKernels.Variant keep = attn.pairVariant();
            for (AttentionKernels.Variant x : pairVariants != null ? pairVariants : Gemm.wgmmaLoaded(attn.module(), stream)
                    ? new AttentionKernels.Variant[] {AttentionKernels.Variant.PAIR_PLAN_MMA_HEAD_MAJOR,
                            AttentionKernels.Variant.PAIR_PLAN_WS, AttentionKernels.Variant.PAIR_PLAN_WS}
                    : new AttentionKernels.Variant[] {AttentionKernels.Variant.PAIR_PLAN_MMA,
                            AttentionKernels.Variant.PAIR_PLAN_MMA_HEAD_MAJOR}) {
                attn.usePair(x);
                double ms = time(stream, reps, () -> { pairWork.run(); return null; });
                int ctas = AttentionKernels.persistentGrid(HEADS * ((s.queryBlocks() + 1) / 2),
                        attn.module().device().multiprocessors(), HEADS / KV_HEADS);
                rows.add(report(n, what + " (" + x + ")", ms, entries, s,
                        String.format(Locale.ROOT, "%.1fx faster than our dense", denseMs / ms)
                                + (x.persistent() && pairTiles > 0 ? "; " + perTile(ms, ctas, pairTiles) : "")));
            }
            attn.usePair(keep);
        }
        // the 64-row variants in the order given; a variant's second round (#2) shows the spread
        java.util.Set<AttentionKernels.Variant> seen = java.util.EnumSet.noneOf(AttentionKernels.Variant.class);
        for (AttentionKernels.Variant x : planVariants) {
            attn.use(AttentionKernels.Variant.DENSE_MMA, x);
            double ms = time(stream, reps, work);
            rows.add(report(n, what + " (" + x + (seen.add(x) ? "" : " #2") + ")", ms, entries, s,
                    String.format(Locale.ROOT, "%.1fx faster than our dense", denseMs / ms)));
        }
        attn.use(AttentionKernels.Variant.DENSE_MMA, AttentionKernels.Variant.PLAN_MMA);
    }

    /** Up to 30 sink columns + the rest of `vertical` scattered, diagonals 0..slash-1 (MInference's realistic index shape). */
    static VsSelection realisticSelection(int n, int vertical, int slash, DeviceArena arena, CudaStream stream) {
        int[][] cols = realisticColumns(n, vertical), offs = new int[HEADS][];
        Arrays.fill(offs, realisticOffsets(n, slash));
        return VsSelection.upload(cols, offs, arena, stream);
    }

    /** The realistic plan's columns per head: sinks 0..29, the rest of `vertical` scattered (seeded by n). */
    static int[][] realisticColumns(int n, int vertical) {
        Random rnd = new Random(n);
        int[][] cols = new int[HEADS][];
        for (int h = 0; h < HEADS; h++) {
            TreeSet<Integer> c = new TreeSet<>();
            for (int x = 0; x < Math.min(Math.min(30, vertical), n); x++) c.add(x);
            while (c.size() < Math.min(vertical, n)) c.add(30 + rnd.nextInt(n - 30));
            cols[h] = c.stream().mapToInt(Integer::intValue).toArray();
        }
        return cols;
    }

    /** The realistic plan's diagonals: offsets 0..slash-1. */
    static int[] realisticOffsets(int n, int slash) { return java.util.stream.IntStream.range(0, Math.min(slash, n)).toArray(); }

    /** A warp-specialised kernel's time per 128-key tile on each CTA: ms x CTAs running at once / tiles. */
    static String perTile(double ms, int ctas, long tiles) {
        return String.format(Locale.ROOT, "%.3f us per 128-key tile per CTA (%d tiles, %d CTAs)", ms * 1e3 * ctas / tiles, tiles,
                ctas);
    }

    static String report(int n, String what, double ms, long entries, AttentionShape s, String note) {
        double tflops = entries > 0 ? s.flops(entries) / (ms * 1e-3) / 1e12 : 0;
        System.out.printf(Locale.ROOT, "n=%-7d %-58s %10.3f ms  %s %s%n", n, what, ms,
                entries > 0 ? String.format(Locale.ROOT, "%7.1f TFLOP/s (%.3g entries)", tflops, (double) entries) : "", note);
        return String.format(Locale.ROOT, "%d\t%s\t%.3f\t%d\t%.1f\t%s", n, what, ms, entries, tflops, note);
    }

    /**
     * Median device time after one warm-up, over at least `minReps` runs and as many more as fill
     * about half a second (at most 200): a short kernel is timed after the card's clocks have
     * settled and over enough runs that one slow run does not set the median.
     */
    static double time(CudaStream stream, int minReps, Supplier<Void> work) {
        double[] ms;
        try (GpuTimer t = new GpuTimer(stream)) {
            t.start();
            work.get();
            double once = t.stopMillis();
            int reps = (int) Math.max(minReps, Math.min(200, Math.ceil(500 / Math.max(once, 1e-3))));
            ms = new double[reps];
            for (int r = 0; r < reps; r++) {
                t.start();
                work.get();
                ms[r] = t.stopMillis();
            }
        }
        Arrays.sort(ms);
        return ms[ms.length / 2];
    }

    /** Median host wall time (for stages that synchronize inside, like plan building). */
    static double wall(CudaStream stream, int reps, Supplier<Void> work) {
        work.get();
        stream.synchronize();
        double[] ms = new double[reps];
        for (int r = 0; r < reps; r++) {
            long t0 = System.nanoTime();
            work.get();
            stream.synchronize();
            ms[r] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(ms);
        return ms[reps / 2];
    }

    static void fillRandom(KernelModule module, CudaStream stream, DeviceBuffer b, long count, int seed) {
        module.kernel("fill_random_bf16_k").launch(stream, Dim3.of(4096), 256, 0, b, count, seed, 1.0f);
    }

    /** A small dense case written as raw little-endian bf16 for the torch cross-check. */
    static void dumpDense(KernelModule module, CudaStream stream, DeviceArena arena, Path dir) throws IOException {
        Files.createDirectories(dir);
        int[][] cases = {{8, 2, 1000, 128}, {4, 1, 4097, 64}, {32, 8, 8192, 128}};
        StringBuilder meta = new StringBuilder();
        AttentionKernels attn = new AttentionKernels(module, stream);
        for (int[] c : cases) {
            AttentionShape s = new AttentionShape(c[0], c[1], c[2], c[3]);
            long mark = arena.mark();
            DeviceBuffer q = arena.alloc(2 * s.qElements(), "q"), k = arena.alloc(2 * s.kvElements(), "k"),
                    v = arena.alloc(2 * s.kvElements(), "v"), o = arena.alloc(2 * s.qElements(), "out");
            fillRandom(module, stream, q, s.qElements(), 11);
            fillRandom(module, stream, k, s.kvElements(), 12);
            fillRandom(module, stream, v, s.kvElements(), 13);
            o.fill32(stream, GpuTestSupport.POISON);
            attn.dense(q, k, v, o, s);
            String name = "dense_h" + c[0] + "_kv" + c[1] + "_n" + c[2] + "_d" + c[3];
            for (var e : List.of(new Object[] {"q", q, s.qElements()}, new Object[] {"k", k, s.kvElements()},
                    new Object[] {"v", v, s.kvElements()}, new Object[] {"out", o, s.qElements()})) {
                short[] host = new short[Math.toIntExact((Long) e[2])];
                ((DeviceBuffer) e[1]).download(stream, host);
                ByteBuffer bb = ByteBuffer.allocate(host.length * 2).order(ByteOrder.LITTLE_ENDIAN);
                bb.asShortBuffer().put(host);
                Files.write(dir.resolve(name + "." + e[0] + ".bf16"), bb.array());
            }
            meta.append(name).append(' ').append(c[0]).append(' ').append(c[1]).append(' ').append(c[2])
                    .append(' ').append(c[3]).append('\n');
            arena.reset(mark);
        }
        Files.writeString(dir.resolve("cases.txt"), meta.toString());
        System.out.println("dumped dense cases to " + dir);
    }
}
