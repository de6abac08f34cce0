package io.prefill.cuda;

import static io.prefill.cuda.GpuTestSupport.*;
import static jcuda.driver.CUpointer_attribute.CU_POINTER_ATTRIBUTE_DEVICE_POINTER;
import static org.junit.jupiter.api.Assertions.*;

import io.prefill.settings.PrefillSettings;
import io.prefill.sparse.BlockPlan;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.HeadPlanner;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import jcuda.Pointer;
import jcuda.driver.JCudaDriver;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The device address a {@link DeviceBuffer} carries (what a {@link DevicePlan} passes to a kernel as
 * its CsrPlan) against the driver's own for the buffer's pointer, in an arena of one allocation
 * and in one of separate allocations (the compute-sanitizer mode), and a plan kernel reading plans
 * that live in either.
 */
@Tag("gpu")
class DeviceBufferAddressGpuTest {

    @BeforeEach
    void gpu() { assumeGpu(); }

    @ParameterizedTest(name = "separate allocations: {0}")
    @ValueSource(booleans = {false, true})
    void buffersAndSlicesCarryTheDriversAddress(boolean separate) {
        try (DeviceArena arena = arena(separate)) {
            List<DeviceBuffer> buffers = new ArrayList<>();
            for (long bytes : new long[] {1, 4, 1000, 4096, 0, 300_000}) {
                DeviceBuffer b = arena.alloc(bytes, "b" + bytes);
                buffers.add(b);
                if (bytes >= 1000) buffers.add(b.slice(bytes / 4, bytes / 2, "slice of b" + bytes).slice(8, 16, "slice"));
            }
            for (DeviceBuffer b : buffers) assertEquals(driverAddress(b), b.address(), b.label());
        }
    }

    /** plan_entries_k over plans uploaded into either arena: every head's computed entries as the CPU counts them. */
    @ParameterizedTest(name = "separate allocations: {0}")
    @ValueSource(booleans = {false, true})
    void planKernelsReadPlansFromEitherArena(boolean separate) {
        int heads = 4, n = 1000, d = 64;
        Random rnd = new Random(7);
        HeadPattern[] patterns = {new HeadPattern.VerticalSlash(40, 100), new HeadPattern.AShape(16, 200),
            new HeadPattern.BlockSparse(3), new HeadPattern.Dense()};
        BlockPlan[] plans = new BlockPlan[heads];
        long[] cpu = new long[heads];
        for (int h = 0; h < heads; h++) {
            float[] q = randomBf16(rnd, (long) n * d, 1.0), k = randomBf16(rnd, (long) n * d, 1.0);
            plans[h] = HeadPlanner.plan(patterns[h], 0, q, k, n, d);
            cpu[h] = plans[h].computedEntries();
        }
        try (DeviceArena arena = arena(separate)) {
            DevicePlan plan = DevicePlan.upload(HostPlan.of(plans), arena, stream());
            assertArrayEquals(cpu, attention().computedEntriesPerHead(plan, arena));
        }
    }

    private static DeviceArena arena(boolean separate) {
        String key = "prefill.cuda.separateAllocations", before = System.getProperty(key);
        System.setProperty(key, Boolean.toString(separate));
        try {
            DeviceArena a = new DeviceArena(device(), 64L << 20);
            assertEquals(separate, PrefillSettings.CUDA_SEPARATE_ALLOCATIONS.get());
            return a;
        } finally {
            if (before == null) System.clearProperty(key); else System.setProperty(key, before);
        }
    }

    private static long driverAddress(DeviceBuffer b) {
        long[] a = new long[1];
        CudaCheck.check(JCudaDriver.cuPointerGetAttribute(Pointer.to(a), CU_POINTER_ATTRIBUTE_DEVICE_POINTER, b.pointer()),
                "device address of " + b.label());
        return a[0];
    }
}
