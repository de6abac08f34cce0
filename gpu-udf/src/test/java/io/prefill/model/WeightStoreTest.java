package io.prefill.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WeightStoreTest {
    @TempDir Path tmp;

    private ModelFormatException openFails(Path dir) {
        return assertThrows(ModelFormatException.class, () -> WeightStore.open(dir));
    }

    @Test
    void shardedCheckpointReadsLikeTheSingleFile() throws IOException {
        Path single = tmp.resolve("single");
        Path sharded = tmp.resolve("sharded");
        TinyModelWriter.write(single, TinyModelSpec.demo(), 11);
        TinyModelWriter.write(sharded, TinyModelSpec.demo(), 11, 3);
        assertTrue(Files.exists(sharded.resolve(WeightStore.INDEX_FILE)));
        assertTrue(Files.exists(sharded.resolve("model-00003-of-00003.safetensors")));
        try (WeightStore a = WeightStore.open(single); WeightStore b = WeightStore.open(sharded)) {
            assertEquals(1, a.files().size());
            assertEquals(3, b.files().size());
            assertEquals(a.names(), b.names());
            for (String name : a.names()) {
                assertArrayEquals(a.get(name).toFloatArray(), b.get(name).toFloatArray(), name);
            }
            assertNotEquals(b.fileOf("model.embed_tokens.weight"), b.fileOf("lm_head.weight"));
        }
    }

    @Test
    void missingShardIsNamed() throws IOException {
        Path dir = tmp.resolve("m");
        TinyModelWriter.write(dir, TinyModelSpec.demo(), 1, 2);
        Files.delete(dir.resolve("model-00002-of-00002.safetensors"));
        ModelFormatException e = openFails(dir);
        assertTrue(e.getMessage().contains(WeightStore.INDEX_FILE)
                && e.getMessage().contains("shard model-00002-of-00002.safetensors") && e.getMessage().contains("missing"),
                e.getMessage());
    }

    @Test
    void indexNamingATensorItsShardLacks() throws IOException {
        Path dir = tmp.resolve("m");
        TinyModelWriter.write(dir, TinyModelSpec.demo(), 1, 2);
        Path index = dir.resolve(WeightStore.INDEX_FILE);
        Files.writeString(index, Files.readString(index).replace("\"weight_map\" : {",
                "\"weight_map\" : {\"model.extra.weight\" : \"model-00001-of-00002.safetensors\","));
        ModelFormatException e = openFails(dir);
        assertTrue(e.getMessage().contains("model.extra.weight") && e.getMessage().contains("has no such tensor"), e.getMessage());
    }

    @Test
    void noWeightsAtAll() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("empty"));
        ModelFormatException e = openFails(dir);
        assertTrue(e.getMessage().contains(dir.toString()) && e.getMessage().contains("no model.safetensors"), e.getMessage());
    }

    @Test
    void shardsWithoutAnIndex() throws IOException {
        Path dir = tmp.resolve("m");
        TinyModelWriter.write(dir, TinyModelSpec.demo(), 1, 2);
        Files.delete(dir.resolve(WeightStore.INDEX_FILE));
        ModelFormatException e = openFails(dir);
        assertTrue(e.getMessage().contains("model-00001-of-00002.safetensors") && e.getMessage().contains("no index"),
                e.getMessage());
    }

    @Test
    void missingTensorNamesDirectoryAndTensor() throws IOException {
        Path dir = tmp.resolve("m");
        TinyModelWriter.write(dir, TinyModelSpec.demo(), 1);
        try (WeightStore s = WeightStore.open(dir)) {
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> s.get("model.layers.9.mlp.up_proj.weight"));
            assertTrue(e.getMessage().contains(dir.toString()) && e.getMessage().contains("model.layers.9.mlp.up_proj.weight"),
                    e.getMessage());
            assertEquals(List.of(dir.resolve(WeightStore.SINGLE_FILE)), s.files());
        }
    }

    @Test
    void brokenIndexJson() throws IOException {
        Path dir = tmp.resolve("m");
        TinyModelWriter.write(dir, TinyModelSpec.demo(), 1, 2);
        Files.writeString(dir.resolve(WeightStore.INDEX_FILE), "{\"metadata\": {}}");
        ModelFormatException e = openFails(dir);
        assertTrue(e.getMessage().contains(WeightStore.INDEX_FILE) && e.getMessage().contains("weight_map"), e.getMessage());
    }
}
