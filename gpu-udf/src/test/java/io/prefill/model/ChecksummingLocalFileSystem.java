package io.prefill.model;

import org.apache.hadoop.fs.FileChecksum;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The local disk under a non-local scheme ("cklocal:") that, like HDFS, reports file
 * checksums: stands in for a remote file system in {@link ModelCacheTest}.
 */
public class ChecksummingLocalFileSystem extends RawLocalFileSystem {
    public static final String SCHEME = "cklocal";

    @Override
    public String getScheme() { return SCHEME; }

    @Override
    public URI getUri() { return URI.create(SCHEME + ":///"); }

    @Override
    public FileChecksum getFileChecksum(Path f) throws IOException {
        try {
            byte[] md5 = MessageDigest.getInstance("MD5").digest(Files.readAllBytes(pathToFile(f).toPath()));
            return new Md5(md5);
        } catch (NoSuchAlgorithmException e) {
            throw new IOException(e);
        }
    }

    private static final class Md5 extends FileChecksum {
        private byte[] bytes;

        Md5(byte[] bytes) { this.bytes = bytes; }

        @Override public String getAlgorithmName() { return "MD5"; }

        @Override public int getLength() { return bytes.length; }

        @Override public byte[] getBytes() { return bytes.clone(); }

        @Override public void write(DataOutput out) throws IOException { out.write(bytes); }

        @Override public void readFields(DataInput in) throws IOException {
            bytes = new byte[16];
            in.readFully(bytes);
        }
    }
}
