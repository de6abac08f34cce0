package io.prefill.model;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.prefill.io.BoundedFiles;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One .safetensors file: an 8-byte little-endian header length, a JSON header
 * (name -> dtype, shape, data_offsets relative to the data section; optional __metadata__),
 * then the tensor bytes. The header is validated completely on open and each float tensor is
 * memory-mapped; tensor data never goes onto the heap. The file descriptor is closed once
 * mapped (mappings stay valid).
 */
public final class SafetensorsFile implements Closeable {
    /** Mapping chunk size (1 GiB): under the 2 GB limit of one MappedByteBuffer. */
    static final int DEFAULT_CHUNK_SHIFT = 30;

    private static final ObjectMapper HEADER_MAPPER = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    /** One header entry; begin and end are absolute file offsets. */
    record Entry(String name, String dtype, long[] shape, long begin, long end) {
        long byteLength() { return end - begin; }
    }

    private final Path path;
    private final Map<String, Entry> entries;
    private final Map<String, TensorView> views;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Map<String, Entry> entries, Map<String, TensorView> views,
                            Map<String, String> metadata) {
        this.path = path;
        this.entries = entries;
        this.views = views;
        this.metadata = metadata;
    }

    public static SafetensorsFile open(Path file) {
        return open(file, DEFAULT_CHUNK_SHIFT);
    }

    /** As {@link #open(Path)} with mapping chunks of 2^chunkShift bytes (small values test chunk seams). */
    static SafetensorsFile open(Path file, int chunkShift) {
        if (chunkShift < 2 || chunkShift > 30) throw new IllegalArgumentException("chunkShift " + chunkShift);
        if (Files.isDirectory(file)) throw new ModelFormatException(file + ": is a directory, not a safetensors file");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long fileSize = ch.size();
            long dataStart = 8 + readHeaderLength(file, ch, fileSize);
            JsonNode header = parseHeader(file, ch, dataStart - 8);
            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, Entry> entries = new LinkedHashMap<>();
            Iterator<Map.Entry<String, JsonNode>> fields = header.fields();
            while (fields.hasNext()) {
                Map.Entry<String, JsonNode> f = fields.next();
                if (f.getKey().equals("__metadata__")) {
                    readMetadata(file, f.getValue(), metadata);
                } else {
                    entries.put(f.getKey(), readEntry(file, f.getKey(), f.getValue(), dataStart, fileSize));
                }
            }
            checkNoOverlap(file, entries.values());
            Map<String, TensorView> views = new LinkedHashMap<>();
            for (Entry e : entries.values()) {
                DType dtype = SafetensorsDtypes.floatType(e.dtype());
                if (dtype != null) {
                    views.put(e.name(), new MappedTensorView(file, e.name(), dtype, e.shape(), map(ch, e, chunkShift), chunkShift));
                }
            }
            return new SafetensorsFile(file, Collections.unmodifiableMap(entries), views,
                    Collections.unmodifiableMap(metadata));
        } catch (NoSuchFileException e) {
            throw new ModelFormatException(file + ": file not found");
        } catch (AccessDeniedException e) {
            throw new ModelFormatException(file + ": cannot read (permission denied)", e);
        } catch (IOException e) {
            throw new ModelFormatException(file + ": cannot read (" + e + ")", e);
        }
    }

    private static long readHeaderLength(Path file, FileChannel ch, long fileSize) throws IOException {
        if (fileSize < 8) {
            throw new ModelFormatException(file + ": " + fileSize + " bytes is too short for a safetensors header length");
        }
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, len, 0);
        long headerLength = len.getLong(0);
        if (headerLength < 0 || headerLength > fileSize - 8) {
            throw new ModelFormatException(file + ": header length " + Long.toUnsignedString(headerLength)
                    + " runs beyond the end of the file (" + fileSize + " bytes; truncated or not safetensors?)");
        }
        if (headerLength > BoundedFiles.SAFETENSORS_HEADER_BYTES) {
            throw new ModelFormatException(BoundedFiles.tooLarge(file + ": safetensors header", headerLength,
                    BoundedFiles.SAFETENSORS_HEADER_BYTES));
        }
        return headerLength;
    }

    private static JsonNode parseHeader(Path file, FileChannel ch, long headerLength) throws IOException {
        ByteBuffer bytes = ByteBuffer.allocate((int) headerLength);
        readFully(ch, bytes, 8);
        JsonNode header;
        try {
            header = HEADER_MAPPER.readTree(new String(bytes.array(), StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new ModelFormatException(file + ": header is not valid JSON (" + e.getOriginalMessage() + ")", e);
        }
        if (header == null || !header.isObject()) {
            throw new ModelFormatException(file + ": header must be a JSON object");
        }
        return header;
    }

    private static void readMetadata(Path file, JsonNode node, Map<String, String> out) {
        if (!node.isObject()) throw new ModelFormatException(file + ": __metadata__ must be an object");
        node.fields().forEachRemaining(m -> out.put(m.getKey(), m.getValue().isTextual() ? m.getValue().asText() : m.getValue().toString()));
    }

    private static Entry readEntry(Path file, String name, JsonNode node, long dataStart, long fileSize) {
        String where = file + ": tensor " + name;
        if (!node.isObject()) throw new ModelFormatException(where + ": header entry must be an object");
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) throw new ModelFormatException(where + ": missing dtype");
        String dtype = dtypeNode.asText();
        int elementBytes = SafetensorsDtypes.elementBytes(dtype);
        if (elementBytes < 0) throw new ModelFormatException(where + ": unknown dtype \"" + dtype + "\"");

        long[] shape = longArray(where, node.get("shape"), "shape", -1);
        long[] offsets = longArray(where, node.get("data_offsets"), "data_offsets", 2);
        long numel = 1;
        try {
            for (long s : shape) numel = Math.multiplyExact(numel, s);
            Math.multiplyExact(numel, (long) elementBytes);
        } catch (ArithmeticException e) {
            throw new ModelFormatException(where + ": shape " + Arrays.toString(shape) + " is too large");
        }
        long begin = offsets[0];
        long end = offsets[1];
        if (begin > end) {
            throw new ModelFormatException(where + ": data_offsets [" + begin + ", " + end + "] end before they begin");
        }
        long dataBytes = fileSize - dataStart;
        if (end > dataBytes) {
            throw new ModelFormatException(where + ": data_offsets [" + begin + ", " + end + "] lie beyond the end of the file"
                    + " (data section holds " + dataBytes + " bytes; truncated file or lying header)");
        }
        long needed = numel * elementBytes;
        if (end - begin != needed) {
            throw new ModelFormatException(where + ": data_offsets [" + begin + ", " + end + "] span " + (end - begin)
                    + " bytes but shape " + Arrays.toString(shape) + " of " + dtype + " needs " + needed + " bytes");
        }
        return new Entry(name, dtype, shape, dataStart + begin, dataStart + end);
    }

    private static long[] longArray(String where, JsonNode node, String key, int requiredLength) {
        if (node == null || !node.isArray() || (requiredLength >= 0 && node.size() != requiredLength)) {
            throw new ModelFormatException(where + ": " + key + " must be a list"
                    + (requiredLength >= 0 ? " of " + requiredLength + " integers" : " of integers") + ", got " + node);
        }
        long[] out = new long[node.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0) {
                throw new ModelFormatException(where + ": " + key + " must hold non-negative integers, got " + node);
            }
            out[i] = v.asLong();
        }
        return out;
    }

    private static void checkNoOverlap(Path file, Iterable<Entry> all) {
        List<Entry> sorted = new ArrayList<>();
        all.forEach(e -> { if (e.byteLength() > 0) sorted.add(e); });
        sorted.sort(Comparator.comparingLong(Entry::begin));
        for (int i = 1; i < sorted.size(); i++) {
            Entry prev = sorted.get(i - 1);
            Entry cur = sorted.get(i);
            if (cur.begin() < prev.end()) {
                throw new ModelFormatException(file + ": tensors " + prev.name() + " and " + cur.name()
                        + " overlap (bytes " + cur.begin() + " to " + Math.min(prev.end(), cur.end()) + ")");
            }
        }
    }

    private static ByteBuffer[] map(FileChannel ch, Entry e, int chunkShift) throws IOException {
        long chunk = 1L << chunkShift;
        long length = e.byteLength();
        int count = (int) ((length + chunk - 1) / chunk);
        ByteBuffer[] chunks = new ByteBuffer[count];
        for (int i = 0; i < count; i++) {
            long off = i * chunk;
            chunks[i] = ch.map(FileChannel.MapMode.READ_ONLY, e.begin() + off, Math.min(chunk, length - off))
                    .order(ByteOrder.LITTLE_ENDIAN);
        }
        return chunks;
    }

    private static void readFully(FileChannel ch, ByteBuffer dst, long position) throws IOException {
        while (dst.hasRemaining()) {
            int n = ch.read(dst, position + dst.position());
            if (n < 0) throw new IOException("unexpected end of file");
        }
    }

    public Path path() { return path; }

    /** Tensor names in header order. */
    public Set<String> tensorNames() { return entries.keySet(); }

    public boolean contains(String name) { return entries.containsKey(name); }

    /** The header's __metadata__ (empty when absent). */
    public Map<String, String> metadata() { return metadata; }

    /** The dtype name as written in the header ("BF16", "I64", ...). */
    public String dtypeName(String name) { return entry(name).dtype(); }

    public long[] shape(String name) { return entry(name).shape().clone(); }

    /** A float view of the tensor; errors name this file and the tensor. */
    public TensorView tensor(String name) {
        Entry e = entry(name);
        TensorView v = views.get(name);
        if (v == null) {
            throw new ModelFormatException(path + ": tensor " + name + " has dtype " + e.dtype()
                    + "; a float tensor (BF16, F16 or F32, or F8_E4M3 with scales) is needed");
        }
        return v;
    }

    private Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) throw new ModelFormatException(path + ": no tensor named " + name);
        return e;
    }

    /** Drops nothing but references: mappings are released when their views are garbage. */
    @Override
    public void close() { }

    @Override
    public String toString() { return "SafetensorsFile(" + path + ", " + entries.size() + " tensors)"; }
}
