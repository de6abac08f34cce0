package io.prefill.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class DocumentResultTest {

    @Test
    void anErrorRowPrefillsNoTokens() {
        DocumentResult tooLong = DocumentResult.failed("cpu", 771_536, "too_long", "longer than the model's 131072 positions");
        assertEquals(0, tooLong.prefilledTokens());
    }

    @Test
    void aGoodRowPrefillsThePromptLessWhatTheLengthPolicyDropped() {
        DocumentResult kept = new DocumentResult(1_000, 200, null, AttentionStats.NONE, 3.5, "cpu", null, null);
        assertEquals(800, kept.prefilledTokens());
    }
}
