package io.prefill.model;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import io.prefill.io.BoundedFiles;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * tokenizer.json through DJL's HuggingFaceTokenizer, configured never to truncate or pad:
 * documents are pre-filled whole, and DJL otherwise truncates to 512 tokens in some setups.
 * Safe for concurrent use (the native tokenizer is immutable once loaded).
 *
 * <p>Special tokens follow the tokenizer's post-processor. When it adds none, a
 * tokenizer_config.json beside the file decides, as transformers' Llama tokenizers do: a
 * declared bos_token is prepended unless add_bos_token is false. This matters because some
 * published Llama-3 tokenizer.json files lack the BOS template the model was trained with.
 */
public final class TextTokenizer implements AutoCloseable {
    private final Path path;
    private final HuggingFaceTokenizer tokenizer;
    private final TokenizerJsonSummary summary;
    private final int bosTokenId;
    private final boolean prependBos;

    private TextTokenizer(Path path, HuggingFaceTokenizer tokenizer, TokenizerJsonSummary summary,
                          int bosTokenId, boolean prependBos) {
        this.path = path;
        this.tokenizer = tokenizer;
        this.summary = summary;
        this.bosTokenId = bosTokenId;
        this.prependBos = prependBos;
    }

    public static TextTokenizer load(Path tokenizerJson) {
        if (Files.isDirectory(tokenizerJson)) {
            throw new ModelFormatException(tokenizerJson + ": is a directory, not a tokenizer.json");
        }
        if (!Files.exists(tokenizerJson)) throw new ModelFormatException(tokenizerJson + ": tokenizer.json not found");
        if (!Files.isReadable(tokenizerJson)) {
            throw new ModelFormatException(tokenizerJson + ": cannot read tokenizer.json (permission denied)");
        }
        TokenizerJsonSummary summary = TokenizerJsonSummary.read(tokenizerJson);
        HuggingFaceTokenizer djl = openDjl(tokenizerJson);
        try {
            Encoding probe = djl.encode("a", true, false);
            long[] ids = probe.getIds();
            boolean postProcessorAddsBos = ids.length > 1 && probe.getSpecialTokenMask()[0] == 1;
            if (postProcessorAddsBos) return new TextTokenizer(tokenizerJson, djl, summary, (int) ids[0], false);
            int configuredBos = bosFromTokenizerConfig(tokenizerJson, djl, summary);
            return new TextTokenizer(tokenizerJson, djl, summary, configuredBos, configuredBos >= 0);
        } catch (RuntimeException e) {
            djl.close();
            throw e;
        }
    }

    /**
     * DJL picks a CUDA build of its Rust tokenizer library whenever it sees a GPU, and downloads it
     * (the jar carries only the CPU build): on a GPU executor without internet access that fails.
     * Tokenizing runs on the CPU anyway, so the CPU build is used unless RUST_FLAVOR says otherwise.
     */
    static final String FLAVOR = "RUST_FLAVOR";

    private static void useCpuTokenizerLibrary() {
        if (System.getenv(FLAVOR) == null && System.getProperty(FLAVOR) == null) System.setProperty(FLAVOR, "cpu");
    }

    private static HuggingFaceTokenizer openDjl(Path file) {
        useCpuTokenizerLibrary();
        try {
            return HuggingFaceTokenizer.builder()
                    .optTokenizerPath(file)
                    .optAddSpecialTokens(true)
                    .optTruncation(false)
                    .optPadding(false)
                    .optWithOverflowingTokens(false)
                    .build();
        } catch (IOException | RuntimeException e) {
            throw new ModelFormatException(file + ": not a valid tokenizer.json (" + e.getMessage() + ")", e);
        }
    }

    /** The id of tokenizer_config.json's bos_token when it asks for BOS to be added, else -1. */
    private static int bosFromTokenizerConfig(Path tokenizerJson, HuggingFaceTokenizer djl, TokenizerJsonSummary summary) {
        Path configFile = tokenizerJson.resolveSibling("tokenizer_config.json");
        if (!Files.isRegularFile(configFile)) return -1;
        JsonNode config;
        try {
            config = ModelConfigJson.MAPPER.readTree(BoundedFiles.readString(configFile,
                    BoundedFiles.JSON_METADATA_BYTES, "tokenizer_config.json"));
        } catch (BoundedFiles.TooLargeException e) {
            throw new ModelFormatException(e.getMessage(), e);
        } catch (IOException e) {
            throw new ModelFormatException(configFile + ": not valid JSON (" + e.getMessage() + ")", e);
        }
        if (config == null || !config.path("add_bos_token").asBoolean(true)) return -1;
        JsonNode bos = config.get("bos_token");
        if (bos != null && bos.isObject()) bos = bos.get("content"); // AddedToken form
        if (bos == null || !bos.isTextual()) return -1;
        int id = tokenId(bos.asText(), djl, summary);
        if (id < 0) {
            throw new ModelFormatException(configFile + ": bos_token \"" + bos.asText() + "\" is not a single token of "
                    + tokenizerJson.getFileName());
        }
        return id;
    }

    private static int tokenId(String token, HuggingFaceTokenizer djl, TokenizerJsonSummary summary) {
        Integer id = summary.addedTokens().get(token);
        if (id != null) return id;
        long[] ids = djl.encode(token, false, false).getIds();
        return ids.length == 1 ? (int) ids[0] : -1;
    }

    /** Token ids of text, with the special tokens the tokenizer's post-processor adds (e.g. BOS). */
    public int[] encode(String text) {
        return encode(text, true);
    }

    /** Token ids of text; with addSpecialTokens false, exactly the tokens of the text. */
    public int[] encode(String text, boolean addSpecialTokens) {
        long[] ids = tokenizer.encode(text, addSpecialTokens, false).getIds();
        int offset = addSpecialTokens && prependBos ? 1 : 0;
        int[] out = new int[ids.length + offset];
        if (offset == 1) out[0] = bosTokenId;
        for (int i = 0; i < ids.length; i++) out[i + offset] = (int) ids[i];
        return out;
    }

    /** Text of the ids, special tokens included (as transformers' decode does by default). */
    public String decode(int[] ids) {
        return decode(ids, false);
    }

    public String decode(int[] ids, boolean skipSpecialTokens) {
        long[] wide = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= summary.vocabSize()) {
                throw new IllegalArgumentException("token id " + ids[i] + " outside the vocabulary [0, "
                        + summary.vocabSize() + ") of " + path);
            }
            wide[i] = ids[i];
        }
        return tokenizer.decode(wide, skipSpecialTokens);
    }

    /** The text of one token as it would appear in decoded output. */
    public String tokenText(int id) {
        return decode(new int[] {id});
    }

    /** Ids 0..vocabSize()-1 are valid: model vocabulary plus added tokens. */
    public int vocabSize() { return summary.vocabSize(); }

    /** The id added at the start of every encoding, or -1 when none is. */
    public int bosTokenId() { return bosTokenId; }

    /** The id of an added/special token such as "&lt;|eot_id|&gt;", or of any text that is exactly one token; else -1. */
    public int tokenId(String token) {
        return tokenId(token, tokenizer, summary);
    }

    /** Added tokens (special or not) by their text. */
    public Map<String, Integer> addedTokens() { return summary.addedTokens(); }

    public Path path() { return path; }

    @Override
    public void close() {
        tokenizer.close();
    }
}
