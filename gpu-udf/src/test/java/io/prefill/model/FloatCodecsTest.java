package io.prefill.model;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FloatCodecsTest {

    @Test
    void knownHalfValues() {
        assertEquals(1.0f, FloatCodecs.f16ToFloat((short) 0x3C00));
        assertEquals(-2.0f, FloatCodecs.f16ToFloat((short) 0xC000));
        assertEquals(65504f, FloatCodecs.f16ToFloat((short) 0x7BFF));
        assertEquals(0x1p-24f, FloatCodecs.f16ToFloat((short) 0x0001), "smallest subnormal");
        assertEquals(0x1p-14f, FloatCodecs.f16ToFloat((short) 0x0400), "smallest normal");
        assertEquals(Float.POSITIVE_INFINITY, FloatCodecs.f16ToFloat((short) 0x7C00));
        assertTrue(Float.isNaN(FloatCodecs.f16ToFloat((short) 0x7E00)));
        assertEquals(0x8000, FloatCodecs.floatToF16(-0.0f) & 0xFFFF);
        assertEquals(0x7C00, FloatCodecs.floatToF16(70000f) & 0xFFFF, "overflow to infinity");
        assertEquals(0, FloatCodecs.floatToF16(1e-9f), "underflow to zero");
        assertTrue(Float.isNaN(FloatCodecs.f16ToFloat(FloatCodecs.floatToF16(Float.NaN))));
    }

    @Test
    void everyHalfRoundTripsExactly() {
        for (int h = 0; h < 0x10000; h++) {
            float f = FloatCodecs.f16ToFloat((short) h);
            if (Float.isNaN(f)) continue;
            assertEquals(h, FloatCodecs.floatToF16(f) & 0xFFFF, "half 0x" + Integer.toHexString(h));
        }
    }

    @Test
    void halfRoundsToNearestEven() {
        for (int h = 0; h < 0x7BFF; h++) { // positive finite neighbours h, h+1
            float lo = FloatCodecs.f16ToFloat((short) h);
            float hi = FloatCodecs.f16ToFloat((short) (h + 1));
            double mid = ((double) lo + hi) / 2; // exact in float: halves have 11 significant bits
            int even = (h & 1) == 0 ? h : h + 1;
            assertEquals(even, FloatCodecs.floatToF16((float) mid) & 0xFFFF, "tie between 0x" + Integer.toHexString(h));
            assertEquals(h, FloatCodecs.floatToF16(Math.nextDown((float) mid)) & 0xFFFF);
            assertEquals(h + 1, FloatCodecs.floatToF16(Math.nextUp((float) mid)) & 0xFFFF);
        }
    }

    @Test
    void bf16IsTheTopHalfRoundedToNearestEven() {
        assertEquals(1.0f, FloatCodecs.bf16ToFloat((short) 0x3F80));
        assertEquals(0x3F80, FloatCodecs.floatToBf16(1.0f) & 0xFFFF);
        float tieDown = Float.intBitsToFloat(0x3F808000); // halfway between 0x3F80 and 0x3F81: to even 0x3F80
        assertEquals(0x3F80, FloatCodecs.floatToBf16(tieDown) & 0xFFFF);
        float tieUp = Float.intBitsToFloat(0x3F818000);   // halfway between 0x3F81 and 0x3F82: to even 0x3F82
        assertEquals(0x3F82, FloatCodecs.floatToBf16(tieUp) & 0xFFFF);
        assertEquals(0x3F81, FloatCodecs.floatToBf16(Float.intBitsToFloat(0x3F808001)) & 0xFFFF);
        assertTrue(Float.isNaN(FloatCodecs.bf16ToFloat(FloatCodecs.floatToBf16(Float.NaN))));
        assertEquals(Float.NEGATIVE_INFINITY, FloatCodecs.bf16ToFloat(FloatCodecs.floatToBf16(Float.NEGATIVE_INFINITY)));
    }
}
