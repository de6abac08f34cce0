package io.prefill.model;

import java.io.Closeable;
import java.nio.file.Path;

/** config.json + weights + tokenizer.json of one local model directory, all validated on open. STUB. */
public final class LoadedModel implements Closeable {

    public static LoadedModel open(Path directory) { throw new UnsupportedOperationException("stub"); }

    public Path directory() { throw new UnsupportedOperationException("stub"); }

    public ModelConfig config() { throw new UnsupportedOperationException("stub"); }

    public ModelWeights weights() { throw new UnsupportedOperationException("stub"); }

    public TextTokenizer tokenizer() { throw new UnsupportedOperationException("stub"); }

    @Override
    public void close() { }
}
