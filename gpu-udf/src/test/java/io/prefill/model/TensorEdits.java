package io.prefill.model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/** Rewrites one tensor of a single-file tiny model in place (tests that need a damaged checkpoint). */
public final class TensorEdits {
    private TensorEdits() { }

    public static void edit(Path modelDir, String tensor, Consumer<float[]> change) {
        Path file = modelDir.resolve(WeightStore.SINGLE_FILE);
        Map<String, float[]> values = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        DType dtype;
        try (WeightStore store = WeightStore.open(modelDir)) {
            if (!store.contains(tensor)) throw new IllegalArgumentException("no tensor " + tensor);
            dtype = store.get(tensor).dtype();
            for (String name : store.names()) {
                values.put(name, store.get(name).toFloatArray());
                shapes.put(name, store.shape(name));
            }
        }
        change.accept(values.get(tensor));
        SafetensorsWriter w = new SafetensorsWriter();
        values.forEach((name, v) -> w.add(name, dtype, shapes.get(name), v));
        // a new file renamed over the old one: mappings of the old one stay valid
        Path fresh = file.resolveSibling(file.getFileName() + ".edited");
        w.write(fresh);
        try {
            Files.move(fresh, file, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Gives the embedding and lm_head vocabRows rows (new rows zero), as a checkpoint padded for its GEMMs. */
    public static void resize(Path modelDir, int vocabRows) {
        Path file = modelDir.resolve(WeightStore.SINGLE_FILE);
        SafetensorsWriter w = new SafetensorsWriter();
        try (WeightStore store = WeightStore.open(modelDir)) {
            for (String name : store.names()) {
                long[] shape = store.shape(name);
                float[] v = store.get(name).toFloatArray();
                if (name.equals("model.embed_tokens.weight") || name.equals("lm_head.weight")) {
                    v = java.util.Arrays.copyOf(v, Math.toIntExact(vocabRows * shape[1]));
                    shape = new long[] {vocabRows, shape[1]};
                }
                w.add(name, store.get(name).dtype(), shape, v);
            }
        }
        Path fresh = file.resolveSibling(file.getFileName() + ".edited");
        w.write(fresh);
        try {
            Files.move(fresh, file, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
