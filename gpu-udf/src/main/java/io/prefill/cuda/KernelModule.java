package io.prefill.cuda;

import static io.prefill.cuda.CudaCheck.check;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;

/** Our fatbin loaded into one device's context with cuModuleLoadData; kernels looked up by name. */
public final class KernelModule {
    private static final Map<Integer, KernelModule> LOADED = new ConcurrentHashMap<>();
    private final CudaDevice device;
    private final CUmodule module = new CUmodule();
    private final Map<String, Kernel> kernels = new ConcurrentHashMap<>();

    private KernelModule(CudaDevice device) {
        this.device = device;
        byte[] image = KernelBinary.fatbin().orElseThrow(() -> new CudaException(KernelBinary.buildNote()));
        device.makeCurrent();
        check(JCudaDriver.cuModuleLoadData(module, image),
                "cuModuleLoadData(" + KernelBinary.FATBIN + ") on " + device
                        + " (is the card older than sm_80, or the driver older than the nvcc that built it?)");
    }

    /** The module of a device, loaded on first use and shared by all threads. */
    public static KernelModule of(CudaDevice device) {
        return LOADED.computeIfAbsent(device.index(), i -> new KernelModule(device));
    }

    public CudaDevice device() { return device; }

    public Kernel kernel(String name) {
        return kernels.computeIfAbsent(name, n -> {
            CUfunction f = new CUfunction();
            check(JCudaDriver.cuModuleGetFunction(f, module, n), "cuModuleGetFunction(" + n + ")");
            return new Kernel(n, f);
        });
    }
}
