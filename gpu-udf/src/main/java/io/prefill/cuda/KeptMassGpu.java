package io.prefill.cuda;

import io.prefill.cuda.Kernel.Dim3;

/**
 * The accuracy certificate on the device ({@code kept_mass.cuh}): for every head, the mean over
 * its last min(64, n) queries of the dense softmax mass on the keys the head's plan computes; the
 * twin of {@link io.prefill.sparse.KeptMass}. It costs the estimate's row statistics (one pass of
 * the last 64 queries over all keys) and one pass over the plan of the last one or two query blocks.
 */
public final class KeptMassGpu {
    private static final int SPLITS = 8;  // KEPT_SPLITS in kept_mass.cuh

    private final KernelModule module;
    private final CudaStream stream;
    private final DeviceArena arena;

    public KeptMassGpu(KernelModule module, CudaStream stream, DeviceArena arena) {
        this.module = module;
        this.stream = stream;
        this.arena = arena;
    }

    /** kept[h] for every head of the plan; q, k bf16 on the device, plan over the same heads and n. */
    public double[] ofLastQueries(DeviceBuffer q, DeviceBuffer k, AttentionShape s, DevicePlan plan) {
        return ofLastQueries(q, k, s, plan, null);
    }

    /**
     * The same from the last queries' row statistics when the layer's vertical-slash estimate has
     * them already ({@link VerticalSlashGpu#rowStats}: the same kernels on the same Q and K, so the
     * same bits), or computed here when rowStatOrNull is null.
     */
    public double[] ofLastQueries(DeviceBuffer q, DeviceBuffer k, AttentionShape s, DevicePlan plan,
                                  DeviceBuffer rowStatOrNull) {
        int heads = s.heads(), n = s.seqLen(), d = s.headDim();
        if (plan.heads() != heads || plan.seqLen() != n)
            throw new IllegalArgumentException("plan of " + plan.heads() + " heads and " + plan.seqLen()
                    + " tokens for " + heads + " heads and " + n + " tokens");
        long mark = arena.mark();
        try {
            DeviceBuffer rowStat = rowStatOrNull != null ? rowStatOrNull
                    : new VerticalSlashGpu(module, stream, arena).rowStats(q, k, s);
            DeviceBuffer part = arena.alloc(4L * heads * SPLITS * 64, "kept.part");
            DeviceBuffer kept = arena.alloc(8L * heads, "kept");
            module.kernel("kept_mass_d" + d).launch(stream, Dim3.of(heads, SPLITS), 128, 2 * 64 * d * 2 + 64 * 4,
                    q, k, heads, s.kvHeads(), n, rowStat, plan, part);
            module.kernel("kept_mass_combine_k").launch(stream, Dim3.of(heads), 64, 0, part, n, kept);
            double[] host = new double[heads];
            kept.download(stream, host);
            return host;
        } finally {
            arena.reset(mark);
        }
    }
}
