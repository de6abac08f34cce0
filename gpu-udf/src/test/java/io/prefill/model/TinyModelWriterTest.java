package io.prefill.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TinyModelWriterTest {
    @TempDir Path tmp;

    @Test
    void demoSpecMatchesTheBrief() {
        TinyModelSpec s = TinyModelSpec.demo();
        assertEquals(Architecture.LLAMA, s.architecture());
        assertEquals(64, s.hiddenSize());
        assertEquals(172, s.intermediateSize());
        assertEquals(2, s.numLayers());
        assertEquals(4, s.numHeads());
        assertEquals(2, s.numKvHeads());
        assertEquals(16, s.headDim());
        assertEquals(500000.0, s.ropeTheta());
        assertEquals(DType.BF16, s.dtype());
        assertEquals(1 << 20, s.maxPositionEmbeddings());
    }

    @Test
    void writesALoadableModelMatchingTheSpec() {
        Path dir = tmp.resolve("m");
        TinyModelWriter.write(dir, TinyModelSpec.demo(), 1);
        try (LoadedModel m = LoadedModel.open(dir)) {
            ModelConfig c = m.config();
            assertEquals(TinyModelSpec.demo().toConfig(512, 510, 511), c);
            assertEquals(DType.BF16, m.weights().embedTokens().dtype());
        }
    }

    @Test
    void sameSeedSameBytesOtherSeedOtherWeights() throws IOException {
        TinyModelWriter.write(tmp.resolve("a"), TinyModelSpec.demo(), 42);
        TinyModelWriter.write(tmp.resolve("b"), TinyModelSpec.demo(), 42);
        TinyModelWriter.write(tmp.resolve("c"), TinyModelSpec.demo(), 43);
        for (String f : new String[] {"config.json", "tokenizer.json", "model.safetensors"}) {
            assertArrayEquals(Files.readAllBytes(tmp.resolve("a").resolve(f)), Files.readAllBytes(tmp.resolve("b").resolve(f)), f);
        }
        assertFalse(Arrays.equals(Files.readAllBytes(tmp.resolve("a/model.safetensors")),
                Files.readAllBytes(tmp.resolve("c/model.safetensors"))));
    }

    @Test
    void weightsHaveTheIntendedScale() {
        Path dir = tmp.resolve("m");
        TinyModelWriter.write(dir, TinyModelSpec.demo().withDtype(DType.F32), 7);
        try (LoadedModel m = LoadedModel.open(dir)) {
            assertEquals(DType.F32, m.weights().lmHead().dtype());
            assertEquals(1 / Math.sqrt(64), std(m.weights().embedTokens().toFloatArray()), 0.01);
            assertEquals(1 / Math.sqrt(172), std(m.weights().layer(1).down().toFloatArray()), 0.01);
            float[] norm = m.weights().finalNorm().toFloatArray();
            double mean = 0;
            for (float v : norm) mean += v / norm.length;
            assertEquals(1.0, mean, 0.03, "norm weights near 1");
            assertTrue(std(norm) > 0.01, "but not all exactly 1");
        }
    }

    @Test
    void variantsLoad() {
        TinyModelSpec[] variants = {
            TinyModelSpec.demo().withArchitecture(Architecture.QWEN2).withTieWordEmbeddings(true),
            TinyModelSpec.demo().withArchitecture(Architecture.MISTRAL).withLayers(1),
            TinyModelSpec.demo().withRopeScaling(RopeScaling.llama3(8, 1, 4, 8192)).withDtype(DType.F16),
        };
        for (int i = 0; i < variants.length; i++) {
            Path dir = tmp.resolve("v" + i);
            TinyModelWriter.write(dir, variants[i], i);
            try (LoadedModel m = LoadedModel.open(dir)) {
                assertEquals(variants[i].architecture(), m.config().architecture());
                assertEquals(variants[i].ropeScaling(), m.config().ropeScaling());
                assertEquals(variants[i].numLayers(), m.config().numLayers());
                assertEquals(variants[i].dtype(), m.weights().layer(0).q().dtype());
            }
        }
    }

    private static double std(float[] v) {
        double mean = 0;
        for (float x : v) mean += x / (double) v.length;
        double var = 0;
        for (float x : v) var += (x - mean) * (x - mean) / v.length;
        return Math.sqrt(var);
    }
}
