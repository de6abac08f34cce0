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

    private LoadedModel(Path directory, ModelConfig config, WeightStore store, ModelWeights weights,
                        TextTokenizer tokenizer) {
        this.directory = directory;
        this.config = config;
        this.store = store;
        this.weights = weights;
        this.tokenizer = tokenizer;
    }

    /**
     * Reads config.json, binds and shape-checks every weight, and loads tokenizer.json.
     *
     * @throws ModelFormatException naming the file and the problem, on the first one found
     */
    public static LoadedModel open(Path directory) {
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

        ModelConfig config = ModelConfig.read(configFile);
        WeightStore store = WeightStore.open(directory);
        TextTokenizer tokenizer = null;
        try {
            ModelWeights weights = SafetensorsModelWeights.bind(config, store);
            tokenizer = TextTokenizer.load(tokenizerFile);
            // Checkpoints pad the embedding beyond the tokenizer (Qwen), never the other way round.
            if (tokenizer.vocabSize() > config.vocabSize()) {
                throw new ModelFormatException(tokenizerFile + ": " + tokenizer.vocabSize()
                        + " tokens do not fit the model's vocab_size " + config.vocabSize() + " in " + configFile);
            }
            return new LoadedModel(directory, config, store, weights, tokenizer);
        } catch (RuntimeException e) {
            if (tokenizer != null) tokenizer.close();
            store.close();
            throw e;
        }
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
