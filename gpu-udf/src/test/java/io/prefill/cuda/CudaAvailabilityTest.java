package io.prefill.cuda;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** Runs everywhere (no GPU tag): the backend must explain itself when it cannot run. */
class CudaAvailabilityTest {

    @Test
    void reportsAReason() {
        CudaAvailability a = CudaAvailability.probe();
        assertNotNull(a.reason());
        assertFalse(a.reason().isBlank());
        if (KernelBinary.fatbin().isEmpty())
            assertEquals("kernels were not built (nvcc was not found at build time)", a.reason());
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertEquals(1.0f, Bf16.round(1.0f));
        assertEquals(1.0f, Bf16.round(1.00390625f));       // halfway, even stays
        assertEquals(1.015625f, Bf16.round(1.01171875f));  // halfway above an odd mantissa: up to even
        assertTrue(Float.isNaN(Bf16.toFloat(Bf16.fromFloat(Float.NaN))));
    }
}
