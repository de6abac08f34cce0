package io.prefill.cuda.forward;

import io.prefill.cuda.AttentionShape;
import io.prefill.cuda.HeadWidth;
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
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which model families and head widths the cuda backend takes, decided before any device work (no GPU needed). */
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
    void phi3Mini128kIsAcceptedWithItsHeadsPaddedTo128() {
        ModelConfig phi3 = PublishedConfigs.read(PublishedConfigs.PHI3_MINI_128K);
        assertEquals(96, phi3.headDim());
        assertDoesNotThrow(() -> CudaForwardPass.checkSupported(phi3, dense(phi3)));
        assertDoesNotThrow(() -> ForwardBackends.checkSupported("cuda", phi3, dense(phi3)));
        HeadWidth w = CudaForwardPass.headWidth(phi3);
        assertEquals(new HeadWidth(96, 128), w);
        assertTrue(w.padded());
        assertEquals((float) Math.sqrt(128.0 / 96), w.qScale());
        assertEquals(new AttentionShape(32, 32, 1000, 128), CudaForwardPass.attentionShape(phi3, 1000));
        // longrope over all 48 pairs of the 96-wide head, with its cos/sin scale
        ModelKernels.Rotary r = ModelKernels.Rotary.of(phi3);
        assertEquals(48, r.pairs());
        assertFalse(r.interleaved());
        assertTrue(r.scale() > 1f, "longrope's attention factor " + r.scale());
    }

    /** 64 and 128 natively; other multiples of 16 from 32 to 128 padded; anything else refused before any work. */
    @Test
    void headDimsRunNativelyPaddedOrAreRefused() {
        for (int d : new int[] {64, 128}) {
            assertDoesNotThrow(() -> CudaForwardPass.checkSupported(llama(d), dense(llama(d))), "head_dim " + d);
            assertEquals(new HeadWidth(d, d), CudaForwardPass.headWidth(llama(d)));
            assertFalse(CudaForwardPass.headWidth(llama(d)).padded());
            assertEquals(1f, CudaForwardPass.headWidth(llama(d)).qScale());
        }
        for (int d : new int[] {32, 48, 80, 96, 112}) {
            assertDoesNotThrow(() -> CudaForwardPass.checkSupported(llama(d), dense(llama(d))), "head_dim " + d);
            HeadWidth w = CudaForwardPass.headWidth(llama(d));
            assertEquals(d <= 64 ? 64 : 128, w.device(), "head_dim " + d);
            assertEquals((float) Math.sqrt((double) w.device() / d), w.qScale(), "head_dim " + d);
        }
        for (int d : new int[] {8, 16, 24, 72, 88, 100, 120, 136, 144, 192, 256}) {
            ModelConfig c = llama(d);
            for (Runnable check : new Runnable[] {
                    () -> CudaForwardPass.checkSupported(c, dense(c)),
                    () -> ForwardBackends.checkSupported("cuda", c, dense(c))}) {
                ModelFormatException e = assertThrows(ModelFormatException.class, check::run, "head_dim " + d);
                assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains("head_dim " + d), e.getMessage());
            }
            assertThrows(IllegalArgumentException.class, () -> HeadWidth.of(d));
            assertDoesNotThrow(() -> ForwardBackends.checkSupported("cpu", c, dense(c)));
        }
        assertThrows(IllegalArgumentException.class, () -> new HeadWidth(96, 96), "96 runs at 128");
        assertThrows(IllegalArgumentException.class, () -> new HeadWidth(64, 128), "64 runs natively");
    }

    /** The GPU tests' padded tiny models are valid configs the cuda backend takes. */
    @Test
    void theTinyPaddedFixturesAreAccepted() {
        for (var spec : new io.prefill.model.TinyModelSpec[] {ForwardGpuFixtures.phi3d96(), ForwardGpuFixtures.llama80(),
                ForwardGpuFixtures.qwen48()}) {
            ModelConfig c = spec.toConfig(1000, 1, 2);
            assertDoesNotThrow(() -> CudaForwardPass.checkSupported(c, dense(c)), spec.toString());
            assertTrue(CudaForwardPass.headWidth(c).padded(), spec.toString());
        }
    }

    private static ModelConfig llama(int headDim) {
        ModelConfig c = new ModelConfig(Architecture.LLAMA, 1000, 512, 1024, 2, 8, 2, headDim, 1e-5, 500000.0,
                RopeScaling.NONE, 1.0, 131072, false, false, 1, 2);
        c.validate("test");
        return c;
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
