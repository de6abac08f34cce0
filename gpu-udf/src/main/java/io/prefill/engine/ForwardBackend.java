package io.prefill.engine;

import io.prefill.kv.KvSummaryOptions;

/**
 * One implementation of the pre-fill forward pass (cpu reference, cuda). Implementations must be
 * safe to call from several task threads at once; each call is one whole document.
 */
public interface ForwardBackend extends AutoCloseable {
    String name();

    ForwardOutput forward(int[] tokens);

    /** Whether {@link #forward(int[], KvSummaryOptions)} is implemented. */
    default boolean supportsKvSummary() { return false; }

    /**
     * The pre-fill, also selecting a KV summary layer by layer (before each layer's K and V are
     * dropped) with {@link io.prefill.kv.SnapKvSelector}'s rule; the CPU backend is the reference.
     */
    default ForwardOutput forward(int[] tokens, KvSummaryOptions kv) {
        throw new UnsupportedOperationException("backend '" + name() + "' cannot produce KV summaries yet");
    }

    @Override
    default void close() { }
}
