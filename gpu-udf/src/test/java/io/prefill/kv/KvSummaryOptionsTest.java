package io.prefill.kv;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KvSummaryOptionsTest {
    @Test
    void badValuesAreRefusedWithTheirName() {
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> new KvSummaryOptions(0, 1024, 4, 7, KvSummaryOptions.Pooling.MAX, 0)).getMessage().contains("window"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> new KvSummaryOptions(32, -1, 4, 7, KvSummaryOptions.Pooling.MAX, 0)).getMessage().contains("top-k"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> new KvSummaryOptions(32, 1024, -1, 7, KvSummaryOptions.Pooling.MAX, 0)).getMessage().contains("sink"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> new KvSummaryOptions(32, 1024, 4, 6, KvSummaryOptions.Pooling.MAX, 0)).getMessage().contains("odd"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> new KvSummaryOptions(32, 1024, 4, 7, null, 0)).getMessage().contains("pooling"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> new KvSummaryOptions(32, 1024, 4, 7, KvSummaryOptions.Pooling.MAX, -5)).getMessage().contains("limit"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> KvSummaryOptions.Pooling.parse("median")).getMessage().contains("median"));
        assertEquals(KvSummaryOptions.Pooling.AVG, KvSummaryOptions.Pooling.parse(" Avg "));
    }

    @Test
    void sizeOfAnEightBillionModelAt128kWithTheDefaults() {
        KvSummaryOptions o = KvSummaryOptions.defaults();
        assertEquals(4 + 1024 + 32, o.keptPositions(131072));
        // 32 layers x 8 KV heads x 1060 positions x (128 x 2 (K, V) x 2 bytes + 4 bytes of position)
        assertEquals(32L * 8 * 1060 * (128 * 2 * 2 + 4), o.summaryBytes(131072, 32, 8, 128));
        assertEquals(140_021_760L, o.summaryBytes(131072, 32, 8, 128));
        // short prompts keep every position
        assertEquals(500, o.keptPositions(500));
    }
}
