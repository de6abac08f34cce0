package io.prefill.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes float tensors as a .safetensors file in the layout of the reference implementation:
 * header JSON padded with spaces to a multiple of 8 bytes (so the data section is aligned),
 * tensors stored back to back in the order added.
 */
public final class SafetensorsWriter {
    private record Pending(String name, DType dtype, long[] shape, float[] values) {
        long bytes() { return (long) values.length * dtype.bytes(); }
    }

    private final List<Pending> tensors = new ArrayList<>();
    private final Set<String> names = new HashSet<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    public SafetensorsWriter() {
        metadata.put("format", "pt");
    }

    /** Adds a tensor; values are row-major and are rounded to dtype when written. */
    public SafetensorsWriter add(String name, DType dtype, long[] shape, float[] values) {
        long numel = 1;
        for (long s : shape) {
            if (s < 0) throw new IllegalArgumentException(name + ": negative dimension in " + Arrays.toString(shape));
            numel *= s;
        }
        if (numel != values.length) {
            throw new IllegalArgumentException(name + ": shape " + Arrays.toString(shape) + " holds " + numel
                    + " values, got " + values.length);
        }
        if (name.equals("__metadata__") || !names.add(name)) {
            throw new IllegalArgumentException("duplicate or reserved tensor name " + name);
        }
        tensors.add(new Pending(name, dtype, shape.clone(), values));
        return this;
    }

    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /** Bytes of tensor data added so far. */
    public long dataBytes() {
        return tensors.stream().mapToLong(Pending::bytes).sum();
    }

    public void write(Path file) {
        byte[] header = header();
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length);
            out.write(len.array());
            out.write(header);
            for (Pending t : tensors) writeValues(out, t);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    private byte[] header() {
        ObjectMapper mapper = ModelConfigJson.MAPPER;
        ObjectNode root = mapper.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = root.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Pending t : tensors) {
            ObjectNode e = root.putObject(t.name);
            e.put("dtype", t.dtype.name());
            Arrays.stream(t.shape).forEach(e.putArray("shape")::add);
            e.putArray("data_offsets").add(offset).add(offset + t.bytes());
            offset += t.bytes();
        }
        String json;
        try {
            json = mapper.writer().withoutFeatures(SerializationFeature.INDENT_OUTPUT)
                    .writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        byte[] raw = json.getBytes(StandardCharsets.UTF_8);
        int padded = (raw.length + 7) / 8 * 8;
        byte[] out = Arrays.copyOf(raw, padded);
        Arrays.fill(out, raw.length, padded, (byte) ' ');
        return out;
    }

    private static void writeValues(OutputStream out, Pending t) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : t.values) {
            if (buf.remaining() < 4) {
                out.write(buf.array(), 0, buf.position());
                buf.clear();
            }
            switch (t.dtype) {
                case BF16 -> buf.putShort(FloatCodecs.floatToBf16(v));
                case F16 -> buf.putShort(FloatCodecs.floatToF16(v));
                case F32 -> buf.putFloat(v);
                case F8_E4M3 -> buf.put(Fp8E4M3.fromFloat(v));
            }
        }
        out.write(buf.array(), 0, buf.position());
    }
}
