package io.prefill.engine;

import io.prefill.model.Architecture;
import io.prefill.model.ModelConfig;
import io.prefill.model.RopeScaling;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CostModelTest {
    // Llama-3-8B's shape
    private final ModelConfig llama = new ModelConfig(Architecture.LLAMA, 128256, 4096, 14336, 32, 32, 8, 128,
            1e-5, 500000, RopeScaling.NONE, 262144, false, false, 128000, 128009);

    @Test
    void linearPartMatchesTheParameterCount() {
        CostModel dense = new CostModel(llama, PatternConfig.uniform("m", 32, 32, 0, new HeadPattern.Dense()));
        // about 6.98e9 non-embedding parameters in the layers: 2 FLOPs each per token
        double perToken = dense.linearFlops(1000) / 1000;
        assertEquals(2 * 6.98e9, perToken, 0.02 * 2 * 6.98e9);
    }

    @Test
    void denseAttentionIsQuadraticAndSparseIsLinear() {
        CostModel dense = new CostModel(llama, PatternConfig.uniform("m", 32, 32, 0, new HeadPattern.Dense()));
        CostModel vs = new CostModel(llama, PatternConfig.uniform("m", 32, 32, 8192, new HeadPattern.VerticalSlash(1000, 6096)));
        assertEquals(4.0, dense.attentionFlops(200_000) / dense.attentionFlops(100_000), 0.01);
        assertEquals(2.0, vs.attentionFlops(200_000) / vs.attentionFlops(100_000), 0.01);
        // at 128K sparse attention is ~9x cheaper, and the whole pre-fill over 2x (the GEMMs remain)
        assertTrue(vs.attentionFlops(131072) < dense.attentionFlops(131072) / 8);
        assertTrue(vs.flops(131072) < dense.flops(131072) / 2);
        // below the minimum sparse length every head is dense
        assertEquals(dense.flops(4096), vs.flops(4096), 1e-6 * dense.flops(4096));
    }

    @Test
    void budgetsNeverExceedDense() {
        CostModel huge = new CostModel(llama, PatternConfig.uniform("m", 32, 32, 0, new HeadPattern.AShape(100000, 100000)));
        CostModel dense = new CostModel(llama, PatternConfig.uniform("m", 32, 32, 0, new HeadPattern.Dense()));
        assertEquals(dense.flops(5000), huge.flops(5000), 1e-9 * dense.flops(5000));
        assertEquals(0, dense.flops(0));
    }
}
