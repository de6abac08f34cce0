package io.prefill.io;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads of the small files that describe a model or a job (config.json, tokenizer.json, the shard
 * index, pattern configs, safetensors headers) with a size limit: a file that is far too large,
 * or never ends (a link to /dev/zero, a pipe), fails with the limit in the message instead of
 * filling the heap. The limits are far above any real file of each kind.
 */
public final class BoundedFiles {
    /** config.json, tokenizer_config.json, model.safetensors.index.json, pattern configs. */
    public static final long JSON_METADATA_BYTES = 64L << 20;
    /** tokenizer.json: real ones are 2 to 40 MB (a vocabulary and its merges). */
    public static final long TOKENIZER_JSON_BYTES = 256L << 20;
    /** A safetensors header; the safetensors reference implementation refuses larger ones too. */
    public static final long SAFETENSORS_HEADER_BYTES = 100L << 20;

    private BoundedFiles() { }

    /** A file over its limit; the message names the file, what it is and the limit. */
    public static final class TooLargeException extends IOException {
        private TooLargeException(String message) { super(message); }
    }

    /** The whole file as UTF-8 text, refused once more than {@code limit} bytes have been read. */
    public static String readString(Path file, long limit, String what) throws IOException {
        try (InputStream in = open(file, limit, what)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** A stream over the file that fails as soon as a read goes past {@code limit} bytes. */
    public static InputStream open(Path file, long limit, String what) throws IOException {
        return new Limited(Files.newInputStream(file), limit, file + ": " + what);
    }

    /** The message for a {@code what} of {@code size} bytes (or more) against its limit. */
    public static String tooLarge(String where, long size, long limit) {
        return where + " is larger than the limit of " + size(limit) + " (" + limit + " bytes; read " + size
                + " bytes): no real file of this kind is that large, so it is corrupt or never ends";
    }

    /** The limit as a person reads it: "64 MiB". */
    public static String size(long bytes) {
        if (bytes >= (1L << 20) && bytes % (1L << 20) == 0) return (bytes >> 20) + " MiB";
        if (bytes >= 1024 && bytes % 1024 == 0) return (bytes >> 10) + " KiB";
        return bytes + " bytes";
    }

    /** Counts what passes and fails past the limit; the underlying stream is closed with it. */
    private static final class Limited extends FilterInputStream {
        private final long limit;
        private final String where;
        private long read;

        Limited(InputStream in, long limit, String where) {
            super(in);
            this.limit = limit;
            this.where = where;
        }

        private void count(long n) throws TooLargeException {
            if (n > 0) read += n;
            if (read > limit) throw new TooLargeException(tooLarge(where, read, limit));
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) count(1);
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            // never ask for more than one byte past the limit: a never-ending file stops there
            long room = limit - read + 1;
            int n = super.read(b, off, (int) Math.min(len, Math.max(1, room)));
            count(n);
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            long s = super.skip(Math.min(n, limit - read + 1));
            count(s);
            return s;
        }

        @Override
        public boolean markSupported() { return false; }
    }
}
