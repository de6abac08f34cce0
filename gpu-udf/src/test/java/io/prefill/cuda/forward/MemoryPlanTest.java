package io.prefill.cuda.forward;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

import io.prefill.engine.DocumentException;
import io.prefill.model.ModelConfig;
import io.prefill.model.ModelFormatException;
import io.prefill.model.TinyModelSpec;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;
import io.prefill.sparse.PatternConfigException;
import org.junit.jupiter.api.Test;

class MemoryPlanTest {
    private static final long GIB = 1L << 30;
    private static final ModelConfig LLAMA3_8B = PrefillBenchmark.LLAMA3_8B;

    @Test
    void aMillionTokensOfAnEightBillionModelFitOneEightyGigabyteCard() {
        long weights = DeviceModel.bytes(LLAMA3_8B);
        assertEquals(16.06, weights / 1e9, 0.05, "bf16 weights of Llama-3-8B");
        long card = 79L * GIB, context = GIB;  // an H100's usable memory, less the CUDA context
        MemoryPlan p = MemoryPlan.of(LLAMA3_8B, 1 << 20, card - context - weights, CudaBackendOptions.DEFAULT_MAX_CHUNK);
        assertEquals(CudaBackendOptions.DEFAULT_MAX_CHUNK, p.chunkTokens(), "full-size chunks still fit: " + p);
        assertTrue(p.totalBytes() + weights < 60 * GIB, p.toString());
        // no KV cache: K and V of one layer only, the residual in fp32, Q reused for the output
        long n = 1 << 20;
        assertEquals(4 * n * 4096 + 2 * n * 4096 + 2 * 2 * n * 1024, p.persistentBytes(), 64L << 20);
    }

    @Test
    void chunksShrinkToTheBudgetBeforeTheDocumentIsRefused() {
        MemoryPlan roomy = MemoryPlan.of(LLAMA3_8B, 131072, 40 * GIB, 16384);
        long fixed = roomy.persistentBytes() + roomy.attentionBytes();
        MemoryPlan tight = MemoryPlan.of(LLAMA3_8B, 131072, fixed + (1L << 30), 16384);
        assertTrue(tight.chunkTokens() < roomy.chunkTokens(), tight.toString());
        assertTrue(tight.totalBytes() <= fixed + (1L << 30));
        assertEquals(0, tight.chunkTokens() % 64);
        DocumentException e = assertThrows(DocumentException.class, () -> MemoryPlan.of(LLAMA3_8B, 131072, fixed / 2, 16384));
        assertEquals(DocumentException.Kind.DEVICE_MEMORY, e.kind());
        assertTrue(e.getMessage().contains("131072-token document") && e.getMessage().contains("budget"), e.getMessage());
    }

    /**
     * Plan storage follows the config: an adaptive head's maximum budget of 6096 columns (or a
     * vertical-slash head's own budget, or a block-sparse head's top blocks) needs room for that
     * many per query block; at 512K tokens an 8B model's adaptive plans need ~6x MInference's.
     */
    @Test
    void planStorageFollowsTheLargestBudgetOfTheConfig() {
        PatternConfig minference = PatternConfig.uniform("m", 32, 32, 8192, PatternConfig.MINFERENCE_DEFAULT);
        PatternConfig adaptive = PatternConfig.uniform("a", 32, 32, 8192, new HeadPattern.Adaptive(0.95, 100, 6096));
        List<List<HeadPattern>> layers = new java.util.ArrayList<>();
        for (int l = 0; l < 32; l++) {
            List<HeadPattern> row = new java.util.ArrayList<>(java.util.Collections.nCopies(32, PatternConfig.MINFERENCE_DEFAULT));
            if (l == 7) row.set(3, new HeadPattern.BlockSparse(300));
            if (l == 9) row.set(0, new HeadPattern.VerticalSlash(2500, 100));
            layers.add(row);
        }
        PatternConfig mixed = new PatternConfig("x", 32, 32, 8192, layers);
        assertEquals(MemoryPlan.DEFAULT_PLAN_COLUMNS, MemoryPlan.planColumns(minference));
        assertEquals(MemoryPlan.DEFAULT_PLAN_RANGES, MemoryPlan.planRanges(minference));
        assertEquals(6096, MemoryPlan.planColumns(adaptive));
        assertEquals(2500, MemoryPlan.planColumns(mixed));
        assertEquals(300, MemoryPlan.planRanges(mixed));
        int n = 524288;
        long base = MemoryPlan.of(LLAMA3_8B, minference, n, 140 * GIB, 16384).attentionBytes();
        long big = MemoryPlan.of(LLAMA3_8B, adaptive, n, 140 * GIB, 16384).attentionBytes();
        assertEquals(MemoryPlan.attentionBytes(LLAMA3_8B, n), base);
        // the plan of one layer with 6096 leftover columns per head and block: 32 x 8192 x 6096 x 4 bytes, twice
        assertTrue(big - base >= 2L * 32 * 8192 * (6096 - 1024) * 4, big + " vs " + base);
    }

    @Test
    void chunksNeverExceedTheDocument() {
        assertEquals(128, MemoryPlan.of(LLAMA3_8B, 100, 40 * GIB, 16384).chunkTokens());
    }

    @Test
    void modelsTheKernelsCannotRunFailBeforeAnyGpuWork() {
        ModelConfig demo = TinyModelSpec.demo().toConfig(512, 510, 511);  // head_dim 16
        PatternConfig p = PatternConfig.uniform("d", demo.numLayers(), demo.numHeads(), 0, new HeadPattern.Dense());
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> CudaForwardPass.checkSupported(demo, p));
        assertTrue(e.getMessage().contains("head_dim 16"), e.getMessage());
        ModelConfig ok = ForwardGpuFixtures.llama64().toConfig(512, 510, 511);  // 2 layers x 4 heads, head_dim 64
        PatternConfig fits = PatternConfig.uniform("d", ok.numLayers(), ok.numHeads(), 0, new HeadPattern.Dense());
        assertDoesNotThrow(() -> CudaForwardPass.checkSupported(ok, fits));
        PatternConfig wrong = PatternConfig.uniform("d", ok.numLayers() + 1, ok.numHeads(), 0, new HeadPattern.Dense());
        PatternConfigException pe = assertThrows(PatternConfigException.class, () -> CudaForwardPass.checkSupported(ok, wrong));
        assertTrue(pe.getMessage().contains("has 3 layers x 4 heads, but the model has 2 layers x 4 attention heads"),
                pe.getMessage());
    }

    @Test
    void optionsRejectNonsense() {
        assertThrows(IllegalArgumentException.class, () -> CudaBackendOptions.defaults().withMemoryBudget(-1));
        assertThrows(IllegalArgumentException.class, () -> CudaBackendOptions.defaults().withMaxChunkTokens(100));
        assertThrows(IllegalArgumentException.class, () -> CudaBackendOptions.defaults().onDevice(-2));
    }
}
