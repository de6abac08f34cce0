package io.prefill.cuda;

import io.prefill.settings.PrefillSettings;
import io.prefill.cuda.Kernel.Dim3;
import io.prefill.sparse.BlockPlan;

/**
 * Launches the attention kernels for all heads of a layer at once (one launch per stage):
 * dense causal flash attention and flash attention over a CSR block plan.
 */
public final class AttentionKernels {
    private static final double LOG2E = 1.4426950408889634;

    /**
     * Kernel variants (see attention.cuh, attention_wgmma.cuh, attention_ws.cuh): rows per CTA = warps
     * x 16 x m-tiles per warp (the warp-specialised kernels' producer warps do not count). Only the
     * variants a default selects are kept: on sm_90a DENSE_WS for dense, PAIR_PLAN_WS (DENSE_WS's
     * body over a pair plan) for vertical-slash and A-shape plans and PLAN_WGMMA for block-sparse
     * ones; elsewhere DENSE_MMA, PLAN_MMA and the pair kernels PAIR_PLAN_MMA /
     * PAIR_PLAN_MMA_HEAD_MAJOR ({@link #pairPlanPays}, {@link #pairKernel}: the pair kernels
     * pay on vertical-slash and A-shape plans and lose on block-sparse ones). BENCHMARKS.md
     * has the measurements behind each choice; the retired variants are kept as a patch in
     * bench/results/retired-kernels/. On trial, not yet measured against the kernels they would
     * replace: DENSE_WS_TMA and PAIR_PLAN_WS_TMA (K/V by tensor-map copies); the one that loses is
     * retired.
     */
    public enum Variant {
        DENSE_MMA("attention_dense_mma_d", 4, 2),
        /**
         * Dense causal attention with 128-row CTAs of three warpgroups (attention_ws.cuh; sm_90a
         * only, elsewhere the entry point traps): a producer warpgroup loads Q once and 128-key K/V
         * tiles into a ring (3 stages at d = 128, 4 at d = 64) with cp.async signalled through
         * mbarriers; two consumer warpgroups of 64 rows each keep Q in registers and run wgmma on
         * every tile, the softmax of one tile overlapped with the previous tile's P V. Each K/V
         * tile feeds 128 rows (the 64-row wgmma plan kernel's: 64).
         */
        DENSE_WS("attention_dense_ws_d", 128, false),
        /**
         * One 64-row query block per CTA (4 warps x 16 rows, mma.sync), the next range's bounds
         * prefetched and each tile's keys loaded up front, on a grid walked KV-head-major with the
         * query heads of one GQA group side by side; the default of withPlan where the sm_90a build
         * does not run (BENCHMARKS.md, attn-speed2).
         */
        PLAN_MMA("attention_plan_mma_d", 4, 1, true),
        /**
         * Two adjacent query blocks per CTA over their pair plan (see {@link #withPairPlan}), keys
         * loaded as PLAN_MMA's, membership bits computed by all four warps (A: 0,1; B: 2,3);
         * grid (heads, pairs).
         */
        PAIR_PLAN_MMA("attention_pair_plan_mma_d", 4, 2, false, true),
        /** PAIR_PLAN_MMA on a head-major grid (CTAs resident together share one head's K/V in L2). */
        PAIR_PLAN_MMA_HEAD_MAJOR("attention_pair_plan_mma_head_major_d", 4, 2, true, true),
        /**
         * The 64-row plan kernel on Hopper's wgmma (attention_wgmma.cuh; sm_90a only, elsewhere the
         * same entry point runs PLAN_MMA's body): GQA-group-major grid, S = Q K^T with
         * m64n64k16 from shared memory, O += P V with m64nDk16, P from registers, V through a
         * transposed (MN-major) descriptor. 2 K and 2 V buffers.
         */
        PLAN_WGMMA("attention_plan_wgmma_d", 4, 1, true, false, 5, 2),
        /**
         * DENSE_WS's body over a pair plan (sm_90a only): the union of two 64-row blocks' keys in
         * 128-key tiles, every K/V tile feeds both consumer warpgroups, and each key is masked for
         * the block whose own plan lacks it (membership bits from the producer: a gathered key's
         * from the pair plan's column owners, a contiguous key's from the block's ranges).
         * Persistent: {@link #persistentGrid} CTAs walk the (head, 128-row block) items.
         */
        PAIR_PLAN_WS("attention_pair_plan_ws_d", 128, true),
        /**
         * DENSE_WS with each K/V tile brought in by tensor-map copies that one producer thread
         * issues (attention_ws.cuh, "Bulk K/V"; sm_90a and a driver that makes tensor maps).
         * Same outputs as DENSE_WS, bit for bit. Not a default until measured against DENSE_WS.
         */
        DENSE_WS_TMA("attention_dense_ws_tma_d", 128, false, true),
        /** PAIR_PLAN_WS with its range tiles brought in as DENSE_WS_TMA's (gathered tiles: cp.async). */
        PAIR_PLAN_WS_TMA("attention_pair_plan_ws_tma_d", 128, true, true);

        final String prefix;
        final int warps, mtiles;
        final boolean headMajor, pair;
        /** Tiles of consecutive keys come in by tensor-map copies: the launch passes K's and V's maps. */
        final boolean bulkKv;
        /** wgmma kernels: 64 x d tiles and 64-key index slots in shared memory; 0 otherwise. */
        final int wgTiles, wgKeySlots;
        /** Warp-specialised kernels (attention_ws.cuh): keys per K/V tile; 0 otherwise. */
        final int wsKeys;

        Variant(String prefix, int warps, int mtiles) { this(prefix, warps, mtiles, false, false); }
        Variant(String prefix, int warps, int mtiles, boolean headMajor) { this(prefix, warps, mtiles, headMajor, false); }

        Variant(String prefix, int warps, int mtiles, boolean headMajor, boolean pair) {
            this(prefix, warps, mtiles, headMajor, pair, 0, 0);
        }

        /** wgTiles > 0: a 64-row wgmma kernel (one warpgroup) with that many 64 x d tiles and wgKeySlots key slots in shared memory. */
        Variant(String prefix, int warps, int mtiles, boolean headMajor, boolean pair, int wgTiles, int wgKeySlots) {
            this(prefix, warps, mtiles, headMajor, pair, wgTiles, wgKeySlots, 0);
        }

        /** A warp-specialised kernel: 8 consumer warps (128 rows) and 4 producer warps, tiles of wsKeys keys. */
        Variant(String prefix, int wsKeys, boolean pair) { this(prefix, wsKeys, pair, false); }

        Variant(String prefix, int wsKeys, boolean pair, boolean bulkKv) {
            this(prefix, 8, 1, true, pair, 0, 0, wsKeys, bulkKv);
        }

        private Variant(String prefix, int warps, int mtiles, boolean headMajor, boolean pair, int wgTiles, int wgKeySlots,
                        int wsKeys) {
            this(prefix, warps, mtiles, headMajor, pair, wgTiles, wgKeySlots, wsKeys, false);
        }

        private Variant(String prefix, int warps, int mtiles, boolean headMajor, boolean pair, int wgTiles, int wgKeySlots,
                        int wsKeys, boolean bulkKv) {
            this.bulkKv = bulkKv;
            this.wsKeys = wsKeys;
            this.prefix = prefix;
            this.warps = warps;
            this.mtiles = mtiles;
            this.headMajor = headMajor;
            this.pair = pair;
            this.wgTiles = wgTiles;
            this.wgKeySlots = wgKeySlots;
        }

        Dim3 grid(int heads, int blocks) { return headMajor ? Dim3.of(blocks, heads) : Dim3.of(heads, blocks); }
        int rows() { return 16 * warps * mtiles; }
        int threads() { return 32 * warps + (hopperOnly() ? 128 : 0); }
        boolean wgmma() { return wgTiles > 0 || hopperOnly(); }
        /** Runs only where the sm_90a build does (no fallback body: elsewhere the entry point traps). */
        boolean hopperOnly() { return wsKeys > 0; }
        boolean isDense() { return name().startsWith("DENSE"); }
        /**
         * A persistent kernel: one CTA per SM walks the work items (attention_ws.cuh, PERSIST), so
         * that its producer loads the next item's Q and first tiles while the consumers finish one.
         */
        boolean persistent() { return hopperOnly() && pair; }


        int smem(int d) {
            // wgmma: Q (unless in registers), K and V tiles (64 x d bf16 each), the keys of the tiles
            // in flight, and 1024 bytes to align the tiles for the 128-byte swizzle (outside the
            // sm_90a build the launch takes the fallback body's size where larger: see launchSmem)
            // warp-specialised (attention_ws.cuh, WsLayout): Q (two 64 x d tiles), per stage K and V
            // (wsKeys / 64 tiles each), the keys, two blocks' membership bits of the keys, the tile's
            // 16-byte descriptor and a full and an empty mbarrier; a full and an empty mbarrier for Q
            if (hopperOnly()) {
                int tile = 64 * d * 2, halves = wsKeys / 64, stages = wsKeys == 128 && d == 128 ? 3 : 4;
                return 2 * tile + stages * (2 * halves * tile + wsKeys * 4 + 2 * wsKeys / 8 + 16 + 16) + 16 + 1024;
            }
            if (wgmma()) return wgTiles * 64 * d * 2 + wgKeySlots * 64 * 4 + 1024;
            return rows() * d * 2 + 4 * 64 * d * 2 + 2 * 64 * 4 + 64;
        }

        /** PLAN_MMA's shared memory: what the wgmma entry points run outside the sm_90a build. */
        static int fallbackSmem(int d) { return PLAN_MMA.smem(d); }

        /** The kernel that also writes the row log2 denominators with this variant's body (withPlanAndLse). */
        String lsePrefix() {
            return switch (this) {
                case PLAN_WGMMA -> "attention_plan_wgmma_lse_d";
                case DENSE_WS, DENSE_WS_TMA -> "attention_dense_ws_lse_d";
                case DENSE_MMA -> "attention_dense_mma_lse_d";
                default -> "attention_plan_mma_lse_d";  // PLAN_MMA's body
            };
        }
    }

    private final KernelModule module;
    private final CudaStream stream;
    /** null until first used: then the property, or (AUTO) {@link #defaultDenseVariant}. */
    private Variant denseVariant = planProperty(PrefillSettings.CUDA_DENSE.get());
    /** null until first used: then the property, or (AUTO) {@link #defaultPlanVariant}. */
    private Variant planVariant = planProperty(PrefillSettings.CUDA_PLAN.get());
    /** null = by build and plan: {@link #pairKernel}. */
    private Variant pairVariant = pairProperty(PrefillSettings.CUDA_PAIR.get());
    /** Whether the 64-row plan kernel was named (property or {@link #use}) rather than left to the default. */
    private boolean planNamed = planVariant != null;

    private static Variant pairProperty(String v) { return v.equals("AUTO") ? null : Variant.valueOf(v); }
    private static Variant planProperty(String v) { return v.equals("AUTO") ? null : Variant.valueOf(v); }

    /**
     * The 64-row plan kernel withPlan uses unless told otherwise: PLAN_WGMMA where the sm_90a build
     * runs (wgmma; asked once per module with gemm_wgmma_probe), else PLAN_MMA.
     */
    public static Variant defaultPlanVariant(KernelModule module, CudaStream stream) {
        return Gemm.wgmmaLoaded(module, stream) ? Variant.PLAN_WGMMA : Variant.PLAN_MMA;
    }

    /** The dense kernel unless told otherwise: DENSE_WS where the sm_90a build runs, else DENSE_MMA. */
    public static Variant defaultDenseVariant(KernelModule module, CudaStream stream) {
        return Gemm.wgmmaLoaded(module, stream) ? Variant.DENSE_WS : Variant.DENSE_MMA;
    }

    public Variant denseVariant() {
        if (denseVariant == null) denseVariant = defaultDenseVariant(module, stream);
        requireBuild(denseVariant);
        return denseVariant;
    }

    /**
     * A Hopper-only variant where the sm_90a build does not run fails here, not in a trapped launch;
     * a bulk-copy variant fails here where the driver makes no tensor maps.
     */
    private void requireBuild(Variant x) {
        if (x.hopperOnly() && !Gemm.wgmmaLoaded(module, stream))
            throw new IllegalStateException(x + " needs the sm_90a kernels (a Hopper GPU); the loaded build is "
                    + "another architecture's");
        String noMaps = x.bulkKv ? TensorMap.unavailable() : null;
        if (noMaps != null) throw new IllegalStateException(x + " needs tensor maps: " + noMaps);
    }

    /** A bulk-copy kernel's map of K or V: a [kvHeads * n, d] row-major tensor read 64 keys at a time. */
    private static TensorMap kvMap(DeviceBuffer kv, AttentionShape s) {
        return TensorMap.rowMajor(kv, TensorMap.Element.BF16, (long) s.kvHeads() * s.seqLen(), s.headDim(), 64);
    }

    public AttentionKernels(KernelModule module, CudaStream stream) {
        this.module = module;
        this.stream = stream;
    }

    /** Chooses the kernel variants (benchmarks and tests compare them). */
    public AttentionKernels use(Variant dense, Variant plan) {
        if (!dense.isDense() || plan.isDense() || plan.rows() != 64 || plan.pair)
            throw new IllegalArgumentException(dense + ", " + plan);
        this.denseVariant = dense;
        this.planVariant = plan;
        this.planNamed = true;
        return this;
    }

    /** Chooses the kernel of {@link #withPairPlan}; null = {@link #pairKernel}'s choice (the default). */
    public AttentionKernels usePair(Variant pair) {
        if (pair != null && !pair.pair) throw new IllegalArgumentException(pair + " is not a pair kernel");
        this.pairVariant = pair;
        return this;
    }

    public Variant planVariant() {
        if (planVariant == null) planVariant = defaultPlanVariant(module, stream);
        return planVariant;
    }
    public Variant pairVariant() { return pairVariant; }

    public CudaStream stream() { return stream; }
    public KernelModule module() { return module; }

    static float scaleLog2(int headDim) { return (float) (LOG2E / Math.sqrt(headDim)); }

    /** out = causal softmax(q k^T / sqrt(d)) v, all heads. Buffers bf16 in the layout of AttentionShape. */
    public void dense(DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer out, AttentionShape s) {
        checkSizes(q, k, v, out, s);
        int d = s.headDim();
        Variant x = denseVariant();
        if (x.bulkKv) {
            denseBulk(x, q, k, v, out, s);
            return;
        }
        module.kernel(x.prefix + d).launch(stream, x.grid(s.heads(), (s.seqLen() + x.rows() - 1) / x.rows()),
                x.threads(), launchSmem(x, d), q, k, v, out, s.heads(), s.kvHeads(), s.seqLen(), scaleLog2(d));
    }

    /** {@link #dense} with a bulk-copy variant: its launch also passes K's and V's tensor maps. */
    private void denseBulk(Variant x, DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer out, AttentionShape s) {
        int d = s.headDim();
        module.kernel(x.prefix + d).launch(stream, x.grid(s.heads(), (s.seqLen() + x.rows() - 1) / x.rows()),
                x.threads(), x.smem(d), q, k, v, out, s.heads(), s.kvHeads(), s.seqLen(), scaleLog2(d), kvMap(k, s),
                kvMap(v, s));
    }

    /** out = softmax restricted to the plan's entries (causal), all heads. */
    public void withPlan(DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer out, AttentionShape s,
                         DevicePlan plan) {
        checkSizes(q, k, v, out, s);
        if (plan.heads() != s.heads() || plan.seqLen() != s.seqLen())
            throw new IllegalArgumentException("plan for " + plan.heads() + " heads, n=" + plan.seqLen() + " used on " + s);
        int d = s.headDim();
        Variant x = planVariant();
        module.kernel(x.prefix + d).launch(stream, x.grid(s.heads(), s.queryBlocks()), x.threads(), launchSmem(x, d),
                q, k, v, out, s.heads(), s.kvHeads(), s.seqLen(), scaleLog2(d), plan);
    }

    /**
     * The pair plan of a 64-row plan: per (head, 128-row pair of query blocks) the union of both
     * blocks' keys, so that {@link #withPairPlan} reads each K/V tile once for 128 query rows.
     * Allocated in `arena` (count, scan, fill on the device; sized by the plan's own totals, which
     * bound the union's, so that nothing is read back).
     */
    public PairPlan pairPlan(DevicePlan plan, DeviceArena arena) {
        int heads = plan.heads(), n = plan.seqLen(), nqb = BlockPlan.blocks(n), slots = heads * ((nqb + 1) / 2);
        DeviceBuffer rangePtr = arena.alloc(4L * (slots + 1), "pair.rangePtr");
        DeviceBuffer colPtr = arena.alloc(4L * (slots + 1), "pair.colPtr");
        DeviceBuffer rangeCount = arena.alloc(4L * slots, "pair.rangeCount");
        DeviceBuffer colCount = arena.alloc(4L * slots, "pair.colCount");
        Dim3 warps = Dim3.of((slots * 32L + 255) / 256);
        module.kernel("pair_plan_count_k").launch(stream, warps, 256, 0, plan, heads, n, rangeCount, colCount);
        // a union holds at most both blocks' ranges and columns: sized by the plan's totals, no read-back
        CsrSizes.scanPointers(module, stream, slots, rangeCount, colCount, rangePtr, colPtr);
        CsrSizes sizes = new CsrSizes(plan.numRanges(), plan.numColumns());
        DeviceBuffer rangeData = sizes.allocRanges(arena, "pair.rangeData");
        DeviceBuffer colData = sizes.allocColumns(arena, "pair.colData");
        DeviceBuffer owners = arena.alloc(Math.max(1, sizes.numColumns()), "pair.columnOwners");
        DevicePlan pair = new DevicePlan(heads, n, rangePtr, rangeData, colPtr, colData, sizes.numRanges(),
                sizes.numColumns());
        module.kernel("pair_plan_fill_k").launch(stream, warps, 256, 0, plan, heads, n, pair, owners);
        return new PairPlan(pair, owners);
    }

    /**
     * Whether {@link #withPairPlan} (after building the pair plan) is the way to run a plan of
     * ranges and gathered columns (vertical-slash, A-shape) rather than {@link #withPlan}: yes by
     * default and wherever a pair kernel was named; no where the 64-row wgmma kernel was named.
     * Measured on sm_90a, same calls (BENCHMARKS.md, "Sparse attention kernels"): PAIR_PLAN_WS runs
     * one layer's vertical-slash plan at 128K in 31.6 ms against the 64-row wgmma kernel's 38-39,
     * and the whole model's attention at 128K in 0.71-0.74 s against 0.81 s with the pair plans'
     * build counted elsewhere (~40 ms); the mma.sync pair kernels beat the 64-row mma.sync kernel
     * the same way.
     */
    public boolean pairPlanPays() { return pairVariant != null || !planNamed || !planVariant().wgmma(); }

    /**
     * The pair kernel that runs a plan: the one named, else PAIR_PLAN_WS where the 64-row plan
     * kernel is the wgmma one (the sm_90a build), else PAIR_PLAN_MMA_HEAD_MAJOR when the pair plan
     * gathers columns (each head's scattered columns then stay in L2 while its query blocks run),
     * else PAIR_PLAN_MMA (plans of ranges only are faster with the heads of one query block side by
     * side; BENCHMARKS.md, attn-speed). So naming PLAN_MMA on Hopper keeps the pair kernels on
     * mma.sync too.
     */
    static Variant pairKernel(Variant named, Variant plan, boolean gathersColumns) {
        if (named != null) return named;
        if (plan.wgmma()) return Variant.PAIR_PLAN_WS;
        return gathersColumns ? Variant.PAIR_PLAN_MMA_HEAD_MAJOR : Variant.PAIR_PLAN_MMA;
    }

    /** Same result as {@link #withPlan} for `plan`, computed two query blocks per CTA over `pair`. */
    public void withPairPlan(DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer out, AttentionShape s,
                             DevicePlan plan, PairPlan pairPlan) {
        checkSizes(q, k, v, out, s);
        DevicePlan pair = pairPlan.union();
        if (plan.heads() != s.heads() || plan.seqLen() != s.seqLen() || pair.seqLen() != s.seqLen())
            throw new IllegalArgumentException("plan for " + plan.heads() + " heads, n=" + plan.seqLen() + " used on " + s);
        int d = s.headDim();
        Variant x = pairKernel(pairVariant, planVariant(), pair.numColumns() > 0);
        requireBuild(x);
        int pairs = (s.queryBlocks() + 1) / 2;
        Dim3 grid = x.persistent() ? Dim3.of(persistentGrid(s.heads() * pairs, module.device().multiprocessors(),
                s.heads() / s.kvHeads())) : x.grid(s.heads(), pairs);
        if (x.bulkKv) {
            pairBulk(x, grid, q, k, v, out, s, plan, pairPlan);
            return;
        }
        module.kernel(x.prefix + d).launch(stream, grid, x.threads(), x.smem(d),
                q, k, v, out, s.heads(), s.kvHeads(), s.seqLen(), scaleLog2(d), pair, plan, pairPlan.columnOwners());
    }

    /** {@link #withPairPlan} with a bulk-copy variant: its launch also passes K's and V's tensor maps. */
    private void pairBulk(Variant x, Dim3 grid, DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer out,
                          AttentionShape s, DevicePlan plan, PairPlan pairPlan) {
        int d = s.headDim();
        module.kernel(x.prefix + d).launch(stream, grid, x.threads(), x.smem(d), q, k, v, out, s.heads(), s.kvHeads(),
                s.seqLen(), scaleLog2(d), pairPlan.union(), plan, pairPlan.columnOwners(), kvMap(k, s), kvMap(v, s));
    }

    /**
     * CTAs of a persistent launch over `items` work items in KV_GROUP_MAJOR order (the query heads
     * of a GQA group side by side): at most one per SM, and a count with no factor in common with
     * the group size. CTA b takes items b, b + grid, ..., so with a grid the group size divides,
     * each CTA would only ever hold one head of each group; the heads of a layer have budgets
     * several times apart (MInference's Llama-3 config: (1000, 6096) next to (30, 800)), and the
     * CTAs that drew the costly heads would finish last.
     */
    public static int persistentGrid(int items, int multiprocessors, int groupSize) {
        int grid = Math.max(1, Math.min(items, multiprocessors));
        while (grid > 1 && gcd(grid, groupSize) != 1) grid--;
        return grid;
    }

    private static int gcd(int a, int b) { return b == 0 ? a : gcd(b, a % b); }

    /** CTAs per SM the driver can hold of variant x's kernel for head_dim d (benchmark report). */
    public int ctasPerSm(Variant x, int d) { return module.kernel(x.prefix + d).ctasPerSm(x.threads(), launchSmem(x, d)); }

    /** Dynamic shared memory of a plan-kernel launch: a wgmma variant's own, or its fallback body's where that runs. */
    private int launchSmem(Variant x, int d) {
        return x.wgmma() && !x.hopperOnly() && !Gemm.wgmmaLoaded(module, stream) ? Math.max(x.smem(d), Variant.fallbackSmem(d)) : x.smem(d);
    }

    /** Causal (i, j) entries the plan computes, all heads (counted on the device). */
    public long computedEntries(DevicePlan plan, DeviceArena arena) {
        return countEntries(plan, arena, false)[0];
    }

    /** Causal (i, j) entries the plan computes, per head. */
    public long[] computedEntriesPerHead(DevicePlan plan, DeviceArena arena) {
        return countEntries(plan, arena, true);
    }

    private long[] countEntries(DevicePlan plan, DeviceArena arena, boolean perHead) {
        long mark = arena.mark();
        try {
            long[] host = new long[perHead ? plan.heads() : 1];
            DeviceBuffer total = arena.alloc(8L * host.length, "entries");
            total.zero(stream);
            int slots = plan.heads() * BlockPlan.blocks(plan.seqLen());
            module.kernel("plan_entries_k").launch(stream, Dim3.of((slots + 255) / 256), 256, 0,
                    plan, plan.heads(), plan.seqLen(), total, perHead ? 1 : 0);
            total.download(stream, host);
            return host;
        } finally {
            arena.reset(mark);
        }
    }

    /**
     * {@link #dense} that also writes lse[h * n + i] = log2 of row i's softmax denominator (fp32,
     * in units of the scaled logits), against which {@link #withPlanAndLse} measures recall.
     */
    public void denseWithLse(DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer out, DeviceBuffer lse,
                             AttentionShape s) {
        checkSizes(q, k, v, out, s);
        need(lse, 4L * s.heads() * s.seqLen(), "lse", s);
        int d = s.headDim();
        Variant x = denseVariant();
        module.kernel(x.lsePrefix() + d).launch(stream, x.grid(s.heads(), (s.seqLen() + x.rows() - 1) / x.rows()),
                x.threads(), launchSmem(x, d), q, k, v, out, s.heads(), s.kvHeads(), s.seqLen(), scaleLog2(d), lse);
    }

    /**
     * {@link #withPlan} that also writes each row's log2 softmax denominator: the body of the plan
     * variant in use where it has an lse twin (PLAN_WGMMA), else PLAN_MMA's.
     */
    public void withPlanAndLse(DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer out, DeviceBuffer lse,
                               AttentionShape s, DevicePlan plan) {
        checkSizes(q, k, v, out, s);
        need(lse, 4L * s.heads() * s.seqLen(), "lse", s);
        if (plan.heads() != s.heads() || plan.seqLen() != s.seqLen())
            throw new IllegalArgumentException("plan for " + plan.heads() + " heads, n=" + plan.seqLen() + " used on " + s);
        int d = s.headDim();
        Variant x = planVariant();
        if (x.lsePrefix().equals("attention_plan_mma_lse_d")) x = Variant.PLAN_MMA;
        module.kernel(x.lsePrefix() + d).launch(stream, x.grid(s.heads(), s.queryBlocks()), x.threads(),
                launchSmem(x, d), q, k, v, out, s.heads(), s.kvHeads(), s.seqLen(), scaleLog2(d), plan, lse);
    }

    private static void checkSizes(DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer out, AttentionShape s) {
        need(q, 2 * s.qElements(), "q", s);
        need(out, 2 * s.qElements(), "out", s);
        need(k, 2 * s.kvElements(), "k", s);
        need(v, 2 * s.kvElements(), "v", s);
    }

    private static void need(DeviceBuffer b, long bytes, String what, AttentionShape s) {
        if (b.bytes() < bytes) throw new IllegalArgumentException(what + " holds " + b.bytes() + " bytes, " + s + " needs " + bytes);
    }
}
