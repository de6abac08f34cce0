package io.prefill.cuda.forward;

import io.prefill.cuda.AttentionShape;
import io.prefill.cuda.DeviceArena;
import io.prefill.cuda.DeviceBuffer;

/**
 * Sees every layer's Q, K and V on the device (head-major bf16 after RoPE, in the layout of
 * {@link AttentionShape}) before the layer's attention overwrites Q: the GPU twin of the CPU
 * pass's {@link io.prefill.kv.LayerKvObserver}, used by the pattern search.
 *
 * <p>For a head_dim other than 64 and 128 the tensors and the shape are those of the padded heads
 * ({@link io.prefill.cuda.HeadWidth}): rows of shape.headDim() elements, zero past the model's
 * head_dim, and Q multiplied by sqrt(shape.headDim() / head_dim), so that the kernels' scores
 * q·k / sqrt(shape.headDim()) are the model's. Kernels of that width compute the model's attention;
 * an observer that reads rows on the host must drop the padding and divide Q by the factor.
 */
public interface DeviceLayerObserver {
    /** Device bytes the observer allocates from the document's arena per layer (reserved before the pre-fill). */
    long deviceBytes(AttentionShape shape);

    /** Called once per layer; allocations made here must be released (arena mark/reset) before returning. */
    void observe(int layer, DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, AttentionShape shape, DeviceArena arena);
}
