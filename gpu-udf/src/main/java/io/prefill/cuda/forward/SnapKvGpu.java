package io.prefill.cuda.forward;

import io.prefill.cuda.AttentionShape;
import io.prefill.cuda.CudaStream;
import io.prefill.cuda.DeviceArena;
import io.prefill.cuda.DeviceBuffer;
import io.prefill.cuda.Kernel.Dim3;
import io.prefill.cuda.KernelModule;
import io.prefill.kv.HeadKv;
import io.prefill.kv.KvSummaryOptions;

import java.util.Arrays;

/**
 * The KV summary's selection on the device, layer by layer during the pre-fill (before the layer's
 * K and V are dropped), by the rule of {@link io.prefill.kv.SnapKvSelector}: softmax statistics
 * of the window's query rows, votes of the group's heads on the prefix keys, pooled top-k, then
 * the kept K and V rows gathered and copied back as bf16 bytes (snapkv.cuh).
 *
 * <p>Padded heads ({@link io.prefill.cuda.HeadWidth}): the scores read Q, K at the device width
 * with its 1/sqrt(width) scale, which rope_split_k's factor on Q makes the model's; the kept rows
 * are handed back at the model's head_dim, the zero padding dropped.
 */
final class SnapKvGpu {
    private static final int KEYS_PER_BLOCK = 256;  // SNAP_THREADS
    private final KernelModule module;
    private final CudaStream stream;
    private final KvSummaryOptions options;

    SnapKvGpu(KernelModule module, CudaStream stream, KvSummaryOptions options) {
        this.module = module;
        this.stream = stream;
        this.options = options;
    }

    /** The kept positions and their K/V rows for every KV head of one layer of unpadded heads. */
    HeadKv[] select(DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, AttentionShape s, DeviceArena arena) {
        return select(q, k, v, s, s.headDim(), arena);
    }

    /**
     * The same for heads of the model's headDim stored in rows of s.headDim() >= headDim (zero
     * past headDim, Q scaled as rope_split_k scales it): K/V rows of headDim elements.
     */
    HeadKv[] select(DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, AttentionShape s, int headDim, DeviceArena arena) {
        if (headDim <= 0 || headDim > s.headDim() || headDim % 8 != 0)
            throw new IllegalArgumentException("head_dim " + headDim + " in rows of " + s.headDim());
        int n = s.seqLen(), kvHeads = s.kvHeads();
        long mark = arena.mark();
        try {
            int[][] kept = n <= (long) options.sinkTokens() + options.topK() + options.window()
                    ? identity(kvHeads, n) : vote(q, k, s, arena);
            return gather(kept, k, v, s, headDim, arena);
        } finally {
            arena.reset(mark);
        }
    }

    private int[][] vote(DeviceBuffer q, DeviceBuffer k, AttentionShape s, DeviceArena arena) {
        int n = s.seqLen(), heads = s.heads(), kvHeads = s.kvHeads(), d = s.headDim();
        int w = Math.min(options.window(), n), prefixEnd = n - w, sinks = Math.min(options.sinkTokens(), prefixEnd);
        int chunks = (n + KEYS_PER_BLOCK - 1) / KEYS_PER_BLOCK, topK = options.topK();
        float scale = (float) (1.0 / Math.sqrt(d));
        DeviceBuffer partial = arena.alloc(8L * heads * chunks * w, "snapkv.partial");
        DeviceBuffer rowStat = arena.alloc(8L * heads * w, "snapkv.rowStat");
        DeviceBuffer votes = arena.alloc(4L * kvHeads * prefixEnd, "snapkv.votes");
        DeviceBuffer winners = arena.alloc(4L * kvHeads * topK, "snapkv.winners");
        module.kernel("snap_row_stats_d" + d).launch(stream, Dim3.of(chunks, heads), KEYS_PER_BLOCK, 0,
                q, k, heads, kvHeads, n, w, scale, partial);
        module.kernel("snap_row_combine_k").launch(stream, Dim3.of((heads * w + 255L) / 256), 256, 0,
                partial, chunks, heads, w, rowStat);
        module.kernel("snap_votes_d" + d).launch(stream, Dim3.of((prefixEnd + KEYS_PER_BLOCK - 1) / KEYS_PER_BLOCK, kvHeads),
                KEYS_PER_BLOCK, 0, q, k, heads, kvHeads, n, w, prefixEnd, scale, rowStat, votes);
        module.kernel("snap_select_k").launch(stream, Dim3.of(kvHeads), 1024, 0, votes, prefixEnd, sinks, topK,
                options.poolKernel(), options.pooling() == KvSummaryOptions.Pooling.MAX ? 1 : 0, winners);
        int[] all = new int[kvHeads * topK];
        winners.download(stream, all);
        int m = Math.min(topK, prefixEnd - sinks);
        int[][] kept = new int[kvHeads][sinks + m + w];
        for (int g = 0; g < kvHeads; g++) {
            int c = 0;
            for (int p = 0; p < sinks; p++) kept[g][c++] = p;
            for (int x = 0; x < m; x++) kept[g][c++] = all[g * topK + x];  // ascending, within [sinks, prefixEnd)
            for (int p = prefixEnd; p < n; p++) kept[g][c++] = p;
        }
        return kept;
    }

    private HeadKv[] gather(int[][] kept, DeviceBuffer k, DeviceBuffer v, AttentionShape s, int headDim,
                            DeviceArena arena) {
        int kvHeads = s.kvHeads(), count = kept[0].length;
        int[] flat = new int[kvHeads * count];
        for (int g = 0; g < kvHeads; g++) System.arraycopy(kept[g], 0, flat, g * count, count);
        DeviceBuffer positions = arena.alloc(4L * flat.length, "snapkv.positions");
        positions.upload(stream, flat);
        byte[] kBytes = rows(k, positions, s, count, headDim, arena), vBytes = rows(v, positions, s, count, headDim, arena);
        HeadKv[] out = new HeadKv[kvHeads];
        int headBytes = count * headDim * 2;
        for (int g = 0; g < kvHeads; g++)
            out[g] = new HeadKv(kept[g], Arrays.copyOfRange(kBytes, g * headBytes, (g + 1) * headBytes),
                    Arrays.copyOfRange(vBytes, g * headBytes, (g + 1) * headBytes));
        return out;
    }

    /** The kept rows [kvHeads, count, headDim] as bf16 bytes: gathered at the device width d, then unpadded. */
    private byte[] rows(DeviceBuffer src, DeviceBuffer positions, AttentionShape s, int count, int headDim,
                        DeviceArena arena) {
        int kvHeads = s.kvHeads(), d = s.headDim();
        DeviceBuffer dst = arena.alloc(2L * kvHeads * count * d, "snapkv.rows");
        long vectors = (long) kvHeads * count * (d / 8);
        module.kernel("gather_rows_k").launch(stream, Dim3.of(Math.max(1, Math.min(4096, (vectors + 255) / 256))), 256, 0,
                src, positions, s.seqLen(), d, count, count, kvHeads, dst);
        byte[] host = new byte[Math.toIntExact(2L * kvHeads * count * d)];
        dst.download(stream, host);
        if (headDim == d) return host;
        byte[] unpadded = new byte[Math.toIntExact(2L * kvHeads * count * headDim)];
        for (long r = 0, rowsAll = (long) kvHeads * count; r < rowsAll; r++)
            System.arraycopy(host, Math.toIntExact(2 * r * d), unpadded, Math.toIntExact(2 * r * headDim), 2 * headDim);
        return unpadded;
    }

    private static int[][] identity(int kvHeads, int n) {
        int[][] all = new int[kvHeads][n];
        for (int g = 0; g < kvHeads; g++) for (int p = 0; p < n; p++) all[g][p] = p;
        return all;
    }
}
