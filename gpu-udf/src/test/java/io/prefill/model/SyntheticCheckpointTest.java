package io.prefill.model;

import com.fasterxml.jackson.databind.JsonNode;
import io.prefill.cpu.CpuForwardPass;
import io.prefill.engine.DocumentResult;
import io.prefill.engine.EngineOptions;
import io.prefill.engine.PrefillEngine;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SyntheticCheckpointTest {
    @TempDir
    static Path dir;
    static Path tokenizer;

    /** Widths of a Llama, small. */
    static final ModelConfig SHAPE = new ModelConfig(Architecture.LLAMA, 512, 128, 256, 2, 4, 2, 32, 1e-5,
            500000.0, RopeScaling.NONE, 4096, false, false, 0, 1);

    @BeforeAll
    static void tokenizer() {
        TokenizerBuilder.TrainedBpe bpe = TokenizerBuilder.demo();
        tokenizer = dir.resolve("tokenizer.json");
        bpe.write(tokenizer);
    }

    /** SHAPE with the demo tokenizer's vocabulary and special tokens. */
    private static ModelConfig shape() {
        TokenizerBuilder.TrainedBpe bpe = TokenizerBuilder.demo();
        return shape(bpe.vocabSize());
    }

    private static ModelConfig shape(int vocab) {
        TokenizerBuilder.TrainedBpe bpe = TokenizerBuilder.demo();
        return new ModelConfig(SHAPE.architecture(), vocab, SHAPE.hiddenSize(), SHAPE.intermediateSize(),
                SHAPE.numLayers(), SHAPE.numHeads(), SHAPE.numKvHeads(), SHAPE.headDim(), SHAPE.rmsNormEps(),
                SHAPE.ropeTheta(), SHAPE.ropeScaling(), SHAPE.maxPositionEmbeddings(), false, false, bpe.bosId(), bpe.eosId());
    }

    @Test
    void aShardedCheckpointLoadsAndPrefills() throws IOException {
        Path out = dir.resolve("sharded");
        long bytes = SyntheticCheckpoint.write(out, shape(), tokenizer, 3, 5, 3);
        long expected = CheckpointLayout.tensors(shape()).stream().mapToLong(t -> t.bytes(DType.BF16)).sum();
        assertEquals(expected, bytes);
        JsonNode index = ModelConfigJson.MAPPER.readTree(out.resolve(WeightStore.INDEX_FILE).toFile());
        assertEquals(expected, index.get("metadata").get("total_size").asLong());
        for (int s = 0; s < 3; s++) assertTrue(Files.isRegularFile(out.resolve(CheckpointLayout.shardName(s, 3))));
        try (LoadedModel model = LoadedModel.open(out)) {
            assertEquals(shape(), model.config());
            float[] norm = model.weights().layer(1).inputNorm().toFloatArray();
            for (float v : norm) assertEquals(1f, v);
            TensorView embed = model.weights().embedTokens();
            double sum = 0, sumSq = 0;
            long n = embed.numel();
            for (long i = 0; i < n; i += 7) {
                double v = embed.get(i);
                sum += v;
                sumSq += v * v;
            }
            long count = (n + 6) / 7;
            double mean = sum / count, std = Math.sqrt(sumSq / count - mean * mean);
            assertEquals(0.0, mean, 1e-3);
            assertEquals(SyntheticCheckpoint.STD, std, 0.001);
            PatternConfig dense = PatternConfig.uniform("t", 2, 4, 0, new HeadPattern.Dense());
            PrefillEngine engine = new PrefillEngine(model, new CpuForwardPass(model.config(), model.weights(), dense),
                    EngineOptions.defaults());
            DocumentResult r = engine.prefill("the report of the quarter", null);
            assertTrue(r.ok(), r.error());
            assertNotNull(r.first());
        }
    }

    @Test
    void theBytesDependOnTheSeedAloneNotOnTheThreads() throws IOException {
        // a vocabulary large enough that the embedding and lm_head span two generated chunks each
        ModelConfig wide = shape(70000);
        Path a = dir.resolve("one-thread"), b = dir.resolve("four-threads"), c = dir.resolve("other-seed");
        SyntheticCheckpoint.write(a, wide, tokenizer, 1, 9, 1);
        SyntheticCheckpoint.write(b, wide, tokenizer, 1, 9, 4);
        SyntheticCheckpoint.write(c, wide, tokenizer, 1, 10, 4);
        assertFalse(Files.exists(a.resolve(WeightStore.INDEX_FILE)), "one shard is a plain model.safetensors");
        byte[] one = Files.readAllBytes(a.resolve(WeightStore.SINGLE_FILE));
        assertArrayEquals(one, Files.readAllBytes(b.resolve(WeightStore.SINGLE_FILE)));
        assertFalse(java.util.Arrays.equals(one, Files.readAllBytes(c.resolve(WeightStore.SINGLE_FILE))));
        assertTrue(wide.vocabSize() * (long) wide.hiddenSize() > SyntheticCheckpoint.CHUNK,
                "the embedding spans several chunks");
    }

    @Test
    void theEightBShapeIsLlama3WithTheLongContextBase() {
        ModelConfig c = SyntheticCheckpoint.shape("llama3-8b-262k");
        assertEquals(List.of(128256, 4096, 14336, 32, 32, 8, 128, 262144),
                List.of(c.vocabSize(), c.hiddenSize(), c.intermediateSize(), c.numLayers(), c.numHeads(),
                        c.numKvHeads(), c.headDim(), c.maxPositionEmbeddings()));
        long bytes = CheckpointLayout.tensors(c).stream().mapToLong(t -> t.bytes(DType.BF16)).sum();
        assertEquals(16.06e9, bytes, 0.01e9);
        assertEquals(4, SyntheticCheckpoint.withLayers(c, 4).numLayers());
        assertThrows(IllegalArgumentException.class, () -> SyntheticCheckpoint.shape("gpt-5"));
    }
}
