package io.prefill.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BoundedFilesTest {
    @TempDir Path tmp;

    @Test
    void aFileAtTheLimitIsReadWhole() throws IOException {
        Path f = Files.writeString(tmp.resolve("ten.json"), "0123456789");
        assertEquals("0123456789", BoundedFiles.readString(f, 10, "test file"));
        try (InputStream in = BoundedFiles.open(f, 10, "test file")) {
            assertArrayEquals("0123456789".getBytes(), in.readAllBytes());
        }
    }

    @Test
    void oneByteOverTheLimitFailsNamingFileAndLimit() throws IOException {
        Path f = Files.writeString(tmp.resolve("eleven.json"), "0123456789A");
        BoundedFiles.TooLargeException e = assertThrows(BoundedFiles.TooLargeException.class,
                () -> BoundedFiles.readString(f, 10, "test file"));
        assertTrue(e.getMessage().contains(f + ": test file") && e.getMessage().contains("limit of 10 bytes"), e.getMessage());
        try (InputStream in = BoundedFiles.open(f, 10, "test file")) {
            assertThrows(BoundedFiles.TooLargeException.class, () -> {
                while (in.read() >= 0) { }
            });
        }
    }

    @Test
    void aFileThatNeverEndsStopsAtTheLimit() {
        Path zero = Path.of("/dev/zero");
        if (!Files.isReadable(zero)) return;
        BoundedFiles.TooLargeException e = assertThrows(BoundedFiles.TooLargeException.class,
                () -> BoundedFiles.readString(zero, 1 << 20, "config"));
        assertTrue(e.getMessage().contains("limit of 1 MiB"), e.getMessage());
    }

    @Test
    void sizesReadAsPeopleWriteThem() {
        assertEquals("64 MiB", BoundedFiles.size(64L << 20));
        assertEquals("3 KiB", BoundedFiles.size(3072));
        assertEquals("1000 bytes", BoundedFiles.size(1000));
    }
}
