package io.prefill.model;

import io.prefill.io.BoundedFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every metadata file of a model directory is read with a size limit: one that is too large or
 * never ends fails at load, naming the file and the limit, instead of filling the heap.
 */
class MetadataLimitsTest {
    @TempDir Path tmp;

    /** Appends whitespace (valid JSON padding) until the file is one byte over the limit. */
    static void padPast(Path file, long limit) throws IOException {
        long missing = limit + 1 - Files.size(file);
        byte[] spaces = new byte[1 << 20];
        Arrays.fill(spaces, (byte) ' ');
        try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.APPEND)) {
            while (missing > 0) {
                int n = (int) Math.min(spaces.length, missing);
                out.write(spaces, 0, n);
                missing -= n;
            }
        }
    }

    private static void failsNaming(Path dir, Path file, long limit) {
        String m = assertThrows(ModelFormatException.class, () -> LoadedModel.open(dir).close()).getMessage();
        assertTrue(m.contains(file.toString()) && m.contains("limit of " + BoundedFiles.size(limit)), m);
    }

    @Test
    void aFileThatNeverEndsStopsOneBytePastTheLimit() throws IOException {
        Path zero = Path.of("/dev/zero");
        if (!Files.isReadable(zero)) return;
        long limit = 1 << 20;
        String m = assertThrows(BoundedFiles.TooLargeException.class,
                () -> BoundedFiles.readString(zero, limit, "config.json")).getMessage();
        assertTrue(m.startsWith(zero + ": config.json") && m.contains("limit of 1 MiB")
                && m.contains("read " + (limit + 1) + " bytes"), m);
    }

    @Test
    void configJsonLinkedToANeverEndingDeviceIsRefusedBeforeItIsRead() throws IOException {
        Path zero = Path.of("/dev/zero");
        if (!Files.isReadable(zero)) return;
        Path dir = tmp.resolve("m");
        TinyModelWriter.write(dir, TinyModelSpec.demo(), 3);
        Path config = dir.resolve("config.json");
        Files.delete(config);
        Files.createSymbolicLink(config, zero);
        String m = assertThrows(ModelFormatException.class, () -> LoadedModel.open(dir).close()).getMessage();
        assertTrue(m.contains(config.toString()) && m.contains("outside the model directory"), m);
    }

    @Test
    void tokenizerJsonOverTheLimit() throws IOException {
        Path dir = tmp.resolve("m");
        TinyModelWriter.write(dir, TinyModelSpec.demo(), 3);
        Path tokenizer = dir.resolve("tokenizer.json");
        padPast(tokenizer, BoundedFiles.TOKENIZER_JSON_BYTES);
        failsNaming(dir, tokenizer, BoundedFiles.TOKENIZER_JSON_BYTES);
    }

    @Test
    void tokenizerConfigOverTheLimit() throws IOException {
        Path dir = tmp.resolve("m");
        TinyModelWriter.write(dir, TinyModelSpec.demo(), 3);
        // without a BOS template in tokenizer.json, tokenizer_config.json decides about BOS and is read
        Path tokenizer = dir.resolve("tokenizer.json");
        Files.writeString(tokenizer, Files.readString(tokenizer).replaceFirst("\"post_processor\":\\{.*?\"decoder\"",
                "\"post_processor\":null,\"decoder\""));
        Path config = Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": \"<|begin_of_text|>\"}");
        padPast(config, BoundedFiles.JSON_METADATA_BYTES);
        failsNaming(dir, config, BoundedFiles.JSON_METADATA_BYTES);
    }

    @Test
    void shardIndexOverTheLimit() throws IOException {
        Path dir = tmp.resolve("sharded");
        TinyModelWriter.write(dir, TinyModelSpec.demo(), 3, 2);
        Path index = dir.resolve(WeightStore.INDEX_FILE);
        padPast(index, BoundedFiles.JSON_METADATA_BYTES);
        failsNaming(dir, index, BoundedFiles.JSON_METADATA_BYTES);
    }

    @Test
    void configJsonOverTheLimit() throws IOException {
        Path dir = tmp.resolve("m");
        TinyModelWriter.write(dir, TinyModelSpec.demo(), 3);
        Path config = dir.resolve("config.json");
        padPast(config, BoundedFiles.JSON_METADATA_BYTES);
        failsNaming(dir, config, BoundedFiles.JSON_METADATA_BYTES);
    }

    @Test
    void safetensorsHeaderOverTheLimit() throws IOException {
        Path dir = tmp.resolve("m");
        TinyModelWriter.write(dir, TinyModelSpec.demo(), 3);
        Path weights = dir.resolve("model.safetensors");
        long header = BoundedFiles.SAFETENSORS_HEADER_BYTES + 1;
        Files.delete(weights);
        // a sparse file: a header length one byte over the limit, and the file long enough to hold it
        try (RandomAccessFile f = new RandomAccessFile(weights.toFile(), "rw")) {
            f.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header).array());
            f.setLength(8 + header + 1024);
        }
        failsNaming(dir, weights, BoundedFiles.SAFETENSORS_HEADER_BYTES);
    }
}
