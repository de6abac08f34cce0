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
     * Plan storage follows the config, layer by layer: a layer's leftover columns per query block
     * are bounded by the sum of its heads' vertical budgets (an adaptive head's maximum of 6096,
     * a vertical-slash head's own, the forced 30 at least, none for dense and block-sparse heads),
     * and the widest layer sets the reserve; ranges are 64 per head or a block-sparse head's top
     * blocks. At 512K tokens an 8B model's all-adaptive plans need ~6x MInference's.
     */
    @Test
    void planStorageFollowsTheWidestLayerOfTheConfig() {
        PatternConfig minference = PatternConfig.uniform("m", 32, 32, 8192, PatternConfig.MINFERENCE_DEFAULT);
        PatternConfig adaptive = PatternConfig.uniform("a", 32, 32, 8192, new HeadPattern.Adaptive(0.95, 100, 6096));
        List<List<HeadPattern>> layers = new java.util.ArrayList<>();
        for (int l = 0; l < 32; l++) {
            List<HeadPattern> row = new java.util.ArrayList<>(java.util.Collections.nCopies(32, PatternConfig.MINFERENCE_DEFAULT));
            if (l == 7) row.set(3, new HeadPattern.BlockSparse(300));
            if (l == 9) row.set(0, new HeadPattern.VerticalSlash(2500, 100));
            if (l == 11) row.set(5, new HeadPattern.VerticalSlash(10, 100));  // clamped up to the forced 30
            if (l == 12) row.set(2, new HeadPattern.Dense());
            layers.add(row);
        }
        PatternConfig mixed = new PatternConfig("x", 32, 32, 8192, layers);
        int v = ((HeadPattern.VerticalSlash) PatternConfig.MINFERENCE_DEFAULT).verticalSize();
        assertEquals(32L * v, MemoryPlan.planColumns(minference));
        assertEquals(32L * MemoryPlan.DEFAULT_PLAN_RANGES, MemoryPlan.planRanges(minference));
        assertEquals(32L * 6096, MemoryPlan.planColumns(adaptive));
        assertEquals(31L * v + 2500, MemoryPlan.planColumns(mixed), "layer 9 is the widest");
        assertEquals(31L * MemoryPlan.DEFAULT_PLAN_RANGES + 300, MemoryPlan.planRanges(mixed), "layer 7 has the most ranges");
        PatternConfig small = PatternConfig.uniform("s", 2, 3, 8192, new HeadPattern.VerticalSlash(10, 100));
        assertEquals(3L * 30, MemoryPlan.planColumns(small));
        assertEquals(0, MemoryPlan.planColumns(PatternConfig.uniform("d", 2, 3, 0, new HeadPattern.Dense())));
        int n = 524288;
        long base = MemoryPlan.of(LLAMA3_8B, minference, n, 140 * GIB, 16384).attentionBytes();
        long big = MemoryPlan.of(LLAMA3_8B, adaptive, n, 140 * GIB, 16384).attentionBytes();
        // the plan of one layer with 6096 leftover columns per head and block: 32 x 8192 x 6096 x 4 bytes, twice
        assertEquals(2L * 32 * 8192 * (6096 - v) * 4, big - base);
    }

    /**
     * MInference's Llama-3-70B config: its widest layer sums to far less than 64 heads at its
     * widest head's 3500 columns, which is what lets 1M tokens of the 70B in FP8 fit one 141 GB card.
     */
    @Test
    void aPublishedConfigIsSizedByItsWidestLayer() {
        var published = io.prefill.testing.SharedData.find(
                "minference-configs/Llama_3_70B_Instruct_262k_kv_out_v32_fit_o_best_pattern.json");
        org.junit.jupiter.api.Assumptions.assumeTrue(published.isPresent(), "shared minference-configs folder absent");
        PatternConfig p = PatternConfig.read(published.get());
        assertEquals(80, p.numLayers());
        assertEquals(64, p.numHeads());
        long widestHead = p.heads().stream().flatMap(List::stream)
                .mapToLong(x -> x instanceof HeadPattern.VerticalSlash vs ? vs.verticalSize() : 0).max().orElseThrow();
        long widestLayer = 0;
        for (List<HeadPattern> layer : p.heads())
            widestLayer = Math.max(widestLayer, layer.stream()
                    .mapToLong(x -> Math.max(30, ((HeadPattern.VerticalSlash) x).verticalSize())).sum());
        assertEquals(widestLayer, MemoryPlan.planColumns(p));
        assertTrue(MemoryPlan.planColumns(p) < 64 * widestHead / 2, MemoryPlan.planColumns(p) + " vs " + 64 * widestHead);
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
