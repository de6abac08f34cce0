package io.prefill.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.prefill.settings.PrefillSettings;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;

/** Shared device state for the GPU tests; every test first calls {@link #assumeGpu()}. */
final class GpuTestSupport {
    static final int POISON = 0x7FC07FC0;  // two bf16 NaNs: an element the kernel did not write stays NaN
    private static CudaDevice device;
    private static KernelModule module;
    private static CudaStream stream;
    private static DeviceArena arena;

    private GpuTestSupport() { }

    static void assumeGpu() {
        CudaAvailability a = CudaAvailability.probe();
        Assumptions.assumeTrue(a.available(), () -> "CUDA backend unavailable: " + a.reason());
    }

    static synchronized CudaDevice device() {
        if (device == null) device = CudaDevice.open(PrefillSettings.TEST_CUDA_DEVICE.get());
        device.makeCurrent();
        return device;
    }

    static synchronized KernelModule module() {
        if (module == null) module = KernelModule.of(device());
        return module;
    }

    static synchronized CudaStream stream() {
        if (stream == null) stream = new CudaStream(device());
        return stream;
    }

    static synchronized DeviceArena arena() {
        if (arena == null) arena = new DeviceArena(device(), Math.min(2L << 30, device().freeMemory() / 2));
        return arena;
    }

    static AttentionKernels attention() { return new AttentionKernels(module(), stream()); }

    /**
     * Every dense kernel the loaded build can run: the warp-specialised ones only where the sm_90a
     * build runs, the bulk-copy one only where the driver also makes tensor maps.
     */
    static AttentionKernels.Variant[] denseVariants() {
        if (!Gemm.wgmmaLoaded(module(), stream())) return new AttentionKernels.Variant[] {AttentionKernels.Variant.DENSE_MMA};
        return TensorMap.unavailable() == null
                ? new AttentionKernels.Variant[] {AttentionKernels.Variant.DENSE_MMA, AttentionKernels.Variant.DENSE_WS,
                        AttentionKernels.Variant.DENSE_WS_TMA}
                : new AttentionKernels.Variant[] {AttentionKernels.Variant.DENSE_MMA, AttentionKernels.Variant.DENSE_WS};
    }

    /** Every pair-plan kernel the loaded build can run (as {@link #denseVariants}). */
    static AttentionKernels.Variant[] pairVariants() {
        AttentionKernels.Variant[] mma = {AttentionKernels.Variant.PAIR_PLAN_MMA,
                AttentionKernels.Variant.PAIR_PLAN_MMA_HEAD_MAJOR};
        if (!Gemm.wgmmaLoaded(module(), stream())) return mma;
        return TensorMap.unavailable() == null
                ? new AttentionKernels.Variant[] {mma[0], mma[1], AttentionKernels.Variant.PAIR_PLAN_WS,
                        AttentionKernels.Variant.PAIR_PLAN_WS_TMA}
                : new AttentionKernels.Variant[] {mma[0], mma[1], AttentionKernels.Variant.PAIR_PLAN_WS};
    }

    /** Random N(0, sigma) values already rounded to bf16, so CPU and GPU see the same inputs. */
    static float[] randomBf16(Random rnd, long count, double sigma) {
        float[] x = new float[Math.toIntExact(count)];
        for (int i = 0; i < x.length; i++) x[i] = Bf16.round((float) (rnd.nextGaussian() * sigma));
        return x;
    }

    static DeviceBuffer upload(float[] values, String label) {
        DeviceBuffer b = arena().alloc(2L * values.length, label);
        b.upload(stream(), Bf16.fromFloats(values));
        return b;
    }

    static DeviceBuffer poisoned(long elements, String label) {
        DeviceBuffer b = arena().alloc(2L * elements, label);
        b.fill32(stream(), POISON);
        return b;
    }

    static float[] downloadBf16(DeviceBuffer b, long elements) {
        short[] s = new short[Math.toIntExact(elements)];
        b.download(stream(), s);
        return Bf16.toFloats(s);
    }

    /** One head's [n, d] slice of a [heads, n, d] array. */
    static float[] head(float[] all, int h, int n, int d) {
        float[] out = new float[n * d];
        System.arraycopy(all, h * n * d, out, 0, n * d);
        return out;
    }

    /** ||got - ref|| / ||ref|| within bf16 bounds, every element finite (written). */
    static void assertClose(float[] ref, float[] got, int offset, String what) {
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            float g = got[offset + i];
            assertTrue(Float.isFinite(g), () -> what + ": element not written or not finite");
            double e = g - ref[i];
            num += e * e;
            den += (double) ref[i] * ref[i];
        }
        double rms = Math.sqrt(den / Math.max(1, ref.length));
        double worst = 0;  // bf16 P and output rounding: a few 1e-3 of the typical magnitude
        for (int i = 0; i < ref.length; i++)
            worst = Math.max(worst, Math.abs(got[offset + i] - ref[i]) / (rms + Math.abs(ref[i])));
        double rel = Math.sqrt(num / Math.max(den, 1e-30)), w = worst;
        assertTrue(rel < 1e-2, () -> what + ": relative error " + rel);
        assertTrue(w < 0.05, () -> what + ": worst element error " + w + " (relative to rms + |ref|)");
    }

    static void assertAllFinite(float[] got, String what) {
        for (float g : got) assertTrue(Float.isFinite(g), () -> what + ": element not written or not finite");
    }
}
