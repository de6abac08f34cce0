package io.prefill.cuda.forward;

import io.prefill.cuda.AttentionShape;
import io.prefill.cuda.DeviceArena;
import io.prefill.cuda.DeviceBuffer;

/**
 * Sees every layer's Q, K and V on the device (head-major bf16 after RoPE, in the layout of
 * {@link AttentionShape}) before the layer's attention overwrites Q: the GPU twin of the CPU
 * pass's {@link io.prefill.kv.LayerKvObserver}, used by the pattern search.
 */
public interface DeviceLayerObserver {
    /** Device bytes the observer allocates from the document's arena per layer (reserved before the pre-fill). */
    long deviceBytes(AttentionShape shape);

    /** Called once per layer; allocations made here must be released (arena mark/reset) before returning. */
    void observe(int layer, DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, AttentionShape shape, DeviceArena arena);
}
