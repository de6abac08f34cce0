package io.prefill.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

class SafetensorsTest {
    @TempDir Path dir;

    private static float[] randomValues(int n, long seed) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextGaussian() * 3);
        return v;
    }

    /** Largest relative rounding error of the format for normal numbers (half an ulp). */
    private static double relativePrecision(DType d) {
        return switch (d) {
            case BF16 -> 0x1p-8;
            case F16 -> 0x1p-11;
            case F32 -> 0;
            case F8_E4M3 -> throw new IllegalArgumentException("FP8 precision depends on the row scale");
        };
    }

    /** A file with an arbitrary (possibly lying) header over the given data bytes. */
    private Path rawFile(String name, String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        Path f = dir.resolve(name);
        Files.write(f, b.array());
        return f;
    }

    private ModelFormatException openFails(Path f) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(f));
        assertTrue(e.getMessage().contains(f.toString()), "message names the file: " + e.getMessage());
        return e;
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = "F8_E4M3", mode = EnumSource.Mode.EXCLUDE) // FP8 needs row scales: Fp8WeightTest
    void valuesSurviveWithinDtypePrecision(DType dtype) {
        float[] matrix = randomValues(7 * 13, 1);
        float[] vector = randomValues(5, 2);
        Path f = dir.resolve("t.safetensors");
        new SafetensorsWriter()
                .add("w", dtype, new long[] {7, 13}, matrix)
                .add("b", dtype, new long[] {5}, vector)
                .metadata("note", "test")
                .write(f);
        SafetensorsFile st = SafetensorsFile.open(f);
        assertEquals(List.of("w", "b"), List.copyOf(st.tensorNames()));
        assertEquals(Map.of("format", "pt", "note", "test"), st.metadata());
        TensorView w = st.tensor("w");
        assertEquals(dtype, w.dtype());
        assertArrayEquals(new long[] {7, 13}, w.shape());
        assertEquals(91, w.numel());
        double tol = relativePrecision(dtype);
        float[] all = w.toFloatArray();
        float[] row = new float[13];
        for (int r = 0; r < 7; r++) {
            w.readRow(r, row);
            for (int c = 0; c < 13; c++) {
                float expected = matrix[r * 13 + c];
                assertEquals(expected, row[c], Math.abs(expected) * tol, "row " + r + " col " + c);
                assertEquals(row[c], all[r * 13 + c]);
                assertEquals(row[c], w.get(r * 13 + c));
            }
        }
        float[] b = st.tensor("b").toFloatArray();
        for (int i = 0; i < 5; i++) assertEquals(vector[i], b[i], Math.abs(vector[i]) * tol);
    }

    @Test
    void writerAlignsTheDataSectionToEightBytes() throws IOException {
        Path f = dir.resolve("t.safetensors");
        new SafetensorsWriter().add("x", DType.F32, new long[] {3}, new float[] {1, 2, 3}).write(f);
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN);
        long headerLength = b.getLong(0);
        assertEquals(0, headerLength % 8);
        assertEquals(8 + headerLength + 12, Files.size(f));
        assertEquals(2.0f, b.getFloat((int) (8 + headerLength + 4)));
        String header = new String(Files.readAllBytes(f), 8, (int) headerLength, StandardCharsets.UTF_8);
        assertTrue(header.contains("\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}"), header);
    }

    @Test
    void rowsAcrossMappingChunksReadTheSame() {
        float[] values = randomValues(9 * 7, 3);
        Path f = dir.resolve("t.safetensors");
        new SafetensorsWriter().add("w", DType.F32, new long[] {9, 7}, values).write(f);
        // 16-byte chunks: 4 floats each, so most 7-float rows straddle two or three chunks
        TensorView chunked = SafetensorsFile.open(f, 4).tensor("w");
        assertEquals(16, chunked.rawChunks().length);
        assertArrayEquals(values, chunked.toFloatArray());
        float[] row = new float[7];
        for (int r = 0; r < 9; r++) {
            chunked.readRow(r, row);
            assertArrayEquals(Arrays.copyOfRange(values, r * 7, r * 7 + 7), row, "row " + r);
        }
    }

    @Test
    void rawChunksAreTheStoredBytes() {
        Path f = dir.resolve("t.safetensors");
        new SafetensorsWriter().add("w", DType.BF16, new long[] {2, 2}, new float[] {1, -2, 0.5f, 3}).write(f);
        ByteBuffer[] raw = SafetensorsFile.open(f).tensor("w").rawChunks();
        assertEquals(1, raw.length);
        assertEquals(8, raw[0].remaining());
        assertEquals((short) 0x3F80, raw[0].getShort(0));
        assertEquals((short) 0xC000, raw[0].getShort(2));
    }

    @Test
    void zeroSizedTensorsAreAllowed() {
        Path f = dir.resolve("t.safetensors");
        new SafetensorsWriter().add("empty", DType.F32, new long[] {0, 4}, new float[0])
                .add("x", DType.F16, new long[] {1}, new float[] {7}).write(f);
        SafetensorsFile st = SafetensorsFile.open(f);
        assertEquals(0, st.tensor("empty").toFloatArray().length);
        assertEquals(7f, st.tensor("x").get(0));
    }

    @Test
    void truncatedFileNamesTheTensorBeyondTheEnd() throws IOException {
        Path f = dir.resolve("t.safetensors");
        new SafetensorsWriter().add("a", DType.F32, new long[] {4}, new float[4])
                .add("b", DType.F32, new long[] {4}, new float[4]).write(f);
        byte[] whole = Files.readAllBytes(f);
        Files.write(f, Arrays.copyOf(whole, whole.length - 3));
        ModelFormatException e = openFails(f);
        assertTrue(e.getMessage().contains("tensor b") && e.getMessage().contains("beyond the end of the file"), e.getMessage());
    }

    @Test
    void headerLengthBeyondTheFile() throws IOException {
        Path f = dir.resolve("t.safetensors");
        new SafetensorsWriter().add("a", DType.F32, new long[] {4}, new float[4]).write(f);
        byte[] whole = Files.readAllBytes(f);
        Files.write(f, Arrays.copyOf(whole, 20)); // length prefix intact, header cut
        ModelFormatException e = openFails(f);
        assertTrue(e.getMessage().contains("header length") && e.getMessage().contains("beyond the end"), e.getMessage());
    }

    @Test
    void fileTooShortForAHeaderLength() throws IOException {
        Path f = Files.write(dir.resolve("t.safetensors"), new byte[] {1, 2, 3});
        assertTrue(openFails(f).getMessage().contains("too short"));
    }

    @Test
    void offsetsBeyondTheFile() throws IOException {
        Path f = rawFile("t.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}", new byte[16]);
        ModelFormatException e = openFails(f);
        assertTrue(e.getMessage().contains("tensor a") && e.getMessage().contains("beyond the end of the file"), e.getMessage());
    }

    @Test
    void offsetsNotMatchingTheShape() throws IOException {
        Path f = rawFile("t.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", new byte[24]);
        ModelFormatException e = openFails(f);
        assertTrue(e.getMessage().contains("tensor a") && e.getMessage().contains("span 20 bytes but shape [2, 3] of F32 needs 24"),
                e.getMessage());
    }

    @Test
    void dtypeThatLiesAboutTheByteSpan() throws IOException {
        // 6 values written as BF16 (12 bytes) but declared F32
        Path f = rawFile("t.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,12]}}", new byte[12]);
        ModelFormatException e = openFails(f);
        assertTrue(e.getMessage().contains("tensor w") && e.getMessage().contains("of F32 needs 24 bytes"), e.getMessage());
    }

    @Test
    void overlappingTensors() throws IOException {
        Path f = rawFile("t.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", new byte[16]);
        ModelFormatException e = openFails(f);
        assertTrue(e.getMessage().contains("tensors a and b overlap"), e.getMessage());
    }

    @Test
    void unknownDtypeName() throws IOException {
        Path f = rawFile("t.safetensors", "{\"q\":{\"dtype\":\"Q4_K\",\"shape\":[4],\"data_offsets\":[0,4]}}", new byte[4]);
        ModelFormatException e = openFails(f);
        assertTrue(e.getMessage().contains("tensor q") && e.getMessage().contains("unknown dtype \"Q4_K\""), e.getMessage());
    }

    @Test
    void integerTensorWhereAFloatIsNeeded() throws IOException {
        Path f = rawFile("t.safetensors", "{\"ids\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}}", new byte[16]);
        SafetensorsFile st = SafetensorsFile.open(f); // the header itself is fine
        assertEquals("I64", st.dtypeName("ids"));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> st.tensor("ids"));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("tensor ids has dtype I64"), e.getMessage());
    }

    @Test
    void headerThatIsNotJson() throws IOException {
        Path f = rawFile("t.safetensors", "{\"a\": [", new byte[0]);
        assertTrue(openFails(f).getMessage().contains("header is not valid JSON"));
    }

    @Test
    void malformedEntries() throws IOException {
        assertTrue(openFails(rawFile("a.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}", new byte[0]))
                .getMessage().contains("shape must hold non-negative integers"));
        assertTrue(openFails(rawFile("b.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4]}}", new byte[4]))
                .getMessage().contains("data_offsets must be a list of 2 integers"));
        assertTrue(openFails(rawFile("c.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]))
                .getMessage().contains("Duplicate field 'a'"));
    }

    @Test
    void missingTensorNamesFileAndTensor() {
        Path f = dir.resolve("t.safetensors");
        new SafetensorsWriter().add("a", DType.F32, new long[] {1}, new float[1]).write(f);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(f).tensor("zz"));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("no tensor named zz"), e.getMessage());
    }

    @Test
    void missingFile() {
        assertTrue(openFails(dir.resolve("absent.safetensors")).getMessage().contains("file not found"));
    }

    @Test
    void directoryInsteadOfFile() throws IOException {
        Path d = Files.createDirectory(dir.resolve("model.safetensors"));
        assertTrue(openFails(d).getMessage().contains("is a directory"));
    }

    @Test
    void unreadableFile() throws IOException {
        Path f = dir.resolve("t.safetensors");
        new SafetensorsWriter().add("a", DType.F32, new long[] {1}, new float[1]).write(f);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("---------"));
        assumeFalse(Files.isReadable(f), "running as a user (root) that can read any file");
        assertTrue(openFails(f).getMessage().contains("permission denied"));
    }

    @Test
    void readRowChecksItsArguments() {
        Path f = dir.resolve("t.safetensors");
        new SafetensorsWriter().add("w", DType.F32, new long[] {2, 3}, new float[6])
                .add("v", DType.F32, new long[] {3}, new float[3]).write(f);
        SafetensorsFile st = SafetensorsFile.open(f);
        assertThrows(IndexOutOfBoundsException.class, () -> st.tensor("w").readRow(2, new float[3]));
        assertThrows(IllegalArgumentException.class, () -> st.tensor("w").readRow(0, new float[2]));
        assertThrows(IllegalStateException.class, () -> st.tensor("v").readRow(0, new float[3]));
        assertThrows(IndexOutOfBoundsException.class, () -> st.tensor("v").get(3));
    }
}
