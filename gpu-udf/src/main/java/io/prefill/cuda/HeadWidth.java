package io.prefill.cuda;

/**
 * A model's head_dim and the width its heads have on the device. The attention kernels exist for
 * 64 and 128 ({@link AttentionShape}); a head_dim of 64 or 128 runs natively, any other multiple of
 * 16 from {@value #MIN_PADDED} to 128 (Phi-3's 96, 80, 112, 48, ...) runs zero-padded to the next
 * kernel width: Q, K and V are
 * stored head-major with rows of {@code device} elements whose components [model, device) are zero
 * (rope_split_k writes them), which changes no dot product, and P·V gives zero output columns that
 * heads_to_rows_k drops. The kernels' softmax scale is 1/sqrt(device); rope_split_k multiplies Q
 * (only Q, after RoPE) by {@link #qScale()} = sqrt(device / model), so q·k / sqrt(device) =
 * q·k / sqrt(model) in every kernel that reads Q (attention, estimates, certificate, KV summary,
 * pattern search).
 *
 * <p>Multiples of 16: rope_split_k moves 8-element runs of each half head (rotate_half) or 16
 * contiguous elements (interleaved) with 16-byte accesses. At least {@value #MIN_PADDED}: padding
 * at most doubles the attention work (and the bytes of Q, K and V); narrower heads, such as the
 * tiny demo model's 16, stay on the cpu backend.
 *
 * @param model  the config's head_dim
 * @param device the head width of the device tensors and of the attention kernels, 64 or 128
 */
public record HeadWidth(int model, int device) {
    /** The head widths the attention kernels are built for. */
    public static final int NARROW = 64, WIDE = 128;
    /** The narrowest head_dim that runs padded. */
    public static final int MIN_PADDED = 32;

    public HeadWidth {
        String why = unsupported(model);
        if (why != null) throw new IllegalArgumentException("head_dim " + model + ": " + why);
        if (device != deviceWidth(model))
            throw new IllegalArgumentException("head_dim " + model + " runs at width " + deviceWidth(model) + ", not " + device);
    }

    /** The device width of a model's head_dim (it must be supported, see {@link #unsupported}). */
    public static HeadWidth of(int headDim) {
        String why = unsupported(headDim);
        if (why != null) throw new IllegalArgumentException("head_dim " + headDim + ": " + why);
        return new HeadWidth(headDim, deviceWidth(headDim));
    }

    /** Why the cuda backend cannot run heads of this width, or null when it can. */
    public static String unsupported(int headDim) {
        if (headDim == NARROW || headDim == WIDE) return null;
        if (headDim < MIN_PADDED || headDim > WIDE || headDim % 16 != 0) {
            return "the kernels run 64 and 128, and other multiples of 16 from " + MIN_PADDED
                    + " to 128 padded to 64 or 128";
        }
        return null;
    }

    private static int deviceWidth(int headDim) { return headDim <= NARROW ? NARROW : WIDE; }

    /** Whether the heads are zero-padded on the device. */
    public boolean padded() { return device != model; }

    /** Factor on Q (after RoPE) that makes the kernels' 1/sqrt(device) the model's 1/sqrt(model); 1 unpadded. */
    public float qScale() { return padded() ? (float) Math.sqrt((double) device / model) : 1f; }

    @Override public String toString() {
        return padded() ? "head_dim " + model + " padded to " + device : "head_dim " + model;
    }
}
