package io.prefill.model;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Fp8E4M3Test {
    /** The format's definition, written out independently of the codec's table. */
    private static double reference(int code) {
        int s = code >>> 7;
        int e = (code >>> 3) & 0xF;
        int m = code & 0x7;
        if (e == 15 && m == 7) return Double.NaN;
        double magnitude = e == 0 ? m / 8.0 * Math.pow(2, -6) : (1 + m / 8.0) * Math.pow(2, e - 7);
        return s == 1 ? -magnitude : magnitude;
    }

    @Test
    void everyCodeDecodesToTheFormatsValue() {
        for (int c = 0; c < 256; c++) {
            double expected = reference(c);
            float actual = Fp8E4M3.toFloat((byte) c);
            if (Double.isNaN(expected)) assertTrue(Float.isNaN(actual), "code " + c);
            else assertEquals(expected, actual, 0.0, "code " + c);
        }
        assertEquals(448f, Fp8E4M3.toFloat((byte) 0x7E));
        assertEquals(0x1p-9f, Fp8E4M3.toFloat((byte) 0x01));
        assertEquals(0x1p-6f, Fp8E4M3.toFloat((byte) 0x08));
    }

    @Test
    void everyCodeRoundTripsAndOnlyTheTwoNanCodesAreNan() {
        int nans = 0;
        for (int c = 0; c < 256; c++) {
            float v = Fp8E4M3.toFloat((byte) c);
            if (Float.isNaN(v)) {
                nans++;
                assertEquals(c & 0x7F, 0x7F, "NaN at code " + c);
                assertEquals((byte) c, Fp8E4M3.fromFloat(v), "NaN keeps its sign");
            } else if (c == 0x80) {
                assertEquals((byte) 0x80, Fp8E4M3.fromFloat(-0f), "negative zero");
            } else {
                assertEquals((byte) c, Fp8E4M3.fromFloat(v), "code " + c + " value " + v);
            }
        }
        assertEquals(2, nans);
    }

    @Test
    void codesAreOrderedByValueAndNegativesMirrorPositives() {
        for (int c = 0; c < 0x7E; c++) {
            assertTrue(Fp8E4M3.toFloat((byte) c) < Fp8E4M3.toFloat((byte) (c + 1)), "code " + c);
            assertEquals(-Fp8E4M3.toFloat((byte) c), Fp8E4M3.toFloat((byte) (c | 0x80)), "code " + c);
        }
    }

    @Test
    void roundsToNearestWithTiesToTheEvenCode() {
        for (int c = 0; c < 0x7E; c++) {
            float lo = Fp8E4M3.toFloat((byte) c);
            float hi = Fp8E4M3.toFloat((byte) (c + 1));
            float mid = (float) (((double) lo + hi) / 2);
            byte even = (byte) ((c & 1) == 0 ? c : c + 1);
            assertEquals(even, Fp8E4M3.fromFloat(mid), "tie between codes " + c + " and " + (c + 1));
            assertEquals((byte) (even | 0x80), Fp8E4M3.fromFloat(-mid), "negative tie at code " + c);
            assertEquals((byte) c, Fp8E4M3.fromFloat(Math.nextDown(mid)), "just below the midpoint of " + c);
            assertEquals((byte) (c + 1), Fp8E4M3.fromFloat(Math.nextUp(mid)), "just above the midpoint of " + c);
        }
    }

    @Test
    void subnormalsAndUnderflow() {
        assertEquals((byte) 0x00, Fp8E4M3.fromFloat(0x1p-10f), "half the smallest subnormal ties to zero");
        assertEquals((byte) 0x01, Fp8E4M3.fromFloat(Math.nextUp(0x1p-10f)));
        assertEquals((byte) 0x00, Fp8E4M3.fromFloat(1e-30f));
        assertEquals((byte) 0x80, Fp8E4M3.fromFloat(-1e-30f), "underflow keeps the sign");
        assertEquals((byte) 0x03, Fp8E4M3.fromFloat(3 * 0x1p-9f));
    }

    @Test
    void saturatesAtPlusMinus448() {
        for (float v : new float[] {448f, 449f, 464f, 480f, 1e6f, Float.MAX_VALUE, Float.POSITIVE_INFINITY}) {
            assertEquals((byte) 0x7E, Fp8E4M3.fromFloat(v), "value " + v);
            assertEquals((byte) 0xFE, Fp8E4M3.fromFloat(-v), "value " + -v);
        }
        assertEquals((byte) 0x7D, Fp8E4M3.fromFloat(416f));
        assertEquals((byte) 0x7E, Fp8E4M3.fromFloat(Math.nextUp(432f)), "just above 416/448 midpoint");
    }

    @Test
    void nanStaysNan() {
        assertEquals((byte) 0x7F, Fp8E4M3.fromFloat(Float.NaN));
        assertEquals((byte) 0xFF, Fp8E4M3.fromFloat(Float.intBitsToFloat(0xFFC00000)));
    }
}
