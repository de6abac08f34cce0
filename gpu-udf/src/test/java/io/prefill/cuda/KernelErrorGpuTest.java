package io.prefill.cuda;

import static io.prefill.cuda.GpuTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import io.prefill.cuda.Kernel.Dim3;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** A failed launch names the kernel, its shape and CUDA's error, and the context stays usable. */
@Tag("gpu")
class KernelErrorGpuTest {
    @BeforeEach
    void gpu() { assumeGpu(); }

    @Test
    void aBadLaunchNamesTheKernelAndItsShapeAndLeavesTheDeviceUsable() {
        DeviceArena arena = arena();
        long mark = arena.mark();
        try {
            DeviceBuffer x = arena.alloc(4L * 1024, "x");
            CudaException e = assertThrows(CudaException.class,
                    () -> module().kernel("fill_f32_k").launch(stream(), Dim3.of(1), 2048, 0, x, 1024L, 1f));
            assertTrue(e.getMessage().contains("fill_f32_k") && e.getMessage().contains("block=2048")
                    && e.getMessage().contains("CUDA_ERROR_"), e.getMessage());
            module().kernel("fill_f32_k").launch(stream(), Dim3.of(4), 256, 0, x, 1024L, 2.5f);
            float[] back = new float[1024];
            x.download(stream(), back);
            for (float v : back) assertEquals(2.5f, v);
        } finally {
            arena.reset(mark);
        }
    }
}
