package io.prefill.cuda;

import io.prefill.cuda.Kernel.Dim3;

/**
 * Launches the attention kernels for all heads of a layer at once (one launch per stage):
 * dense causal flash attention and flash attention over a CSR block plan.
 */
public final class AttentionKernels {
    private static final int DENSE_ROWS = 128, DENSE_THREADS = 256;  // 8 warps x 16 query rows
    private static final int PLAN_ROWS = 64, PLAN_THREADS = 128;     // the plan's 64-row blocks
    private static final double LOG2E = 1.4426950408889634;

    private final KernelModule module;
    private final CudaStream stream;

    public AttentionKernels(KernelModule module, CudaStream stream) {
        this.module = module;
        this.stream = stream;
    }

    public CudaStream stream() { return stream; }
    public KernelModule module() { return module; }

    static float scaleLog2(int headDim) { return (float) (LOG2E / Math.sqrt(headDim)); }

    /** out = causal softmax(q k^T / sqrt(d)) v, all heads. Buffers bf16 in the layout of AttentionShape. */
    public void dense(DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer out, AttentionShape s) {
        checkSizes(q, k, v, out, s);
        int d = s.headDim();
        int smem = DENSE_ROWS * d * 2 + 4 * 64 * d * 2 + 2 * 64 * 4;
        module.kernel("attention_dense_d" + d).launch(stream,
                Dim3.of(s.heads(), (s.seqLen() + DENSE_ROWS - 1) / DENSE_ROWS), DENSE_THREADS, smem,
                q, k, v, out, s.heads(), s.kvHeads(), s.seqLen(), scaleLog2(d));
    }

    /** out = softmax restricted to the plan's entries (causal), all heads. */
    public void withPlan(DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer out, AttentionShape s,
                         DevicePlan plan) {
        checkSizes(q, k, v, out, s);
        if (plan.heads() != s.heads() || plan.seqLen() != s.seqLen())
            throw new IllegalArgumentException("plan for " + plan.heads() + " heads, n=" + plan.seqLen() + " used on " + s);
        int d = s.headDim();
        int smem = PLAN_ROWS * d * 2 + 4 * 64 * d * 2 + 2 * 64 * 4;
        module.kernel("attention_plan_d" + d).launch(stream, Dim3.of(s.heads(), s.queryBlocks()), PLAN_THREADS, smem,
                q, k, v, out, s.heads(), s.kvHeads(), s.seqLen(), scaleLog2(d),
                plan.rangePtr(), plan.rangeData(), plan.colPtr(), plan.colData());
    }

    /** Causal (i, j) entries the plan computes, all heads (counted on the device). */
    public long computedEntries(DevicePlan plan, DeviceArena arena) {
        long mark = arena.mark();
        try {
            DeviceBuffer total = arena.alloc(8, "entries");
            total.zero(stream);
            int slots = plan.heads() * ((plan.seqLen() + 63) / 64);
            module.kernel("plan_entries_k").launch(stream, Dim3.of((slots + 255) / 256), 256, 0,
                    plan.rangePtr(), plan.rangeData(), plan.colPtr(), plan.colData(), plan.heads(), plan.seqLen(), total);
            long[] host = new long[1];
            total.download(stream, host);
            return host[0];
        } finally {
            arena.reset(mark);
        }
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
