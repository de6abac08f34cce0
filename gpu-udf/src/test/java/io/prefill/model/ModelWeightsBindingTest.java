package io.prefill.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelWeightsBindingTest {
    @TempDir Path tmp;

    private static ModelWeights bind(Path dir) {
        return SafetensorsModelWeights.bind(ModelConfig.read(dir.resolve("config.json")), WeightStore.open(dir));
    }

    /** Rewrites one integer in config.json so the checkpoint no longer matches it. */
    private static void editConfig(Path dir, String from, String to) throws IOException {
        Path config = dir.resolve("config.json");
        String text = Files.readString(config);
        assertTrue(text.contains(from), "config.json contains " + from);
        Files.writeString(config, text.replace(from, to));
    }

    @Test
    void bindsEveryTensorWithItsShape() throws IOException {
        Path dir = tmp.resolve("m");
        TinyModelWriter.write(dir, TinyModelSpec.demo(), 3);
        ModelWeights w = bind(dir);
        assertArrayEquals(new long[] {512, 64}, w.embedTokens().shape());
        LayerWeights l1 = w.layer(1);
        assertEquals("model.layers.1.self_attn.q_proj.weight", l1.q().name());
        assertArrayEquals(new long[] {64, 64}, l1.q().shape());
        assertArrayEquals(new long[] {32, 64}, l1.k().shape());
        assertArrayEquals(new long[] {32, 64}, l1.v().shape());
        assertArrayEquals(new long[] {64, 64}, l1.o().shape());
        assertArrayEquals(new long[] {172, 64}, l1.gate().shape());
        assertArrayEquals(new long[] {172, 64}, l1.up().shape());
        assertArrayEquals(new long[] {64, 172}, l1.down().shape());
        assertArrayEquals(new long[] {64}, l1.inputNorm().shape());
        assertArrayEquals(new long[] {64}, l1.postAttentionNorm().shape());
        assertNull(l1.qBias());
        assertEquals("lm_head.weight", w.lmHead().name());
        assertEquals("model.norm.weight", w.finalNorm().name());
        assertThrows(IndexOutOfBoundsException.class, () -> w.layer(2));
    }

    @Test
    void tiedEmbeddingsServeAsLmHead() throws IOException {
        Path dir = tmp.resolve("m");
        TinyModelWriter.write(dir, TinyModelSpec.demo().withTieWordEmbeddings(true), 3);
        ModelWeights w = bind(dir);
        assertSame(w.embedTokens(), w.lmHead());
    }

    @Test
    void qwen2BindsQkvBiases() throws IOException {
        Path dir = tmp.resolve("m");
        TinyModelWriter.write(dir, TinyModelSpec.demo().withArchitecture(Architecture.QWEN2), 3);
        LayerWeights l0 = bind(dir).layer(0);
        assertNotNull(l0.qBias());
        assertArrayEquals(new long[] {64}, l0.qBias().shape());
        assertArrayEquals(new long[] {32}, l0.kBias().shape());
        assertArrayEquals(new long[] {32}, l0.vBias().shape());
    }

    @Test
    void wrongShapeNamesFileTensorExpectedAndActual() throws IOException {
        Path dir = tmp.resolve("m");
        TinyModelWriter.write(dir, TinyModelSpec.demo(), 3);
        editConfig(dir, "\"intermediate_size\" : 172", "\"intermediate_size\" : 100");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> bind(dir));
        String m = e.getMessage();
        assertTrue(m.contains(dir.resolve("model.safetensors").toString()), m);
        assertTrue(m.contains("tensor model.layers.0.mlp.gate_proj.weight has shape [172, 64], expected [100, 64]"), m);
        assertTrue(m.contains("intermediate_size=100"), m);
    }

    @Test
    void wrongShapeInAShardNamesTheShard() throws IOException {
        Path dir = tmp.resolve("m");
        TinyModelWriter.write(dir, TinyModelSpec.demo(), 3, 2);
        editConfig(dir, "\"vocab_size\" : 512", "\"vocab_size\" : 600");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> bind(dir));
        String m = e.getMessage();
        assertTrue(m.contains("model-00001-of-00002.safetensors: tensor model.embed_tokens.weight has shape [512, 64], expected [600, 64]"), m);
    }

    @Test
    void missingBiasIsNamed() throws IOException {
        Path dir = tmp.resolve("m");
        TinyModelWriter.write(dir, TinyModelSpec.demo(), 3);
        editConfig(dir, "\"attention_bias\" : false", "\"attention_bias\" : true");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> bind(dir));
        assertTrue(e.getMessage().contains(dir.toString()) && e.getMessage().contains("no tensor model.layers.0.self_attn.q_proj.bias"),
                e.getMessage());
    }

    @Test
    void missingLmHeadWhenNotTied() throws IOException {
        Path dir = tmp.resolve("m");
        TinyModelWriter.write(dir, TinyModelSpec.demo().withTieWordEmbeddings(true), 3);
        editConfig(dir, "\"tie_word_embeddings\" : true", "\"tie_word_embeddings\" : false");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> bind(dir));
        assertTrue(e.getMessage().contains("no tensor lm_head.weight"), e.getMessage());
    }
}
