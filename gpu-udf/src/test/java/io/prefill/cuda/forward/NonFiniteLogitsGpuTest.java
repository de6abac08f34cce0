package io.prefill.cuda.forward;

import static io.prefill.cuda.forward.ForwardGpuFixtures.*;
import static org.junit.jupiter.api.Assertions.*;

import io.prefill.engine.DocumentResult;
import io.prefill.engine.EngineOptions;
import io.prefill.engine.PrefillEngine;
import io.prefill.model.LoadedModel;
import io.prefill.model.TensorEdits;
import io.prefill.model.TinyModelSpec;
import io.prefill.model.TinyModelWriter;

import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** On the cuda backend as on the cpu one: NaN weights give an engine error row, not a NaN log-probability. */
@Tag("gpu")
class NonFiniteLogitsGpuTest {
    @TempDir
    Path dir;

    @BeforeEach
    void gpu() { assumeGpu(); }

    private DocumentResult prefill(Path model) throws Exception {
        TinyModelSpec spec = llama64();
        LoadedModel m = LoadedModel.open(model);
        try (PrefillEngine engine = new PrefillEngine(m, CudaForwardPass.create(m.config(), m.weights(), dense(spec),
                CudaBackendOptions.defaults()), EngineOptions.defaults())) {
            return engine.prefill("The quarterly report was filed on time. ".repeat(20), null);
        }
    }

    @Test
    void aNanLmHeadIsAnEngineErrorRow() throws Exception {
        Path model = dir.resolve("nan-head");
        TinyModelWriter.write(model, llama64(), 5);
        TensorEdits.edit(model, "lm_head.weight", w -> Arrays.fill(w, Float.NaN));
        DocumentResult r = prefill(model);
        assertEquals("engine", r.errorKind(), r.toString());
        assertTrue(r.error().contains("non-finite"), r.error());
        assertEquals("cuda", r.backend());
    }

    @Test
    void aNanInALayerNormIsAnEngineErrorRow() throws Exception {
        Path model = dir.resolve("nan-norm");
        TinyModelWriter.write(model, llama64(), 5);
        TensorEdits.edit(model, "model.layers.0.post_attention_layernorm.weight", w -> w[1] = Float.NaN);
        DocumentResult r = prefill(model);
        assertEquals("engine", r.errorKind(), r.toString());
        assertTrue(r.error().contains("non-finite"), r.error());
    }

    @Test
    void theUndamagedModelGivesAFiniteRow() throws Exception {
        Path model = dir.resolve("ok");
        TinyModelWriter.write(model, llama64(), 5);
        DocumentResult r = prefill(model);
        assertNull(r.error(), r.toString());
        assertTrue(Double.isFinite(r.first().logprob()));
    }
}
