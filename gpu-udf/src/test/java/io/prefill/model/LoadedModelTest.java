package io.prefill.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LoadedModelTest {
    @TempDir Path tmp;

    private Path tinyModel() {
        Path dir = tmp.resolve("tiny");
        TinyModelWriter.write(dir, TinyModelSpec.demo(), 5);
        return dir;
    }

    private static String openFails(Path dir) {
        return assertThrows(ModelFormatException.class, () -> LoadedModel.open(dir)).getMessage();
    }

    @Test
    void opensTheTinyModel() {
        Path dir = tinyModel();
        try (LoadedModel m = LoadedModel.open(dir)) {
            assertEquals(dir, m.directory());
            assertEquals(Architecture.LLAMA, m.config().architecture());
            assertEquals(m.tokenizer().vocabSize(), m.config().vocabSize());
            assertEquals(m.config().bosTokenId(), m.tokenizer().encode("hi")[0]);
            assertEquals(2, ((SafetensorsModelWeights) m.weights()).numLayers());
            assertEquals("hello", m.tokenizer().decode(m.tokenizer().encode("hello", false)));
        }
    }

    @Test
    void missingConfig() throws IOException {
        Path dir = tinyModel();
        Files.delete(dir.resolve("config.json"));
        String m = openFails(dir);
        assertTrue(m.contains(dir.toString()) && m.contains("missing config.json"), m);
    }

    @Test
    void missingWeights() throws IOException {
        Path dir = tinyModel();
        Files.delete(dir.resolve("model.safetensors"));
        String m = openFails(dir);
        assertTrue(m.contains(dir.toString()) && m.contains("missing model.safetensors"), m);
    }

    @Test
    void missingTokenizer() throws IOException {
        Path dir = tinyModel();
        Files.delete(dir.resolve("tokenizer.json"));
        String m = openFails(dir);
        assertTrue(m.contains(dir.toString()) && m.contains("missing tokenizer.json"), m);
    }

    @Test
    void everyMissingFileIsListed() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("empty"));
        String m = openFails(dir);
        assertTrue(m.contains("config.json") && m.contains("tokenizer.json") && m.contains("model.safetensors"), m);
    }

    @Test
    void missingDirectory() {
        Path dir = tmp.resolve("nowhere");
        String m = openFails(dir);
        assertTrue(m.contains(dir.toString()) && m.contains("not found"), m);
    }

    @Test
    void truncatedWeights() throws IOException {
        Path dir = tinyModel();
        Path weights = dir.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(weights);
        Files.write(weights, Arrays.copyOf(bytes, bytes.length / 2));
        String m = openFails(dir);
        assertTrue(m.contains(weights.toString()) && m.contains("beyond the end of the file"), m);
    }

    @Test
    void unsupportedArchitectureInConfig() throws IOException {
        Path dir = tinyModel();
        Path config = dir.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("LlamaForCausalLM", "PhiForCausalLM"));
        String m = openFails(dir);
        assertTrue(m.contains(config.toString()) && m.contains("unsupported architecture \"PhiForCausalLM\""), m);
    }

    @Test
    void tokenizerLargerThanTheEmbedding() throws IOException {
        Path dir = tinyModel();
        Path tokenizer = dir.resolve("tokenizer.json");
        // an added token with id 600 makes the tokenizer's vocabulary 601 > vocab_size 512
        Files.writeString(tokenizer, Files.readString(tokenizer).replace("\"added_tokens\":[",
                "\"added_tokens\":[{\"id\":600,\"content\":\"<|extra|>\",\"single_word\":false,\"lstrip\":false,"
                        + "\"rstrip\":false,\"normalized\":false,\"special\":true},"));
        String m = openFails(dir);
        assertTrue(m.contains(tokenizer.toString()) && m.contains("601 tokens do not fit the model's vocab_size 512"), m);
    }

    @Test
    void tokenizerFarSmallerThanTheEmbedding() throws IOException {
        Path dir = tinyModel();
        Path config = dir.resolve("config.json");
        // the model claims 4096 tokens; its tokenizer has 512: most of the vocabulary could never be decoded
        Files.writeString(config, Files.readString(config).replace("\"vocab_size\" : 512", "\"vocab_size\" : 4096"));
        TensorEdits.resize(dir, 4096);
        String m = openFails(dir);
        assertTrue(m.contains("tokenizer.json") && m.contains("512") && m.contains("4096"), m);
    }

    @Test
    void embeddingPaddedBeyondTheTokenizerIsAccepted() throws IOException {
        Path dir = tinyModel();
        Path config = dir.resolve("config.json");
        // Qwen-style padding: a few rows more than the tokenizer (here 512 -> 520, under 1/64 of the vocabulary)
        Files.writeString(config, Files.readString(config).replace("\"vocab_size\" : 512", "\"vocab_size\" : 520"));
        TensorEdits.resize(dir, 520);
        try (LoadedModel m = LoadedModel.open(dir)) {
            assertEquals(520, m.config().vocabSize());
            assertEquals(512, m.tokenizer().vocabSize());
        }
    }
}
