package io.prefill.engine;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LengthPolicyTest {
    private final int[] tokens = {100, 1, 2, 3, 4, 5, 6};

    @Test
    void shortPromptsAreUntouched() {
        assertSame(tokens, LengthPolicy.ERROR.apply(tokens, 7, 100));
        assertSame(tokens, LengthPolicy.TAIL.apply(tokens, 0, 100));
    }

    @Test
    void headKeepsTheStart() {
        assertArrayEquals(new int[]{100, 1, 2}, LengthPolicy.HEAD.apply(tokens, 3, 100));
    }

    @Test
    void tailKeepsTheEndAndTheBos() {
        assertArrayEquals(new int[]{100, 5, 6}, LengthPolicy.TAIL.apply(tokens, 3, 100));
        assertArrayEquals(new int[]{4, 5, 6}, LengthPolicy.TAIL.apply(tokens, 3, -1));
    }

    @Test
    void errorNamesBothLengths() {
        DocumentException e = assertThrows(DocumentException.class, () -> LengthPolicy.ERROR.apply(tokens, 3, 100));
        assertEquals(DocumentException.Kind.TOO_LONG, e.kind());
        assertTrue(e.getMessage().contains("7") && e.getMessage().contains("3"), e.getMessage());
    }

    @Test
    void parseRejectsUnknownPolicies() {
        assertEquals(LengthPolicy.TAIL, LengthPolicy.parse(" Tail "));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LengthPolicy.parse("middle"));
        assertTrue(e.getMessage().contains("middle"));
    }
}
