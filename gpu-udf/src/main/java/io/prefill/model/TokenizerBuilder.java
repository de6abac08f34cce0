package io.prefill.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Trains a small byte-level BPE tokenizer (the GPT-2 / Llama-3 scheme) and writes it as a
 * Hugging Face tokenizer.json, so the tiny demo model needs no downloaded files. The 256 byte
 * symbols use GPT-2's byte-to-unicode mapping, so any text round-trips; merges are learned
 * greedily from a sample text; BOS is added by a TemplateProcessing post-processor.
 */
public final class TokenizerBuilder {
    public static final String BOS = "<|begin_of_text|>";
    public static final String EOS = "<|end_of_text|>";
    public static final int DEFAULT_VOCAB_SIZE = 512;

    /** GPT-2's pre-tokenization regex: what the ByteLevel pre-tokenizer with use_regex applies. */
    private static final Pattern GPT2_SPLIT = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");

    private TokenizerBuilder() { }

    /** A trained tokenizer: token text by id (byte-level symbols), merges in rank order, special ids. */
    public record TrainedBpe(List<String> tokens, List<String> merges, int bosId, int eosId) {
        public int vocabSize() { return tokens.size() + 2; }

        /** The tokenizer.json text. */
        public String toJson() {
            ObjectNode root = ModelConfigJson.MAPPER.createObjectNode();
            root.put("version", "1.0");
            root.putNull("truncation");
            root.putNull("padding");
            ArrayNode added = root.putArray("added_tokens");
            addSpecial(added, bosId, BOS);
            addSpecial(added, eosId, EOS);
            root.putNull("normalizer");
            byteLevel(root.putObject("pre_tokenizer"));
            root.set("post_processor", bosTemplate());
            byteLevel(root.putObject("decoder"));
            ObjectNode model = root.putObject("model");
            model.put("type", "BPE");
            model.putNull("dropout");
            model.putNull("unk_token");
            model.putNull("continuing_subword_prefix");
            model.putNull("end_of_word_suffix");
            model.put("fuse_unk", false);
            model.put("byte_fallback", false);
            model.put("ignore_merges", false);
            ObjectNode vocab = model.putObject("vocab");
            for (int id = 0; id < tokens.size(); id++) vocab.put(tokens.get(id), id);
            ArrayNode mergeList = model.putArray("merges");
            merges.forEach(mergeList::add);
            try {
                return ModelConfigJson.MAPPER.writer().withoutFeatures(SerializationFeature.INDENT_OUTPUT)
                        .writeValueAsString(root);
            } catch (JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }

        public void write(Path file) {
            try {
                Files.writeString(file, toJson());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + file, e);
            }
        }

        private static void addSpecial(ArrayNode added, int id, String content) {
            ObjectNode t = added.addObject();
            t.put("id", id);
            t.put("content", content);
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", true);
        }

        private static void byteLevel(ObjectNode o) {
            o.put("type", "ByteLevel");
            o.put("add_prefix_space", false);
            o.put("trim_offsets", true);
            o.put("use_regex", true);
        }

        private ObjectNode bosTemplate() {
            ObjectNode p = ModelConfigJson.MAPPER.createObjectNode();
            p.put("type", "TemplateProcessing");
            ArrayNode single = p.putArray("single");
            special(single.addObject(), 0);
            sequence(single.addObject(), "A", 0);
            ArrayNode pair = p.putArray("pair");
            special(pair.addObject(), 0);
            sequence(pair.addObject(), "A", 0);
            special(pair.addObject(), 1);
            sequence(pair.addObject(), "B", 1);
            ObjectNode bos = p.putObject("special_tokens").putObject(BOS);
            bos.put("id", BOS);
            bos.putArray("ids").add(bosId);
            bos.putArray("tokens").add(BOS);
            return p;
        }

        private static void special(ObjectNode o, int typeId) {
            ObjectNode s = o.putObject("SpecialToken");
            s.put("id", BOS);
            s.put("type_id", typeId);
        }

        private static void sequence(ObjectNode o, String id, int typeId) {
            ObjectNode s = o.putObject("Sequence");
            s.put("id", id);
            s.put("type_id", typeId);
        }
    }

    /**
     * Learns merges from sampleText until the vocabulary (256 bytes + merges + BOS + EOS)
     * reaches vocabSize, or no pair occurs twice.
     */
    public static TrainedBpe train(String sampleText, int vocabSize) {
        if (vocabSize < 258) throw new IllegalArgumentException("vocabSize must cover 256 bytes + 2 specials: " + vocabSize);
        char[] byteChar = byteToUnicode();
        List<String> tokens = new ArrayList<>();
        Map<String, Integer> idOf = new HashMap<>();
        for (int b : gpt2ByteOrder()) {
            idOf.put(String.valueOf(byteChar[b]), tokens.size());
            tokens.add(String.valueOf(byteChar[b]));
        }
        List<Word> words = countWords(sampleText, byteChar, idOf);
        List<String> merges = new ArrayList<>();
        while (tokens.size() + 2 < vocabSize) {
            long best = bestPair(words, tokens);
            if (best < 0) break;
            int a = (int) (best >>> 32);
            int b = (int) best;
            String merged = tokens.get(a) + tokens.get(b);
            Integer id = idOf.get(merged);
            if (id == null) {
                id = tokens.size();
                tokens.add(merged);
                idOf.put(merged, id);
            }
            merges.add(tokens.get(a) + " " + tokens.get(b));
            for (Word w : words) w.merge(a, b, id);
        }
        return new TrainedBpe(List.copyOf(tokens), List.copyOf(merges), tokens.size(), tokens.size() + 1);
    }

    /** The default demo tokenizer: {@link #DEFAULT_VOCAB_SIZE} tokens trained on {@link #sampleText}. */
    public static TrainedBpe demo() {
        return DemoHolder.DEMO;
    }

    /** Trained once per JVM on first use: training is deterministic and takes a few hundred ms. */
    private static final class DemoHolder {
        static final TrainedBpe DEMO = train(sampleText(2024, 6000), DEFAULT_VOCAB_SIZE);
    }

    /** A pre-token of the sample, as symbol ids, with its frequency. */
    private static final class Word {
        int[] symbols;
        final int count;

        Word(int[] symbols, int count) {
            this.symbols = symbols;
            this.count = count;
        }

        void merge(int a, int b, int merged) {
            int n = 0;
            int[] out = new int[symbols.length];
            for (int i = 0; i < symbols.length; i++) {
                if (i + 1 < symbols.length && symbols[i] == a && symbols[i + 1] == b) {
                    out[n++] = merged;
                    i++;
                } else {
                    out[n++] = symbols[i];
                }
            }
            if (n != symbols.length) symbols = Arrays.copyOf(out, n);
        }
    }

    private static List<Word> countWords(String text, char[] byteChar, Map<String, Integer> idOf) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        Matcher m = GPT2_SPLIT.matcher(text);
        while (m.find()) counts.merge(m.group(), 1, Integer::sum);
        List<Word> words = new ArrayList<>();
        counts.forEach((w, c) -> {
            byte[] bytes = w.getBytes(StandardCharsets.UTF_8);
            int[] ids = new int[bytes.length];
            for (int i = 0; i < bytes.length; i++) ids[i] = idOf.get(String.valueOf(byteChar[bytes[i] & 0xFF]));
            words.add(new Word(ids, c));
        });
        return words;
    }

    /** The most frequent adjacent pair (ties: lexicographically smallest text, for determinism), or -1 if none occurs twice. */
    private static long bestPair(List<Word> words, List<String> tokens) {
        Map<Long, Integer> counts = new HashMap<>();
        for (Word w : words) {
            for (int i = 0; i + 1 < w.symbols.length; i++) {
                counts.merge(((long) w.symbols[i] << 32) | w.symbols[i + 1], w.count, Integer::sum);
            }
        }
        long best = -1;
        int bestCount = 0;
        String bestText = null;
        for (Map.Entry<Long, Integer> e : counts.entrySet()) {
            int c = e.getValue();
            if (c < 2 || c < bestCount) continue;
            long pair = e.getKey();
            String text = tokens.get((int) (pair >>> 32)) + " " + tokens.get((int) pair);
            if (c > bestCount || text.compareTo(bestText) < 0) {
                best = pair;
                bestCount = c;
                bestText = text;
            }
        }
        return best;
    }

    /** GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 onwards. */
    static char[] byteToUnicode() {
        char[] map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++) map[b] = isPrintable(b) ? (char) b : (char) next++;
        return map;
    }

    /** Byte values in GPT-2's vocabulary order: printable ones first, then the rest. */
    static int[] gpt2ByteOrder() {
        int[] order = new int[256];
        int n = 0;
        for (int b = 0; b < 256; b++) if (isPrintable(b)) order[n++] = b;
        for (int b = 0; b < 256; b++) if (!isPrintable(b)) order[n++] = b;
        return order;
    }

    private static boolean isPrintable(int b) {
        return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    }

    private static final String[] NOUNS = {
        "model", "document", "contract", "report", "court", "market", "river", "city", "engine", "paper",
        "teacher", "student", "garden", "window", "letter", "number", "question", "answer", "system", "table",
        "company", "country", "history", "science", "village", "morning", "evening", "library", "language", "music"};
    private static final String[] VERBS = {
        "reads", "writes", "finds", "keeps", "builds", "opens", "closes", "explains", "follows", "changes",
        "describes", "measures", "carries", "remembers", "considers", "returns", "shows", "takes", "gives", "needs"};
    private static final String[] ADJECTIVES = {
        "long", "short", "quiet", "bright", "early", "late", "small", "large", "careful", "simple",
        "ancient", "modern", "northern", "important", "different", "common", "final", "open", "clear", "strong"};
    private static final String[] LINKS = {
        "the", "a", "of", "and", "in", "with", "to", "for", "on", "at", "from", "by", "that", "which", "before", "after"};

    /**
     * Deterministic English-like prose (with numbers, punctuation and a little non-ASCII) for
     * training the demo tokenizer.
     */
    public static String sampleText(long seed, int words) {
        Random r = new Random(seed);
        StringBuilder sb = new StringBuilder();
        int written = 0;
        while (written < words) {
            int sentences = 3 + r.nextInt(4);
            for (int s = 0; s < sentences && written < words; s++) {
                StringBuilder sentence = new StringBuilder();
                int len = 6 + r.nextInt(10);
                for (int i = 0; i < len; i++) {
                    String w = switch (i % 4) {
                        case 0 -> LINKS[r.nextInt(LINKS.length)];
                        case 1 -> ADJECTIVES[r.nextInt(ADJECTIVES.length)];
                        case 2 -> NOUNS[r.nextInt(NOUNS.length)];
                        default -> VERBS[r.nextInt(VERBS.length)];
                    };
                    if (r.nextInt(40) == 0) w = Integer.toString(r.nextInt(2000));
                    if (r.nextInt(60) == 0) w = r.nextBoolean() ? "café" : "naïve";
                    if (i > 0) sentence.append(i % 5 == 0 && r.nextInt(3) == 0 ? ", " : " ");
                    sentence.append(w);
                }
                sentence.setCharAt(0, Character.toUpperCase(sentence.charAt(0)));
                sb.append(sentence).append(r.nextInt(8) == 0 ? "? " : ". ");
                written += len;
            }
            sb.setLength(sb.length() - 1);
            sb.append("\n\n");
        }
        return sb.toString();
    }
}
