package io.prefill.model;

import io.prefill.testing.SharedData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class TextTokenizerTest {
    static final String MIXED = "The contract's 3rd clause, §4.2 (amended 2024-03-01):\n\tnaïve café — 日本語のテキスト 🙂👍🏽"
            + "  double  spaces\r\nand a trailing space ";

    @TempDir static Path tmp;
    static TextTokenizer tiny;
    /** Real tokenizers take seconds to load: once per class. */
    static final Map<String, TextTokenizer> SHARED = new HashMap<>();

    @BeforeAll
    static void writeTiny() {
        Path file = tmp.resolve("tokenizer.json");
        TokenizerBuilder.demo().write(file);
        tiny = TextTokenizer.load(file);
    }

    @AfterAll
    static void closeAll() {
        tiny.close();
        SHARED.values().forEach(TextTokenizer::close);
    }

    /** GPU executors must not make DJL fetch a CUDA build of the tokenizer library (no internet there). */
    @Test
    void theCpuBuildOfTheTokenizerLibraryIsUsedUnlessTheUserChoseOne() {
        String chosen = System.getenv(TextTokenizer.FLAVOR);
        assertEquals(chosen == null ? "cpu" : null, System.getProperty(TextTokenizer.FLAVOR));
    }

    @Test
    void tinyTokenizerRoundTripsArbitraryText() {
        int[] ids = tiny.encode(MIXED);
        assertEquals(TokenizerBuilder.demo().bosId(), ids[0], "BOS from the post-processor");
        assertEquals(tiny.bosTokenId(), ids[0]);
        assertEquals(MIXED, tiny.decode(ids, true));
        assertEquals(TokenizerBuilder.BOS + MIXED, tiny.decode(ids));
        int[] plain = tiny.encode(MIXED, false);
        assertArrayEquals(Arrays.copyOfRange(ids, 1, ids.length), plain);
        assertTrue(plain.length < MIXED.getBytes(StandardCharsets.UTF_8).length,
                "merges compress: " + plain.length + " tokens");
    }

    @Test
    void tinyTokenizerBasics() {
        assertEquals(512, tiny.vocabSize());
        assertEquals(TokenizerBuilder.demo().eosId(), tiny.tokenId(TokenizerBuilder.EOS));
        assertEquals(TokenizerBuilder.EOS, tiny.tokenText(tiny.tokenId(TokenizerBuilder.EOS)));
        int[] the = tiny.encode(" the", false);
        assertEquals(1, the.length, "a frequent word of the sample is one token");
        assertEquals(" the", tiny.tokenText(the[0]));
        assertEquals("", tiny.decode(tiny.encode("", false)));
        assertThrows(IllegalArgumentException.class, () -> tiny.decode(new int[] {512}));
        assertThrows(IllegalArgumentException.class, () -> tiny.tokenText(-1));
    }

    @Test
    void tokenizerWithoutTemplateTakesBosFromTokenizerConfig() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("no-template"));
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, TokenizerBuilder.demo().toJson().replaceFirst("\"post_processor\":\\{.*?\"decoder\"",
                "\"post_processor\":null,\"decoder\""));
        try (TextTokenizer t = TextTokenizer.load(file)) {
            assertEquals(-1, t.bosTokenId(), "no template and no tokenizer_config.json: no BOS");
            assertNotEquals(510, t.encode("hello")[0]);
        }
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": \"<|begin_of_text|>\"}");
        try (TextTokenizer t = TextTokenizer.load(file)) {
            assertEquals(510, t.encode("hello")[0]);
        }
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": \"<|begin_of_text|>\", \"add_bos_token\": false}");
        try (TextTokenizer t = TextTokenizer.load(file)) {
            assertEquals(-1, t.bosTokenId());
        }
    }

    @Test
    void missingFile() {
        Path f = tmp.resolve("absent/tokenizer.json");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> TextTokenizer.load(f));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("not found"), e.getMessage());
    }

    @Test
    void invalidJson() throws IOException {
        Path f = Files.writeString(tmp.resolve("broken.json"), "{\"model\": {\"vocab\": ");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> TextTokenizer.load(f));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("not a valid tokenizer.json"), e.getMessage());
    }

    @Test
    void jsonThatIsNotATokenizer() throws IOException {
        Path f = Files.writeString(tmp.resolve("config-by-mistake.json"), ModelConfigTest.MISTRAL_7B);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> TextTokenizer.load(f));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("not a valid tokenizer.json"), e.getMessage());
    }

    @Test
    void tokenizerTheNativeLibraryRejects() throws IOException {
        Path f = Files.writeString(tmp.resolve("bad-model.json"),
                "{\"version\":\"1.0\",\"model\":{\"type\":\"NoSuchModel\",\"vocab\":{\"a\":0}}}");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> TextTokenizer.load(f));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("not a valid tokenizer.json"), e.getMessage());
    }

    // ---- real tokenizers from the shared folder (skipped when it is absent) ----

    private static TextTokenizer shared(String name) {
        Path file = SharedData.find("tokenizers/" + name + "/tokenizer.json").orElse(null);
        assumeTrue(file != null, "shared tokenizers/" + name + " not present");
        return SHARED.computeIfAbsent(name, n -> TextTokenizer.load(file));
    }

    @Test
    void llama3RoundTripsAndStartsWithBos() {
        TextTokenizer t = shared("llama3");
        assertEquals(128256, t.vocabSize());
        int[] ids = t.encode(MIXED);
        assertEquals(128000, ids[0], "BOS <|begin_of_text|>");
        assertEquals(1, Arrays.stream(ids).filter(id -> id == 128000).count());
        assertEquals(MIXED, t.decode(ids, true));
        assertEquals("<|begin_of_text|>" + MIXED, t.decode(ids));
        assertArrayEquals(new int[] {128009}, t.encode("<|eot_id|>", false));
        assertEquals(128009, t.tokenId("<|eot_id|>"));
        assertEquals("<|eot_id|>", t.tokenText(128009));
        assertArrayEquals(new int[] {9906, 1917}, t.encode("Hello world", false));
    }

    @Test
    void llama3EncodesAVeryLongDocumentWhole() {
        TextTokenizer t = shared("llama3");
        // Pieces start with a letter and end with ".\n", so no pre-token spans two pieces and
        // the whole document's count must equal the sum of the pieces' counts.
        List<String> pieces = new ArrayList<>();
        StringBuilder doc = new StringBuilder();
        long expected = 1; // BOS
        for (int i = 0; expected <= 100_000; i++) {
            String piece = "Section " + i + ": " + TokenizerBuilder.sampleText(i, 150).replace("\n\n", " ").strip() + "\n";
            pieces.add(piece);
            doc.append(piece);
            expected += t.encode(piece, false).length;
        }
        int[] ids = t.encode(doc.toString());
        assertTrue(ids.length > 100_000, "document of " + ids.length + " tokens");
        assertEquals(expected, ids.length, "nothing truncated across " + pieces.size() + " pieces");
        assertEquals(doc.toString(), t.decode(ids, true));
    }

    @Test
    void qwen3LoadsAndRoundTripsWithoutBos() {
        TextTokenizer t = shared("qwen3");
        assertEquals(151669, t.vocabSize());
        assertEquals(-1, t.bosTokenId(), "Qwen adds no BOS");
        int[] ids = t.encode(MIXED);
        assertArrayEquals(t.encode(MIXED, false), ids);
        assertEquals(MIXED, t.decode(ids));
        assertArrayEquals(new int[] {151645}, t.encode("<|im_end|>", false));
    }

    @Test
    void llama2LoadsAndRoundTrips() {
        TextTokenizer t = shared("llama2");
        assertEquals(32000, t.vocabSize());
        String text = "Hello world, naïve café 日本語 🙂 and\nnew lines.";
        int[] ids = t.encode(text);
        assertEquals(1, ids[0], "BOS <s> from the post-processor");
        assertEquals(1, t.bosTokenId());
        assertEquals(text, t.decode(ids, true));
    }
}
