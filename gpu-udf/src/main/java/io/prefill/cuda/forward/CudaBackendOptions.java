package io.prefill.cuda.forward;

/**
 * How the cuda backend uses its GPU.
 *
 * @param device          CUDA device index
 * @param memoryBudget    bytes of device memory a document's working set may use (weights not
 *                        included); 0 = what is free when the document starts, less a margin.
 *                        Set it when another user (e.g. the RAPIDS plugin) shares the card.
 * @param maxChunkTokens  tokens per projection/MLP chunk when memory allows (larger chunks only
 *                        grow scratch memory: at 16K rows the GEMMs already fill the card)
 * @param profile         record per-stage device times (events between stages) for benchmarks
 */
public record CudaBackendOptions(int device, long memoryBudget, int maxChunkTokens, boolean profile) {
    public static final int DEFAULT_MAX_CHUNK = 16384;

    public CudaBackendOptions {
        if (device < 0) throw new IllegalArgumentException("cuda device index must be >= 0, got " + device);
        if (memoryBudget < 0) throw new IllegalArgumentException("GPU memory budget must be >= 0 bytes, got " + memoryBudget);
        if (maxChunkTokens < 64 || maxChunkTokens % 64 != 0)
            throw new IllegalArgumentException("max chunk tokens must be a positive multiple of 64, got " + maxChunkTokens);
    }

    public static CudaBackendOptions defaults() { return new CudaBackendOptions(0, 0, DEFAULT_MAX_CHUNK, false); }

    public CudaBackendOptions onDevice(int d) { return new CudaBackendOptions(d, memoryBudget, maxChunkTokens, profile); }

    public CudaBackendOptions withMemoryBudget(long bytes) {
        return new CudaBackendOptions(device, bytes, maxChunkTokens, profile);
    }

    public CudaBackendOptions withMaxChunkTokens(int t) { return new CudaBackendOptions(device, memoryBudget, t, profile); }

    public CudaBackendOptions profiled() { return new CudaBackendOptions(device, memoryBudget, maxChunkTokens, true); }
}
