package io.prefill.cuda;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The host side of tensor maps: what is checked before the driver is asked, and the layout passed to it. */
class TensorMapTest {
    private static TensorMap.Geometry bf16(long address, long bytes, long rows, long cols, int boxRows) {
        return new TensorMap.Geometry("acts", TensorMap.Element.BF16, address, bytes, rows, cols, boxRows, 64);
    }

    @Test
    void theDriverGetsInnermostFirstDimensionsAndByteStrides() {
        TensorMap.Geometry g = bf16(1 << 20, 2L * 300 * 4096, 300, 4096, 128);
        assertArrayEquals(new long[] {4096, 300}, g.globalDim());
        assertArrayEquals(new long[] {8192}, g.globalStrides());
        assertArrayEquals(new int[] {64, 128}, g.boxDim());
        TensorMap.Geometry e4m3 = new TensorMap.Geometry("w8", TensorMap.Element.E4M3, 4096, 1024L * 4096, 1024, 4096, 256, 128);
        assertArrayEquals(new long[] {4096}, e4m3.globalStrides());
        assertArrayEquals(new int[] {128, 256}, e4m3.boxDim());
    }

    @Test
    void refusesWhatTheTmaUnitCannotReadNamingTheNumbers() {
        var misaligned = assertThrows(IllegalArgumentException.class, () -> bf16(1 << 20 | 8, 1 << 20, 4, 64, 128));
        assertTrue(misaligned.getMessage().contains("acts") && misaligned.getMessage().contains("16-byte aligned"),
                misaligned.getMessage());
        var stride = assertThrows(IllegalArgumentException.class, () -> bf16(0, 1 << 20, 4, 60, 128));
        assertTrue(stride.getMessage().contains("[4, 60]") && stride.getMessage().contains("120 bytes"), stride.getMessage());
        var box = assertThrows(IllegalArgumentException.class, () -> bf16(0, 1 << 20, 4, 64, 257));
        assertTrue(box.getMessage().contains("box 257 x 64"), box.getMessage());
        var swizzle = assertThrows(IllegalArgumentException.class,
                () -> new TensorMap.Geometry("w", TensorMap.Element.BF16, 0, 1 << 20, 4, 64, 128, 128));
        assertTrue(swizzle.getMessage().contains("256 bytes") && swizzle.getMessage().contains("128"), swizzle.getMessage());
        var small = assertThrows(IllegalArgumentException.class, () -> bf16(0, 2L * 4 * 64 - 2, 4, 64, 128));
        assertTrue(small.getMessage().contains("needs 512 bytes") && small.getMessage().contains("510"), small.getMessage());
        assertThrows(IllegalArgumentException.class, () -> bf16(0, 1 << 20, 0, 64, 128));
        assertThrows(IllegalArgumentException.class, () -> bf16(0, 1 << 20, 4, 64, 0));
    }

    @Test
    void aMapHoldsSixteenWordsAndKeepsThemToItself() {
        long[] words = new long[16];
        Arrays.fill(words, 7);
        TensorMap m = new TensorMap(words, "a");
        words[0] = 1;
        assertEquals(7, m.words()[0], "the record copies what it is given");
        m.words()[1] = 2;
        assertEquals(7, m.kernelParam()[1], "and hands out copies");
        assertThrows(IllegalArgumentException.class, () -> new TensorMap(new long[15], "a"));
    }

    @Test
    void availabilityIsAnsweredWithoutThrowing() {
        // On a machine without the CUDA driver this is the reason; on a GPU node with a CUDA 12+
        // driver it is null (GemmGpuTest checks that on Hopper). Either way no error escapes.
        String why = TensorMap.unavailable();
        if (why != null) assertTrue(why.contains("cuTensorMapEncodeTiled"), why);
    }
}
