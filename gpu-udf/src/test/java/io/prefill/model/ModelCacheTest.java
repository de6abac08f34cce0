package io.prefill.model;

import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelCacheTest {
    @TempDir Path tmp;
    Path source;
    Path cache;
    Configuration conf;
    List<String> sourceFiles;

    @BeforeEach
    void setUp() throws IOException {
        source = tmp.resolve("models/tiny llama");
        cache = tmp.resolve("cache");
        TinyModelWriter.write(source, TinyModelSpec.demo(), 9, 2);
        Files.writeString(source.resolve(".gitattributes"), "*.safetensors filter=lfs");
        Files.createDirectories(source.resolve("original")).resolve("consolidated.pth").toFile().createNewFile();
        sourceFiles = List.of("config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                "model.safetensors.index.json", "tokenizer.json");
        conf = new Configuration(false);
        conf.set("fs.file.impl", org.apache.hadoop.fs.LocalFileSystem.class.getName());
        conf.set("fs." + ChecksummingLocalFileSystem.SCHEME + ".impl", ChecksummingLocalFileSystem.class.getName());
        conf.setBoolean("fs." + ChecksummingLocalFileSystem.SCHEME + ".impl.disable.cache", true);
    }

    private static void assertSameFiles(Path expectedDir, Path actualDir, List<String> names) throws IOException {
        for (String n : names) {
            assertArrayEquals(Files.readAllBytes(expectedDir.resolve(n)), Files.readAllBytes(actualDir.resolve(n)), n);
        }
    }

    private List<String> cacheEntries() throws IOException {
        try (Stream<Path> s = Files.list(cache)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void localDirectoryIsUsedInPlace() {
        ModelCache.Localized l = ModelCache.localizeWithReport(source.toString(), cache, conf, false);
        assertTrue(l.inPlace());
        assertEquals(source, l.directory());
        assertEquals(source, ModelCache.localize(source.toUri().toString(), cache, conf));
        assertFalse(Files.exists(cache), "nothing copied");
    }

    @Test
    void forcedCopyCopiesTopLevelFilesOnceAndLoads() throws IOException {
        ModelCache.Localized first = ModelCache.localizeWithReport(source.toUri().toString(), cache, conf, true);
        assertFalse(first.inPlace());
        assertTrue(first.directory().startsWith(cache));
        assertTrue(first.directory().getFileName().toString().startsWith("tiny_llama-"), first.directory().toString());
        assertEquals(sourceFiles, first.copiedFiles());
        assertSameFiles(source, first.directory(), sourceFiles);
        assertFalse(Files.exists(first.directory().resolve("original")), "sub-folders are not copied");
        assertFalse(Files.exists(first.directory().resolve(".gitattributes")), "hidden files are not copied");

        ModelCache.Localized again = ModelCache.localizeWithReport(source.toUri().toString(), cache, conf, true);
        assertEquals(first.directory(), again.directory());
        assertEquals(List.of(), again.copiedFiles());
        assertEquals(sourceFiles, again.reusedFiles());
        try (LoadedModel m = LoadedModel.open(again.directory())) {
            assertEquals(512, m.config().vocabSize());
        }
    }

    @Test
    void concurrentLocalizeMakesOneCopy() throws Exception {
        int threads = 6;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<ModelCache.Localized>> results = new ArrayList<>();
        try {
            for (int i = 0; i < threads; i++) {
                results.add(pool.submit(() -> {
                    start.await();
                    return ModelCache.localizeWithReport(source.toString(), cache, conf, true);
                }));
            }
            start.countDown();
            Set<Path> dirs = new HashSet<>();
            int copied = 0;
            for (Future<ModelCache.Localized> f : results) {
                dirs.add(f.get().directory());
                copied += f.get().copiedFiles().size();
            }
            assertEquals(1, dirs.size(), "every thread gets the same copy");
            assertEquals(sourceFiles.size(), copied, "each file copied exactly once in total");
            Path dir = dirs.iterator().next();
            assertEquals(List.of(dir.getFileName().toString(), dir.getFileName() + ".lock"), cacheEntries(),
                    "no partial copies left behind");
            assertSameFiles(source, dir, sourceFiles);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void truncatedCachedFileIsDetectedAndRecopied() throws IOException {
        Path dir = ModelCache.localize(source.toString(), cache, conf, true);
        Path shard = dir.resolve("model-00002-of-00002.safetensors");
        try (FileChannel ch = FileChannel.open(shard, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 100);
        }
        ModelCache.Localized repaired = ModelCache.localizeWithReport(source.toString(), cache, conf, true);
        assertEquals(dir, repaired.directory());
        assertEquals(List.of("model-00002-of-00002.safetensors"), repaired.copiedFiles(), "only the damaged file");
        assertSameFiles(source, dir, sourceFiles);
        assertEquals(List.of(dir.getFileName().toString(), dir.getFileName() + ".lock"), cacheEntries());
    }

    @Test
    void changedSourceIsRecopied() throws IOException {
        Path dir = ModelCache.localize(source.toString(), cache, conf, true);
        Files.writeString(source.resolve("config.json"), Files.readString(source.resolve("config.json")) + "\n");
        ModelCache.Localized l = ModelCache.localizeWithReport(source.toString(), cache, conf, true);
        assertEquals(List.of("config.json"), l.copiedFiles());
        assertSameFiles(source, dir, sourceFiles);
    }

    @Test
    void remoteFileSystemIsCopiedAndChecksumsCatchSameSizeChanges() throws IOException {
        String uri = ChecksummingLocalFileSystem.SCHEME + "://" + source.toAbsolutePath();
        ModelCache.Localized first = ModelCache.localizeWithReport(uri, cache, conf, false);
        assertFalse(first.inPlace(), "a non-local scheme is always copied");
        assertEquals(sourceFiles, first.copiedFiles());
        String manifest = Files.readString(first.directory().resolve(ModelCache.MANIFEST));
        assertTrue(manifest.contains("\"checksum\" : \"MD5:"), manifest);

        // same size, different bytes: only the checksum can tell
        Path tokenizer = source.resolve("tokenizer.json");
        String text = Files.readString(tokenizer);
        String changed = text.replace("\"version\":\"1.0\"", "\"version\":\"1.1\"");
        assertNotEquals(text, changed);
        Files.writeString(tokenizer, changed);
        assertEquals(text.length(), Files.readString(tokenizer).length());
        ModelCache.Localized second = ModelCache.localizeWithReport(uri, cache, conf, false);
        assertEquals(List.of("tokenizer.json"), second.copiedFiles());
        assertSameFiles(source, second.directory(), sourceFiles);
    }

    @Test
    void differentSourcesGetDifferentDirectories() throws IOException {
        Path other = tmp.resolve("elsewhere/tiny llama");
        TinyModelWriter.write(other, TinyModelSpec.demo(), 10);
        Path a = ModelCache.localize(source.toString(), cache, conf, true);
        Path b = ModelCache.localize(other.toString(), cache, conf, true);
        assertNotEquals(a, b);
    }

    @Test
    void missingSourceIsNamed() {
        String uri = tmp.resolve("no-such-model").toString();
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelCache.localize(uri, cache, conf, true));
        assertTrue(e.getMessage().contains(uri) && e.getMessage().contains("not found"), e.getMessage());
        assertThrows(ModelFormatException.class, () -> ModelCache.localize(uri, cache, conf));
    }
}
