package io.prefill.cuda;

import io.prefill.cuda.Kernel.Dim3;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Benchmark program (not a test) for {@link Gemm} at the model's real projection shapes (Llama-3-8B
 * sized: hidden 4096, fused QKV 6144, fused gate+up 28672, intermediate 14336), random N(0,1) bf16
 * inputs made on the device, a few input sets rotated so that L2 never holds a whole operand set
 * between runs. Median of the CUDA-event times of single launches after a warm-up; TFLOP/s =
 * 2 m n k / time. Each case is then spot-checked against a float64 dot product at 64 elements.
 * Usage:
 *   GemmBenchmark [--out results.tsv] [--reps 30] [--tile WGMMA_128x256|T128x256|T128x128] [--quick] [--fp8]
 * Without --tile it times every kernel the card runs (on an H100: WGMMA_128x256 and T128x256).
 * --fp8 times the FP8 kernel instead (gemm_fp8_wgmma_128x256_*: E4M3 codes of N(0,1) draws, unit
 * scales) at the same shapes and at Llama-3-70B's (hidden 8192: QKV 10240, gate+up 57344,
 * intermediate 28672), impl "ours FP8"; bench/torch_gemm_bench.py --fp8 times torch._scaled_mm
 * with row-wise scales at the same shapes.
 * The TSV has the columns of bench/torch_gemm_bench.py (case, m, n, k, out, ms, tflops, impl), so
 * the two files compare line by line (torch has only the bf16-output rows).
 */
public final class GemmBenchmark {
    record Case(String name, int m, int n, int k, Gemm.Output out) { }

    static List<Case> cases(boolean quick) {
        int m = 16384;
        List<Case> c = new ArrayList<>(List.of(
                new Case("qkv", m, 6144, 4096, Gemm.Output.BF16),
                new Case("o_proj", m, 4096, 4096, Gemm.Output.BF16),
                new Case("gate_up", m, 28672, 4096, Gemm.Output.BF16),
                new Case("down", m, 4096, 14336, Gemm.Output.BF16),
                new Case("n1024", m, 1024, 4096, Gemm.Output.BF16),
                new Case("gate_up", 65536, 28672, 4096, Gemm.Output.BF16),
                // what the layer really runs for these two: the residual add into the fp32 stream
                new Case("o_proj", m, 4096, 4096, Gemm.Output.ADD_F32),
                new Case("down", m, 4096, 14336, Gemm.Output.ADD_F32),
                new Case("qkv", m, 6144, 4096, Gemm.Output.F32),
                // a 2048-token chunk: 16 M-tiles, so the waves over the SMs are few and partial
                new Case("qkv", 2048, 6144, 4096, Gemm.Output.BF16),
                new Case("o_proj", 2048, 4096, 4096, Gemm.Output.BF16),
                new Case("gate_up", 2048, 28672, 4096, Gemm.Output.BF16),
                new Case("down", 2048, 4096, 14336, Gemm.Output.BF16),
                new Case("o_proj", 2048, 4096, 4096, Gemm.Output.ADD_F32),
                new Case("down", 2048, 4096, 14336, Gemm.Output.ADD_F32)));
        return quick ? c.subList(0, 2) : c;
    }

    /** The FP8 cases: the 8B shapes' bf16-output rows, then Llama-3-70B's four projections (bf16 out). */
    static List<Case> fp8Cases(boolean quick) {
        List<Case> c = new ArrayList<>(cases(false).subList(0, 4));
        int m = 16384;
        c.addAll(List.of(new Case("qkv_70b", m, 10240, 8192, Gemm.Output.BF16),
                new Case("o_70b", m, 8192, 8192, Gemm.Output.BF16),
                new Case("gate_up_70b", m, 57344, 8192, Gemm.Output.BF16),
                new Case("down_70b", m, 8192, 28672, Gemm.Output.BF16)));
        return quick ? c.subList(0, 2) : c;
    }

    public static void main(String[] args) throws IOException {
        Path out = null;
        int reps = 30;
        boolean quick = false, fp8 = false;
        String tileName = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--out" -> out = Path.of(args[++i]);
                case "--reps" -> reps = Integer.parseInt(args[++i]);
                case "--tile" -> tileName = args[++i];
                case "--quick" -> quick = true;
                case "--fp8" -> fp8 = true;
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        List<String> rows = new ArrayList<>();
        rows.add("case\tm\tn\tk\tout\tms\ttflops\timpl");
        boolean allOk = true;
        try (BenchmarkDevice b = BenchmarkDevice.open()) {
            CudaAvailability a = b.availability;
            CudaDevice device = b.device;
            KernelModule module = b.module;
            CudaStream stream = b.stream;
            DeviceArena arena = b.arena;
            Gemm gemm = new Gemm(module, stream);
            List<Gemm.Tile> tiles = new ArrayList<>();
            if (fp8) {
                String no = Gemm.fp8Unsupported(module, stream);
                if (no != null) throw new IllegalStateException(no);
                if (gemm.tile() == Gemm.Tile.TMA_128x256) tiles.add(Gemm.Tile.TMA_128x256);
                tiles.add(Gemm.Tile.WGMMA_128x256);
            } else if (tileName != null) tiles.add(Gemm.Tile.valueOf(tileName));
            else {  // every kernel this card runs, the default first
                tiles.add(gemm.tile());
                if ("9.0".equals(device.computeCapability()) && !tiles.contains(Gemm.Tile.WGMMA_128x256))
                    tiles.add(Gemm.Tile.WGMMA_128x256);
                if (Gemm.largestMmaTile(device) == Gemm.Tile.T128x256 && !tiles.contains(Gemm.Tile.T128x256))
                    tiles.add(Gemm.Tile.T128x256);
            }
            warmUp(module, stream, arena, gemm);
            if (tiles.contains(Gemm.Tile.TMA_128x256) || gemm.tile() == Gemm.Tile.TMA_128x256)
                System.out.println("TMA_128x256: " + gemm.activeClusters("gemm_tma_128x256_bf16", Gemm.Tile.TMA_128x256)
                        + " clusters of " + Gemm.CLUSTER + " CTAs at once on " + device.multiprocessors() + " SMs");
            System.out.println("device: " + device + ", " + a.reason() + "; sm_90a code loaded: "
                    + Gemm.wgmmaLoaded(module, stream) + "; default " + gemm.tile() + "; " + reps + " reps");
            System.out.printf(Locale.ROOT, "%-8s %6s %6s %6s %-8s %-14s %10s %10s  %s%n", "case", "m", "n", "k", "out",
                    "kernel", "ms", "TFLOP/s", "check (max rel. err. at 64 elements)");
            for (Case c : fp8 ? fp8Cases(quick) : cases(quick)) {
              for (Gemm.Tile tile : tiles) {
                gemm.use(tile);
                String impl = (fp8 ? "ours FP8 " : "ours ") + tile;
                long mark = arena.mark();
                int eb = fp8 ? 1 : 2;
                long aBytes = (long) eb * c.m * c.k, wBytes = (long) eb * c.n * c.k, cBytes = (long) c.out.bytes * c.m * c.n;
                long setBytes = aBytes + wBytes + cBytes + 1024;
                int sets = (int) Math.max(1, Math.min(3, (arena.capacity() - arena.used()) / setBytes));
                DeviceBuffer[] as = new DeviceBuffer[sets], ws = new DeviceBuffer[sets], cs = new DeviceBuffer[sets];
                for (int s = 0; s < sets; s++) {
                    as[s] = arena.alloc(aBytes, "a" + s);
                    ws[s] = arena.alloc(wBytes, "w" + s);
                    cs[s] = arena.alloc(cBytes, "c" + s);
                    fillRandom(module, stream, as[s], (long) c.m * c.k, 100 + 2 * s, fp8);
                    fillRandom(module, stream, ws[s], (long) c.n * c.k, 101 + 2 * s, fp8);
                    cs[s].zero(stream);
                }
                DeviceBuffer aOnes = null, wOnes = null;
                if (fp8) {
                    ModelKernels ops = new ModelKernels(module, stream);
                    aOnes = arena.alloc(4L * c.m, "a scales");
                    wOnes = arena.alloc(4L * c.n, "w scales");
                    ops.fillF32(aOnes, c.m, 1f);
                    ops.fillF32(wOnes, c.n, 1f);
                }
                final DeviceBuffer sa = aOnes, sw = wOnes;
                final boolean f8 = fp8;
                java.util.function.IntConsumer once = s -> {
                    if (f8) gemm.runFp8(as[s], sa, ws[s], sw, cs[s], c.m, c.n, c.k, c.out, null);
                    else gemm.run(as[s], ws[s], cs[s], c.m, c.n, c.k, c.out, null);
                };
                for (int r = 0; r < 3; r++) once.accept(r % sets);
                stream.synchronize();
                double[] ms = new double[reps];
                try (GpuTimer t = new GpuTimer(stream)) {
                    for (int r = 0; r < reps; r++) {
                        int s = r % sets;
                        t.start();
                        once.accept(s);
                        ms[r] = t.stopMillis();
                    }
                }
                Arrays.sort(ms);
                double med = ms[reps / 2];
                double tflops = Gemm.flops(c.m, c.n, c.k) / (med * 1e-3) / 1e12;
                // spot check on set 0, one clean run (ADD_F32 onto zeros = the product itself)
                cs[0].zero(stream);
                once.accept(0);
                double err = spotCheck(stream, as[0], ws[0], cs[0], c, fp8);
                boolean ok = err < (c.out == Gemm.Output.BF16 ? 1e-2 : 1e-3);
                allOk &= ok;
                System.out.printf(Locale.ROOT, "%-8s %6d %6d %6d %-8s %-14s %10.3f %10.1f  %.1e %s%s%n", c.name, c.m, c.n,
                        c.k, c.out, tile, med, tflops, err, ok ? "ok" : "CHECK FAILED",
                        sets < 3 ? " (" + sets + " input sets)" : "");
                rows.add(String.format(Locale.ROOT, "%s\t%d\t%d\t%d\t%s\t%.4f\t%.1f\t%s", c.name, c.m, c.n, c.k,
                        c.out.name().toLowerCase(Locale.ROOT), med, tflops, impl));
                arena.reset(mark);
              }
            }
        }
        if (out != null) Files.write(out, rows);
        if (!allOk) {
            System.out.println("SOME SPOT CHECKS FAILED");
            System.exit(1);
        }
    }

    /** Largest |got - ref| / (rms(ref) + |ref|) over 64 elements (4 corners + random). */
    static double spotCheck(CudaStream stream, DeviceBuffer a, DeviceBuffer w, DeviceBuffer c, Case cs, boolean fp8) {
        Random rnd = new Random(cs.m * 31L + cs.n);
        int samples = 64, k = cs.k;
        double[] ref = new double[samples], got = new double[samples];
        double sq = 0;
        for (int s = 0; s < samples; s++) {
            int i = rnd.nextInt(cs.m), j = rnd.nextInt(cs.n);
            if (s < 4) { i = (s & 1) == 0 ? 0 : cs.m - 1; j = (s & 2) == 0 ? 0 : cs.n - 1; }
            float[] ar = fp8 ? e4m3(stream, a.slice((long) i * k, k, "a row"), k) : bf16(stream, a.slice(2L * i * k, 2L * k, "a row"), k);
            float[] wr = fp8 ? e4m3(stream, w.slice((long) j * k, k, "w row"), k) : bf16(stream, w.slice(2L * j * k, 2L * k, "w row"), k);
            double acc = 0;
            for (int x = 0; x < k; x++) acc += (double) ar[x] * wr[x];
            ref[s] = acc;
            long at = (long) i * cs.n + j;
            if (cs.out == Gemm.Output.BF16) {
                got[s] = bf16(stream, c.slice(2 * at, 2, "c element"), 1)[0];
            } else {
                float[] f = new float[1];
                c.slice(4 * at, 4, "c element").download(stream, f);
                got[s] = f[0];
            }
            sq += acc * acc;
        }
        double rms = Math.sqrt(sq / samples), worst = 0;
        for (int s = 0; s < samples; s++) {
            double e = Double.isFinite(got[s]) ? Math.abs(got[s] - ref[s]) / (rms + Math.abs(ref[s])) : Double.POSITIVE_INFINITY;
            worst = Math.max(worst, e);
        }
        return worst;
    }

    static float[] bf16(CudaStream stream, DeviceBuffer b, int count) {
        short[] h = new short[count];
        b.download(stream, h);
        return Bf16.toFloats(h);
    }

    static float[] e4m3(CudaStream stream, DeviceBuffer b, int count) {
        byte[] h = new byte[count];
        b.download(stream, h);
        float[] f = new float[count];
        for (int i = 0; i < count; i++) f[i] = io.prefill.model.Fp8E4M3.toFloat(h[i]);
        return f;
    }

    static void fillRandom(KernelModule module, CudaStream stream, DeviceBuffer b, long count, int seed) {
        fillRandom(module, stream, b, count, seed, false);
    }

    static void fillRandom(KernelModule module, CudaStream stream, DeviceBuffer b, long count, int seed, boolean fp8) {
        if (fp8) module.kernel("fill_random_e4m3_k").launch(stream, Dim3.of(4096), 256, 0, b, count, seed);
        else module.kernel("fill_random_bf16_k").launch(stream, Dim3.of(4096), 256, 0, b, count, seed, 1.0f);
    }    /**
     * Runs a large product for about a second first, so the first case is not timed on a cold card
     * (bench/torch_gemm_bench.py does the same).
     */
    private static void warmUp(KernelModule module, CudaStream stream, DeviceArena arena, Gemm gemm) {
        long mark = arena.mark();
        int m = 16384, n = 4096, k = 4096;
        DeviceBuffer a = arena.alloc(2L * m * k, "warm-up a"), w = arena.alloc(2L * n * k, "warm-up w"),
                c = arena.alloc(2L * m * n, "warm-up c");
        fillRandom(module, stream, a, (long) m * k, 1, false);
        fillRandom(module, stream, w, (long) n * k, 2, false);
        long t0 = System.nanoTime();
        while (System.nanoTime() - t0 < 1_000_000_000L) {
            for (int i = 0; i < 20; i++) gemm.run(a, w, c, m, n, k, Gemm.Output.BF16, null);
            stream.synchronize();
        }
        arena.reset(mark);
    }


}
