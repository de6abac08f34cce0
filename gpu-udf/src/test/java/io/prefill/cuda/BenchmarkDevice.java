package io.prefill.cuda;

/**
 * What every benchmark main opens first: device 0 (failing with the backend's reason where CUDA
 * is not available), its kernel module, a stream, and an arena of all but 3 GiB of the free
 * device memory. Closing it releases the arena, then the stream.
 */
final class BenchmarkDevice implements AutoCloseable {
    final CudaAvailability availability;
    final CudaDevice device;
    final KernelModule module;
    final CudaStream stream;
    final DeviceArena arena;

    private BenchmarkDevice(CudaAvailability availability, CudaDevice device) {
        this.availability = availability;
        this.device = device;
        this.module = KernelModule.of(device);
        this.stream = new CudaStream(device);
        this.arena = new DeviceArena(device, device.freeMemory() - (3L << 30));
    }

    static BenchmarkDevice open() {
        CudaAvailability a = CudaAvailability.probe();
        if (!a.available()) throw new IllegalStateException("CUDA backend unavailable: " + a.reason());
        return new BenchmarkDevice(a, CudaDevice.open(0));
    }

    @Override
    public void close() {
        try {
            arena.close();
        } finally {
            stream.close();
        }
    }
}
