package io.prefill.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Symbolic links in a model directory: followed within the directory and in the Hugging Face cache
 * layout (snapshots/REV/FILE -> ../../blobs/HASH), refused when they lead anywhere else.
 */
class ModelFileLinksTest {
    @TempDir Path tmp;

    private static void moveAndLink(Path file, Path target) throws IOException {
        Files.createDirectories(target.getParent());
        Files.move(file, target, StandardCopyOption.REPLACE_EXISTING);
        Files.createSymbolicLink(file, file.getParent().relativize(target));
    }

    @Test
    void weightsLinkedToAFileOutsideTheModelDirectoryAreRefused() throws IOException {
        Path dir = tmp.resolve("model");
        TinyModelWriter.write(dir, TinyModelSpec.demo(), 2);
        Path weights = dir.resolve(WeightStore.SINGLE_FILE);
        Path outside = tmp.resolve("elsewhere").resolve("weights.bin");
        moveAndLink(weights, outside);
        String m = assertThrows(ModelFormatException.class, () -> LoadedModel.open(dir)).getMessage();
        assertTrue(m.contains(weights.toString()) && m.contains("outside the model directory")
                && m.contains(outside.toRealPath().toString()), m);
    }

    @Test
    void aShardLinkedOutsideIsRefused() throws IOException {
        Path dir = tmp.resolve("sharded");
        TinyModelWriter.write(dir, TinyModelSpec.demo(), 2, 2);
        Path shard = dir.resolve("model-00002-of-00002.safetensors");
        moveAndLink(shard, tmp.resolve("other-model").resolve("model-00002-of-00002.safetensors"));
        String m = assertThrows(ModelFormatException.class, () -> LoadedModel.open(dir)).getMessage();
        assertTrue(m.contains("model-00002-of-00002.safetensors") && m.contains("outside the model directory"), m);
    }

    @Test
    void linksWithinTheModelDirectoryAreFollowed() throws IOException {
        Path dir = tmp.resolve("model");
        TinyModelWriter.write(dir, TinyModelSpec.demo(), 2, 2);
        moveAndLink(dir.resolve("model-00001-of-00002.safetensors"), dir.resolve("parts").resolve("first.safetensors"));
        LoadedModel.open(dir).close();
    }

    @Test
    void theHuggingFaceCacheLayoutIsFollowed() throws IOException {
        // hub/models--org--tiny/snapshots/<rev>/<file> -> ../../blobs/<hash>, for every file
        Path repo = tmp.resolve("hub").resolve("models--org--tiny");
        Path snapshot = repo.resolve("snapshots").resolve("0123abcd");
        TinyModelWriter.write(snapshot, TinyModelSpec.demo(), 2, 2);
        try (var files = Files.list(snapshot)) {
            int i = 0;
            for (Path f : files.toList()) moveAndLink(f, repo.resolve("blobs").resolve("blob" + i++));
        }
        assertTrue(Files.isSymbolicLink(snapshot.resolve("config.json")));
        LoadedModel.open(snapshot).close();
    }

    @Test
    void aSnapshotLinkingIntoAnotherRepositorysBlobsIsRefused() throws IOException {
        Path hub = tmp.resolve("hub");
        Path snapshot = hub.resolve("models--org--tiny").resolve("snapshots").resolve("rev");
        TinyModelWriter.write(snapshot, TinyModelSpec.demo(), 2);
        moveAndLink(snapshot.resolve(WeightStore.SINGLE_FILE), hub.resolve("models--org--other").resolve("blobs").resolve("b"));
        String m = assertThrows(ModelFormatException.class, () -> LoadedModel.open(snapshot)).getMessage();
        assertTrue(m.contains("outside the model directory"), m);
    }
}
