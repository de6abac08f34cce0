package io.prefill.engine;

/**
 * One implementation of the pre-fill forward pass (cpu reference, cuda). Implementations must be
 * safe to call from several task threads at once; each call is one whole document.
 */
public interface ForwardBackend extends AutoCloseable {
    String name();

    ForwardOutput forward(int[] tokens);

    @Override
    default void close() { }
}
