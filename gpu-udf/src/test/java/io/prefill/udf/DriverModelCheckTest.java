package io.prefill.udf;

import io.prefill.engine.EngineOptions;
import io.prefill.model.ModelFormatException;
import io.prefill.model.TensorEdits;
import io.prefill.model.TinyModelSpec;
import io.prefill.model.TinyModelWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The driver's check of a model refuses non-finite norms and embeddings before any document runs. */
class DriverModelCheckTest {
    @TempDir Path tmp;

    private static EngineSpec spec(Path dir) {
        return new EngineSpec(dir.toString(), null, "default", "cpu", EngineOptions.defaults());
    }

    private void refused(String tensor, int element, float value) {
        Path dir = tmp.resolve(tensor.replace('.', '_'));
        TinyModelWriter.write(dir, TinyModelSpec.demo(), 3);
        TensorEdits.edit(dir, tensor, w -> w[element] = value);
        String m = assertThrows(ModelFormatException.class, () -> EngineCache.onDriver(spec(dir))).getMessage();
        assertTrue(m.contains(tensor) && m.contains("model.safetensors") && m.contains("element " + element)
                && m.contains(Float.isNaN(value) ? "NaN" : "Infinity"), m);
    }

    @Test
    void aNanInTheFinalNormIsRefused() {
        refused("model.norm.weight", 5, Float.NaN);
    }

    @Test
    void aNanInALayerNormIsRefused() {
        refused("model.layers.1.post_attention_layernorm.weight", 0, Float.NaN);
    }

    @Test
    void anInfiniteEmbeddingIsRefused() {
        refused("model.embed_tokens.weight", 64 * 300 + 7, Float.NEGATIVE_INFINITY);
    }

    @Test
    void aFiniteModelPasses() {
        Path dir = tmp.resolve("ok");
        TinyModelWriter.write(dir, TinyModelSpec.demo(), 3);
        EngineCache.onDriver(spec(dir));
    }
}
