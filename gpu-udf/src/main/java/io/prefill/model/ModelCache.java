package io.prefill.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.prefill.io.BoundedFiles;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileChecksum;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * Makes a model directory on any Hadoop file system (hdfs:, s3a:, file:, ...) available as a
 * local directory, copying it at most once per host. Executors memory-map the weights, which
 * needs a local file.
 *
 * <p>Layout under the cache root: {@code <name>-<hash of uri>/} holds the copy and a manifest
 * of each file's size and (where the file system offers one) checksum; {@code <...>.lock} is
 * the lock file. A copy is assembled in a temporary sibling and renamed into place, so readers
 * never see a half-copied directory. Tasks in one JVM serialise on an in-memory lock (a JVM
 * cannot hold two {@link FileLock}s on one file), JVMs on one host on the file lock.
 */
public final class ModelCache {
    /** Written last into a finished copy; its presence and contents vouch for the copy. */
    static final String MANIFEST = ".prefill-cache.json";

    private static final Map<String, Object> JVM_LOCKS = new ConcurrentHashMap<>();

    private ModelCache() { }

    /** What {@link #localizeWithReport} did. */
    public record Localized(Path directory, boolean inPlace, List<String> copiedFiles, List<String> reusedFiles) { }

    /** A file of the source directory as listed now. */
    private record SourceFile(String name, org.apache.hadoop.fs.Path path, long size, String checksum) { }

    /** A local path or file: URI is used in place; anything else is copied into the cache once. */
    public static Path localize(String uri, Path cacheRoot, Configuration conf) {
        return localize(uri, cacheRoot, conf, false);
    }

    /** As {@link #localize(String, Path, Configuration)}; forceCopy copies local directories too. */
    public static Path localize(String uri, Path cacheRoot, Configuration conf, boolean forceCopy) {
        return localizeWithReport(uri, cacheRoot, conf, forceCopy).directory();
    }

    /**
     * Localizes and reports which files were copied and which reused. A path without a scheme
     * resolves against fs.defaultFS, as everywhere in Hadoop. Only top-level files are copied
     * (names starting with '.' or '_' are skipped): the loader reads nothing else, and Hugging
     * Face repositories keep alternative formats (original/*.pth) in subfolders.
     */
    public static Localized localizeWithReport(String uri, Path cacheRoot, Configuration conf, boolean forceCopy) {
        try {
            org.apache.hadoop.fs.Path source = hadoopPath(uri);
            FileSystem fs = source.getFileSystem(conf);
            source = fs.makeQualified(source);
            if (!forceCopy && "file".equals(fs.getScheme())) {
                Path local = Path.of(source.toUri());
                if (!Files.isDirectory(local)) throw new ModelFormatException(uri + ": model directory not found");
                return new Localized(local, true, List.of(), List.of());
            }
            List<SourceFile> files = listSource(fs, source, uri);
            Files.createDirectories(cacheRoot);
            String key = cacheKey(source);
            Path lockFile = cacheRoot.resolve(key + ".lock");
            Object jvmLock = JVM_LOCKS.computeIfAbsent(lockFile.toAbsolutePath().normalize().toString(), k -> new Object());
            synchronized (jvmLock) {
                try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                     FileLock ignored = ch.lock()) {
                    return localizeLocked(fs, source, files, cacheRoot, key);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot localize model " + uri + " into " + cacheRoot + ": " + e.getMessage(), e);
        }
    }

    /**
     * Hadoop reads path strings unescaped ("s3a://b/my model"); a well-formed URI with a scheme
     * (e.g. from {@code Path.toUri()}, "file:///my%20model") is decoded as a URI instead.
     */
    static org.apache.hadoop.fs.Path hadoopPath(String uri) {
        try {
            URI parsed = new URI(uri);
            if (parsed.getScheme() != null && parsed.getPath() != null && !parsed.getPath().isEmpty()) {
                // this constructor normalises (drops a trailing '/'), so both spellings share one cache entry
                return new org.apache.hadoop.fs.Path(parsed.getScheme(), parsed.getAuthority(), parsed.getPath());
            }
        } catch (URISyntaxException e) {
            // not a URI (spaces, a literal '%'): a plain Hadoop path string
        }
        return new org.apache.hadoop.fs.Path(uri);
    }

    private static List<SourceFile> listSource(FileSystem fs, org.apache.hadoop.fs.Path dir, String uri) throws IOException {
        FileStatus status;
        try {
            status = fs.getFileStatus(dir);
        } catch (FileNotFoundException e) {
            throw new ModelFormatException(uri + ": model directory not found");
        }
        if (!status.isDirectory()) throw new ModelFormatException(uri + ": not a directory");
        List<SourceFile> files = new ArrayList<>();
        for (FileStatus f : fs.listStatus(dir)) {
            String name = f.getPath().getName();
            if (!f.isFile() || name.startsWith(".") || name.startsWith("_")) continue;
            files.add(new SourceFile(name, f.getPath(), f.getLen(), checksum(fs, f.getPath())));
        }
        if (files.isEmpty()) throw new ModelFormatException(uri + ": model directory has no files");
        files.sort(Comparator.comparing(SourceFile::name));
        return files;
    }

    /** "ALGORITHM:hex", or null where the file system has no checksum (the local one, most object stores). */
    private static String checksum(FileSystem fs, org.apache.hadoop.fs.Path file) throws IOException {
        FileChecksum c;
        try {
            c = fs.getFileChecksum(file);
        } catch (UnsupportedOperationException e) {
            return null;
        }
        if (c == null) return null;
        byte[] bytes = c.getBytes();
        return c.getAlgorithmName() + ":" + (bytes == null ? c.toString() : HexFormat.of().formatHex(bytes));
    }

    /** Readable and collision-free: last path component plus a hash of the whole URI. */
    static String cacheKey(org.apache.hadoop.fs.Path source) {
        String name = source.getName().replaceAll("[^A-Za-z0-9._-]", "_");
        if (name.length() > 40) name = name.substring(0, 40);
        if (name.isEmpty() || name.startsWith(".")) name = "model" + name;
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(source.toString().getBytes(StandardCharsets.UTF_8));
            return name + "-" + HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Localized localizeLocked(FileSystem fs, org.apache.hadoop.fs.Path source, List<SourceFile> files,
                                            Path cacheRoot, String key) throws IOException {
        deleteLeftovers(cacheRoot, key);
        Path target = cacheRoot.resolve(key);
        Map<String, JsonNode> recorded = readManifest(target);
        List<String> intact = new ArrayList<>();
        for (SourceFile f : files) {
            if (isIntact(target, f, recorded.get(f.name()))) intact.add(f.name());
        }
        List<String> names = files.stream().map(SourceFile::name).toList();
        if (intact.size() == files.size() && recorded.size() == files.size()) {
            return new Localized(target, false, List.of(), names);
        }

        Path partial = Files.createTempDirectory(cacheRoot, key + ".partial-");
        try {
            List<String> copied = new ArrayList<>();
            for (SourceFile f : files) {
                Path dst = partial.resolve(f.name());
                if (intact.contains(f.name())) {
                    linkOrCopy(target.resolve(f.name()), dst);
                } else {
                    copyFromSource(fs, f, dst);
                    copied.add(f.name());
                }
            }
            writeManifest(partial, source, files);
            Path old = null;
            if (Files.exists(target)) {
                old = cacheRoot.resolve(key + ".old-" + System.nanoTime());
                Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
            }
            Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
            if (old != null) deleteRecursively(old);
            return new Localized(target, false, copied, intact);
        } catch (IOException | RuntimeException e) {
            deleteRecursively(partial);
            throw e;
        }
    }

    /** A cached file is reused only if its size, and checksum where known, still match the source. */
    private static boolean isIntact(Path target, SourceFile f, JsonNode recorded) throws IOException {
        if (recorded == null) return false;
        Path local = target.resolve(f.name());
        if (!Files.isRegularFile(local) || Files.size(local) != f.size()) return false;
        if (recorded.path("size").asLong(-1) != f.size()) return false;
        return f.checksum() == null || f.checksum().equals(recorded.path("checksum").asText(null));
    }

    private static void copyFromSource(FileSystem fs, SourceFile f, Path dst) throws IOException {
        try (FSDataInputStream in = fs.open(f.path())) {
            Files.copy(in, dst);
        }
        long copied = Files.size(dst);
        if (copied != f.size()) {
            throw new IOException(f.path() + ": copied " + copied + " bytes but the source listed " + f.size()
                    + " (changed during the copy?)");
        }
    }

    /** A hard link shares the intact file without copying it; fall back to a copy across devices. */
    private static void linkOrCopy(Path existing, Path dst) throws IOException {
        try {
            Files.createLink(dst, existing);
        } catch (IOException | UnsupportedOperationException e) {
            Files.copy(existing, dst);
        }
    }

    private static Map<String, JsonNode> readManifest(Path target) {
        Map<String, JsonNode> byName = new LinkedHashMap<>();
        Path manifest = target.resolve(MANIFEST);
        if (!Files.isRegularFile(manifest)) return byName;
        try {
            JsonNode root = ModelConfigJson.MAPPER.readTree(BoundedFiles.readString(manifest,
                    BoundedFiles.JSON_METADATA_BYTES, "model cache manifest"));
            for (JsonNode f : root.path("files")) byName.put(f.path("name").asText(), f);
        } catch (IOException e) {
            byName.clear(); // an unreadable manifest vouches for nothing: recopy
        }
        return byName;
    }

    private static void writeManifest(Path dir, org.apache.hadoop.fs.Path source, List<SourceFile> files) throws IOException {
        ObjectNode root = ModelConfigJson.MAPPER.createObjectNode();
        root.put("source", source.toString());
        ArrayNode list = root.putArray("files");
        for (SourceFile f : files) {
            ObjectNode o = list.addObject();
            o.put("name", f.name());
            o.put("size", f.size());
            if (f.checksum() != null) o.put("checksum", f.checksum());
        }
        Files.writeString(dir.resolve(MANIFEST), ModelConfigJson.MAPPER.writeValueAsString(root));
    }

    /** Under the lock nobody else works on this key, so partial or old copies are from crashed runs. */
    private static void deleteLeftovers(Path cacheRoot, String key) throws IOException {
        try (DirectoryStream<Path> stale = Files.newDirectoryStream(cacheRoot, key + ".{partial,old}-*")) {
            for (Path p : stale) deleteRecursively(p);
        }
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
