package io.prefill.model;

import java.io.Closeable;
import java.nio.file.Files;
import java.nio.file.Path;

/** config.json + weights + tokenizer.json of one local model directory, all validated on open. */
public final class LoadedModel implements Closeable {
    public static final String CONFIG_FILE = "config.json";
    public static final String TOKENIZER_FILE = "tokenizer.json";

    private final Path directory;
    private final ModelConfig config;
    private final WeightStore store;
    private final ModelWeights weights;
    private final TextTokenizer tokenizer;
    private final String weightsLabel;

    private LoadedModel(Path directory, ModelConfig config, WeightStore store, ModelWeights weights,
                        TextTokenizer tokenizer) {
        this.directory = directory;
        this.weightsLabel = labelOf(weights.layer(0).q().dtype());
        this.config = config;
        this.store = store;
        this.weights = weights;
        this.tokenizer = tokenizer;
    }

    /**
     * Reads config.json, binds and shape-checks every weight, and loads tokenizer.json; the
     * projections as stored.
     *
     * @throws ModelFormatException naming the file and the problem, on the first one found
     */
    public static LoadedModel open(Path directory) {
        return open(directory, WeightFormat.AS_STORED);
    }

    /**
     * As {@link #open(Path)}, with the projections in the given format: FP8 quantises them at
     * load ({@link Fp8ModelWeights}) unless the checkpoint is FP8 already.
     */
    public static LoadedModel open(Path directory, WeightFormat format) {
        if (!Files.isDirectory(directory)) throw new ModelFormatException(directory + ": model directory not found");
        Path configFile = directory.resolve(CONFIG_FILE);
        Path tokenizerFile = directory.resolve(TOKENIZER_FILE);
        // Name every missing file at once: a half-copied model directory usually lacks several.
        StringBuilder missing = new StringBuilder();
        if (!Files.exists(configFile)) missing.append(' ').append(CONFIG_FILE);
        if (!Files.exists(tokenizerFile)) missing.append(' ').append(TOKENIZER_FILE);
        if (!Files.exists(directory.resolve(WeightStore.SINGLE_FILE))
                && !Files.exists(directory.resolve(WeightStore.INDEX_FILE))) {
            missing.append(' ').append(WeightStore.SINGLE_FILE).append(" (or ").append(WeightStore.INDEX_FILE).append(')');
        }
        if (missing.length() > 0) throw new ModelFormatException(directory + ": missing" + missing);

        ModelFileLinks.check(directory, configFile);
        ModelFileLinks.check(directory, tokenizerFile);
        ModelConfig config = ModelConfig.read(configFile);
        boolean fp8Checkpoint = CheckpointQuantization.isFp8(configFile);
        WeightStore store = WeightStore.open(directory);
        TextTokenizer tokenizer = null;
        try {
            ModelWeights weights = SafetensorsModelWeights.bind(config, store, fp8Checkpoint);
            if (format == WeightFormat.FP8) weights = Fp8ModelWeights.quantise(weights, config.numLayers());
            tokenizer = TextTokenizer.load(tokenizerFile);
            checkVocabularies(tokenizer.vocabSize(), tokenizerFile, config.vocabSize(), configFile);
            return new LoadedModel(directory, config, store, weights, tokenizer);
        } catch (RuntimeException e) {
            if (tokenizer != null) tokenizer.close();
            store.close();
            throw e;
        }
    }

    /**
     * Checkpoints pad the embedding beyond the tokenizer (Qwen2.5: 151,665 tokens in 151,936 rows),
     * never the other way round, and by a few rows only. A model vocabulary far larger than the
     * tokenizer's means a tokenizer from another model: most predicted ids could not be decoded.
     */
    static final int MAX_PADDING_FRACTION = 64;

    private static void checkVocabularies(int tokenizerVocab, Path tokenizerFile, int modelVocab, Path configFile) {
        if (tokenizerVocab > modelVocab) {
            throw new ModelFormatException(tokenizerFile + ": " + tokenizerVocab
                    + " tokens do not fit the model's vocab_size " + modelVocab + " in " + configFile);
        }
        int padding = modelVocab - tokenizerVocab;
        int allowed = modelVocab / MAX_PADDING_FRACTION;
        if (padding > allowed) {
            throw new ModelFormatException(tokenizerFile + ": " + tokenizerVocab + " tokens, far fewer than the"
                    + " model's vocab_size " + modelVocab + " in " + configFile + ": " + padding
                    + " ids the model can predict have no text (padding rows are accepted up to 1/"
                    + MAX_PADDING_FRACTION + " of the vocabulary, " + allowed + " here); is it this model's tokenizer?");
        }
    }

    /** The projections' format as run: "bf16", "fp16", "f32" or "fp8-e4m3". */
    public String weightsLabel() { return weightsLabel; }

    private static String labelOf(DType projections) {
        return switch (projections) {
            case BF16 -> "bf16";
            case F16 -> "fp16";
            case F32 -> "f32";
            case F8_E4M3 -> "fp8-e4m3";  // ForwardBackends.FP8_WEIGHTS
        };
    }

    public Path directory() { return directory; }

    public ModelConfig config() { return config; }

    public ModelWeights weights() { return weights; }

    public TextTokenizer tokenizer() { return tokenizer; }

    /** The raw tensors, for backends that upload them as stored. */
    public WeightStore weightStore() { return store; }

    @Override
    public void close() {
        tokenizer.close();
        store.close();
    }
}
