package io.prefill.model;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TokenizerBuilderTest {

    @Test
    void byteSymbolsFollowGpt2() {
        char[] map = TokenizerBuilder.byteToUnicode();
        assertEquals('A', map['A']);
        assertEquals('Ġ', map[' '], "space is U+0120 as in GPT-2");
        assertEquals('Ċ', map['\n']);
        Set<Character> distinct = new HashSet<>();
        for (char c : map) distinct.add(c);
        assertEquals(256, distinct.size(), "a bijection");
        List<String> tokens = TokenizerBuilder.demo().tokens();
        assertEquals("!", tokens.get(0), "GPT-2 vocabulary order starts with '!'");
        assertEquals(String.valueOf(map[0]), tokens.get(188), "then the unprintable bytes from 0");
    }

    @Test
    void demoHasTheRequestedVocabularyWithSpecialsLast() {
        TokenizerBuilder.TrainedBpe bpe = TokenizerBuilder.demo();
        assertEquals(512, bpe.vocabSize());
        assertEquals(254, bpe.merges().size());
        assertEquals(510, bpe.bosId());
        assertEquals(511, bpe.eosId());
        assertEquals(new HashSet<>(bpe.tokens()).size(), bpe.tokens().size(), "token texts are unique");
        assertTrue(bpe.tokens().contains("Ġthe"), "the commonest word is learned");
    }

    @Test
    void mergesAreLearnedMostFrequentFirstWithDeterministicTies() {
        // pre-tokens: "ab", " ab" x3, " cd" x2, " xy"; 'a b' (4) beats 'Ġ a' (3); then 'Ġ ab' (3);
        // then 'c d' and 'Ġ c' tie at 2 and the smaller text wins; pairs seen once are never merged
        TokenizerBuilder.TrainedBpe bpe = TokenizerBuilder.train("ab ab ab ab cd cd xy", 300);
        assertEquals(List.of("a b", "Ġ ab", "c d", "Ġ cd"), bpe.merges());
        assertEquals(256 + 4, bpe.tokens().size());
        assertEquals("Ġcd", bpe.tokens().get(259));
        assertEquals(260, bpe.bosId());
    }

    @Test
    void sampleTextIsDeterministicPerSeed() {
        assertEquals(TokenizerBuilder.sampleText(5, 300), TokenizerBuilder.sampleText(5, 300));
        assertNotEquals(TokenizerBuilder.sampleText(5, 300), TokenizerBuilder.sampleText(6, 300));
    }
}
