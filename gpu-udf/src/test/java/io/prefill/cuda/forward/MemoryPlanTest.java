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

    /**
     * Phi-3-mini's heads (96) live on the device at width 128: Q, K and V take 4/3 of their bytes
     * at head_dim 96, the same as a head_dim-128 model of as many heads; the chunk rows (projection
     * inputs and outputs, attention rows) keep the model's width.
     */
    @Test
    void paddedHeadsTakeTheDeviceWidthInQkvOnly() {
        ModelConfig phi3 = io.prefill.testing.PublishedConfigs.read(io.prefill.testing.PublishedConfigs.PHI3_MINI_128K);
        assertEquals(96, phi3.headDim());
        assertEquals(128, MemoryPlan.deviceHeadDim(phi3));
        long n = 131072;
        long qkv = 2L * n * (phi3.numHeads() + 2L * phi3.numKvHeads()) * 128;
        long rest = 4L * n * phi3.hiddenSize() + 4L * n + 4L * phi3.vocabSize() + 4L * phi3.hiddenSize() + 8L * 96;
        assertEquals(qkv + rest, MemoryPlan.persistentBytes(phi3, n));
        long unpadded = 2L * n * (phi3.qDim() + 2L * phi3.kvDim());
        assertEquals(4 * unpadded, 3 * qkv, "Q/K/V at 4/3 of their bytes at head_dim 96");
        ModelConfig as128 = new ModelConfig(phi3.architecture(), phi3.vocabSize(), phi3.hiddenSize(),
                phi3.intermediateSize(), phi3.numLayers(), phi3.numHeads(), phi3.numKvHeads(), 128, phi3.rmsNormEps(),
                phi3.ropeTheta(), io.prefill.model.RopeScaling.NONE, 1.0, phi3.maxPositionEmbeddings(), false, false, 1, 2);
        assertEquals(MemoryPlan.persistentBytes(as128, n) - 8L * 32, MemoryPlan.persistentBytes(phi3, n),
                "the same Q/K/V bytes as 128-wide heads (the RoPE table differs by 32 doubles)");
        // chunk rows and plan scratch do not depend on the padding
        assertEquals(2L * 3072 + Math.max(4L * (3072 + 2 * 3072), 2L * 3072 + 6L * 8192), MemoryPlan.bytesPerChunkRow(phi3));
        assertEquals(MemoryPlan.attentionBytes(as128, n), MemoryPlan.attentionBytes(phi3, n));
        // native widths are not padded; a width the backend refuses is sized as it is
        assertEquals(64, MemoryPlan.deviceHeadDim(ForwardGpuFixtures.llama64().toConfig(512, 510, 511)));
        assertEquals(128, MemoryPlan.deviceHeadDim(LLAMA3_8B));
        assertEquals(16, MemoryPlan.deviceHeadDim(TinyModelSpec.demo().toConfig(512, 510, 511)));
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
