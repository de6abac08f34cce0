package io.prefill.model;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The needle model's word-level tokenizer (models/needle-llama/tokenizer.json) read the way the
 * job reads it: prompts written by bench/needle/write_prompts.py (the fixtures under
 * resources/needle) become exactly &lt;s&gt; followed by one vocabulary id per word, so the ids the
 * job pre-fills are the ids the model was trained on, and each answer is a single token.
 */
class NeedleTokenizerTest {
    static final Path MODEL_DIR = Path.of("..", "models", "needle-llama").toAbsolutePath().normalize();
    static final String[] FIXTURES = {"needle/needle-64.jsonl", "needle/needle-512.jsonl"};

    static TextTokenizer tokenizer;
    static Map<String, Integer> vocab;

    @BeforeAll
    static void load() throws IOException {
        Path file = MODEL_DIR.resolve("tokenizer.json");
        assertTrue(Files.isRegularFile(file), file + " is missing (bench/needle/build_tokenizer.py writes it)");
        tokenizer = TextTokenizer.load(file);
        JsonNode words = ModelConfigJson.MAPPER.readTree(file.toFile()).path("model").path("vocab");
        vocab = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = words.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            vocab.put(e.getKey(), e.getValue().asInt());
        }
    }

    @AfterAll
    static void close() {
        if (tokenizer != null) tokenizer.close();
    }

    static List<JsonNode> prompts() throws IOException {
        List<JsonNode> rows = new ArrayList<>();
        for (String name : FIXTURES) {
            try (InputStream in = NeedleTokenizerTest.class.getClassLoader().getResourceAsStream(name)) {
                assertNotNull(in, "test resource " + name + " is missing");
                for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                    if (!line.isBlank()) rows.add(ModelConfigJson.MAPPER.readTree(line));
                }
            }
        }
        assertFalse(rows.isEmpty());
        return rows;
    }

    /** The ids the model was trained on: &lt;s&gt;, then each space-separated word's vocabulary id. */
    static int[] expectedIds(String text) {
        String[] words = text.split(" ");
        int[] ids = new int[words.length + 1];
        ids[0] = vocab.get("<s>");
        for (int i = 0; i < words.length; i++) {
            Integer id = vocab.get(words[i]);
            assertNotNull(id, "word '" + words[i] + "' is not in the vocabulary");
            ids[i + 1] = id;
        }
        return ids;
    }

    @Test
    void vocabularyIsTheModelsAndBosComesFromTheTokenizer() {
        assertEquals(512, tokenizer.vocabSize());
        assertEquals(512, vocab.size());
        assertEquals(1, tokenizer.bosTokenId());
        assertEquals(vocab.get("<s>"), tokenizer.bosTokenId());
        assertEquals(vocab.get("</s>"), tokenizer.tokenId("</s>"));
        assertEquals(Map.of("<pad>", 0, "<s>", 1, "</s>", 2, "<unk>", 3), tokenizer.addedTokens());
    }

    @Test
    void generatedPromptsEncodeToOneIdPerWordAfterBos() throws IOException {
        for (JsonNode row : prompts()) {
            String id = row.get("id").asText();
            String text = row.get("text").asText();
            int[] ids = tokenizer.encode(text);
            assertArrayEquals(expectedIds(text), ids, id);
            assertEquals(row.get("length").asInt(), ids.length, id + ": length counts the ids with <s>");
            assertArrayEquals(Arrays.copyOfRange(ids, 1, ids.length), tokenizer.encode(text, false), id);
            assertEquals(text, tokenizer.decode(ids, true), id + ": decoding joins the words with single spaces");
        }
    }

    @Test
    void theAnswerIsOneTokenThatFollowsTheAskedKeyInTheDocument() throws IOException {
        int is = vocab.get("is");
        for (JsonNode row : prompts()) {
            String id = row.get("id").asText();
            String answer = row.get("answer").asText();
            int[] answerIds = tokenizer.encode(answer, false);
            assertEquals(1, answerIds.length, id + ": answer '" + answer + "' must be one token");
            assertEquals(answer, tokenizer.tokenText(answerIds[0]));

            // The prompt ends "... for KEY is"; the answer is what followed "KEY is" earlier on.
            int[] ids = tokenizer.encode(row.get("text").asText());
            int key = ids[ids.length - 2];
            assertEquals(is, ids[ids.length - 1], id);
            List<Integer> followers = new ArrayList<>();
            for (int i = 1; i + 2 < ids.length - 1; i++) {
                if (ids[i] == key && ids[i + 1] == is) followers.add(ids[i + 2]);
            }
            assertEquals(List.of(answerIds[0]), followers, id + ": exactly one earlier 'KEY is', followed by the answer");
        }
    }

    @Test
    void unknownWordsBecomeUnkAndPunctuationIsItsOwnToken() {
        int[] ids = tokenizer.encode("the code for zeppelin is 1000 .", false);
        assertArrayEquals(new int[] {vocab.get("the"), vocab.get("code"), vocab.get("for"), vocab.get("<unk>"),
                vocab.get("is"), vocab.get("1000"), vocab.get(".")}, ids);
        assertArrayEquals(tokenizer.encode("What was the code ?", false), tokenizer.encode("What   was\tthe\ncode?", false),
                "whitespace of any kind separates words; ? splits from the word before it");
    }
}
