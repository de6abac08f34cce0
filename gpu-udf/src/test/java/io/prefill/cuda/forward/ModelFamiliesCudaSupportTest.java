package io.prefill.cuda.forward;

import io.prefill.cuda.ModelKernels;
import io.prefill.model.Architecture;
import io.prefill.model.ModelConfig;
import io.prefill.model.ModelFormatException;
import io.prefill.model.RopeScaling;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;
import io.prefill.testing.PublishedConfigs;
import io.prefill.udf.ForwardBackends;
import org.junit.jupiter.api.Test;

import java.util.Collections;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which of the new model families the cuda backend takes, decided before any device work (no GPU needed). */
class ModelFamiliesCudaSupportTest {
    @Test
    void glm4Chat1mIsAccepted() {
        ModelConfig glm = PublishedConfigs.read(PublishedConfigs.GLM4_9B_CHAT_1M);
        assertDoesNotThrow(() -> CudaForwardPass.checkSupported(glm, dense(glm)));
        assertDoesNotThrow(() -> ForwardBackends.checkSupported("cuda", glm, dense(glm)));
        // the kernel rotates GLM's 32 interleaved pairs of each 128-wide head, unscaled
        assertEquals(new ModelKernels.Rotary(32, true, 1f), ModelKernels.Rotary.of(glm));
    }

    @Test
    void phi3Mini128kIsRefusedForItsHeadDim() {
        ModelConfig phi3 = PublishedConfigs.read(PublishedConfigs.PHI3_MINI_128K);
        for (Runnable check : new Runnable[] {
                () -> CudaForwardPass.checkSupported(phi3, dense(phi3)),
                () -> ForwardBackends.checkSupported("cuda", phi3, dense(phi3))}) {
            ModelFormatException e = assertThrows(ModelFormatException.class, check::run);
            assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains("head_dim 96"), e.getMessage());
        }
        assertDoesNotThrow(() -> ForwardBackends.checkSupported("cpu", phi3, dense(phi3)));
    }

    @Test
    void aPartialRotaryPartInTheRotateHalfLayoutIsRefused() {
        // Phi-4-mini's shape: Phi3ForCausalLM, head_dim 128, three quarters of each head rotating (rotate_half)
        ModelConfig c = new ModelConfig(Architecture.PHI3, 200064, 3072, 8192, 32, 24, 8, 128, 1e-5, 10000.0,
                RopeScaling.longrope(Collections.nCopies(48, 1.0), Collections.nCopies(48, 2.0), 32.0, 0, 4096), 0.75,
                131072, true, false, 199999, 199999);
        c.validate("test");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> CudaForwardPass.checkSupported(c, dense(c)));
        assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains("partial_rotary_factor 0.75"),
                e.getMessage());
    }

    @Test
    void longropeOnWholeHeadsOf128IsAcceptedWithItsScale() {
        ModelConfig c = new ModelConfig(Architecture.PHI3, 32064, 4096, 8192, 2, 32, 8, 128, 1e-5, 10000.0,
                RopeScaling.longrope(Collections.nCopies(64, 1.0), Collections.nCopies(64, 2.0), 32.0, 0, 4096), 1.0,
                131072, false, false, 1, 2);
        assertDoesNotThrow(() -> CudaForwardPass.checkSupported(c, dense(c)));
        ModelKernels.Rotary r = ModelKernels.Rotary.of(c);
        assertEquals(64, r.pairs());
        assertEquals((float) Math.sqrt(1 + Math.log(32) / Math.log(4096)), r.scale());
    }

    private static PatternConfig dense(ModelConfig c) {
        return PatternConfig.uniform("dense", c.numLayers(), c.numHeads(), 0, new HeadPattern.Dense());
    }
}
