package io.prefill.job;

import io.prefill.model.TextTokenizer;
import io.prefill.model.TinyModelSpec;
import io.prefill.model.TinyModelWriter;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes the demo model (the same spec and seed as DemoMain) and a calibration file of demo-corpus
 * documents, so scripts/pattern-search.sh --demo can search the demo model's patterns.
 * Arguments: output folder, then calibration lengths in tokens.
 */
public final class DemoSearchInputs {
    static final long MODEL_SEED = 42L;
    // Not the demo corpus's seed (7): calibration text should not be the text the demo pre-fills.
    static final long CORPUS_SEED = 11L;

    private DemoSearchInputs() { }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : "demo-output/pattern-search");
        int[] lengths = new int[Math.max(1, args.length - 1)];
        if (args.length < 2) lengths[0] = 4096;
        for (int i = 1; i < args.length; i++) lengths[i - 1] = Integer.parseInt(args[i]);
        Files.createDirectories(dir);
        TinyModelWriter.write(dir.resolve("model"), TinyModelSpec.demo(), MODEL_SEED);
        try (TextTokenizer tokenizer = TextTokenizer.load(dir.resolve("model").resolve("tokenizer.json"))) {
            Path calibration = dir.resolve("calibration.jsonl");
            DemoCorpus.write(calibration, tokenizer, lengths, CORPUS_SEED);
            System.out.println("[pattern-search] demo model " + dir.resolve("model") + ", calibration " + calibration);
        }
    }
}
