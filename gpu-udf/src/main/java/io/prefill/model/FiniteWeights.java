package io.prefill.model;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * A cheap check, made once on the driver, that a checkpoint's norms and embedding hold no NaN or
 * infinity: one such value turns every document's logits into NaN. The scan tests the stored bits
 * (an all-ones exponent) without decoding them, in one pass over the embedding. The projections and lm_head are not scanned; non-finite values there still reach the
 * logits, which the engine checks for every document.
 */
public final class FiniteWeights {
    private FiniteWeights() { }

    /** @throws ModelFormatException naming the file, the tensor, the first bad element and the count */
    public static void check(LoadedModel model) {
        ModelWeights w = model.weights();
        List<TensorView> tensors = new ArrayList<>();
        for (int i = 0; i < model.config().numLayers(); i++) {
            tensors.add(w.layer(i).inputNorm());
            tensors.add(w.layer(i).postAttentionNorm());
        }
        tensors.add(w.finalNorm());
        tensors.add(w.embedTokens());
        for (TensorView t : tensors) {
            long[] found = scan(t);
            if (found[1] > 0) {
                throw new ModelFormatException(model.weightStore().fileOf(t.name()) + ": tensor " + t.name() + " holds "
                        + found[1] + " non-finite value" + (found[1] == 1 ? "" : "s") + " (the first, element " + found[0]
                        + ", is " + t.get(found[0]) + "): the checkpoint is damaged, and every document would compute NaN");
            }
        }
    }

    /** {first non-finite element or -1, count of them}. */
    static long[] scan(TensorView t) {
        long first = -1;
        long count = 0;
        ByteBuffer[] chunks;
        try {
            chunks = t.rawChunks();
        } catch (UnsupportedOperationException e) {
            chunks = null;
        }
        if (chunks == null) {
            for (long i = 0; i < t.numel(); i++) {
                if (!Float.isFinite(t.get(i))) {
                    if (first < 0) first = i;
                    count++;
                }
            }
            return new long[] {first, count};
        }
        int bytes = t.dtype().bytes();
        long element = 0;
        for (ByteBuffer b : chunks) {
            int n = b.remaining() / bytes;
            int base = b.position();
            for (int i = 0; i < n; i++) {
                boolean bad = switch (t.dtype()) {
                    case BF16 -> (b.getShort(base + 2 * i) & 0x7F80) == 0x7F80;
                    case F16 -> (b.getShort(base + 2 * i) & 0x7C00) == 0x7C00;
                    case F32 -> (b.getInt(base + 4 * i) & 0x7F800000) == 0x7F800000;
                    case F8_E4M3 -> (b.get(base + i) & 0x7F) == 0x7F;
                };
                if (bad) {
                    if (first < 0) first = element + i;
                    count++;
                }
            }
            element += n;
        }
        return new long[] {first, count};
    }
}
