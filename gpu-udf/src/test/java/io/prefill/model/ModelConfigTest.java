package io.prefill.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelConfigTest {
    @TempDir Path dir;

    /** The published Llama-3.1-8B config.json (abridged to the keys that matter plus a few that do not). */
    static final String LLAMA_31_8B = """
            {"architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
             "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "hidden_act": "silu",
             "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 14336,
             "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama",
             "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
             "pretraining_tp": 1, "rms_norm_eps": 1e-05,
             "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                              "original_max_position_embeddings": 8192, "rope_type": "llama3"},
             "rope_theta": 500000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
             "transformers_version": "4.43.0.dev0", "use_cache": true, "vocab_size": 128256}
            """;

    static final String MISTRAL_7B = """
            {"architectures": ["MistralForCausalLM"], "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu",
             "hidden_size": 4096, "intermediate_size": 14336, "max_position_embeddings": 32768,
             "model_type": "mistral", "num_attention_heads": 32, "num_hidden_layers": 32,
             "num_key_value_heads": 8, "rms_norm_eps": 1e-05, "rope_theta": 1000000.0, "sliding_window": null,
             "tie_word_embeddings": false, "vocab_size": 32768}
            """;

    static final String QWEN2_7B = """
            {"architectures": ["Qwen2ForCausalLM"], "bos_token_id": 151643, "eos_token_id": 151645,
             "hidden_act": "silu", "hidden_size": 3584, "intermediate_size": 18944,
             "max_position_embeddings": 32768, "max_window_layers": 28, "model_type": "qwen2",
             "num_attention_heads": 28, "num_hidden_layers": 28, "num_key_value_heads": 4,
             "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 131072,
             "tie_word_embeddings": false, "use_sliding_window": false, "vocab_size": 152064}
            """;

    private Path write(String json) throws IOException {
        Path f = dir.resolve("config.json");
        Files.writeString(f, json);
        return f;
    }

    private ModelFormatException readFails(String json) throws IOException {
        Path f = write(json);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelConfig.read(f));
        assertTrue(e.getMessage().contains(f.toString()), "message names the file: " + e.getMessage());
        return e;
    }

    @Test
    void readsLlama31WithLlama3RopeScaling() throws IOException {
        ModelConfig c = ModelConfig.read(write(LLAMA_31_8B));
        assertEquals(Architecture.LLAMA, c.architecture());
        assertEquals(128256, c.vocabSize());
        assertEquals(4096, c.hiddenSize());
        assertEquals(14336, c.intermediateSize());
        assertEquals(32, c.numLayers());
        assertEquals(32, c.numHeads());
        assertEquals(8, c.numKvHeads());
        assertEquals(4, c.groupSize());
        assertEquals(128, c.headDim(), "head_dim defaults to hidden/heads");
        assertEquals(1e-5, c.rmsNormEps());
        assertEquals(500000.0, c.ropeTheta());
        assertEquals(RopeScaling.llama3(8.0, 1.0, 4.0, 8192), c.ropeScaling());
        assertEquals(131072, c.maxPositionEmbeddings());
        assertFalse(c.tieWordEmbeddings());
        assertFalse(c.qkvBias());
        assertEquals(128000, c.bosTokenId());
        assertEquals(128001, c.eosTokenId(), "first of the eos list");
    }

    @Test
    void readsMistralWithDefaultsFilledIn() throws IOException {
        ModelConfig c = ModelConfig.read(write(MISTRAL_7B));
        assertEquals(Architecture.MISTRAL, c.architecture());
        assertEquals(128, c.headDim());
        assertEquals(8, c.numKvHeads());
        assertEquals(1_000_000.0, c.ropeTheta());
        assertEquals(RopeScaling.NONE, c.ropeScaling());
        assertFalse(c.qkvBias());
        assertEquals(1, c.bosTokenId());
        assertEquals(2, c.eosTokenId());
    }

    @Test
    void qwen2AlwaysHasQkvBias() throws IOException {
        ModelConfig c = ModelConfig.read(write(QWEN2_7B));
        assertEquals(Architecture.QWEN2, c.architecture());
        assertTrue(c.qkvBias(), "Qwen2 has q/k/v bias without attention_bias in its config");
        assertEquals(128, c.headDim());
        assertEquals(7, c.groupSize());
        assertEquals(151645, c.eosTokenId());
    }

    @Test
    void llamaAttentionBiasTurnsOnQkvBias() throws IOException {
        ModelConfig c = ModelConfig.read(write(LLAMA_31_8B.replace("\"attention_bias\": false", "\"attention_bias\": true")));
        assertTrue(c.qkvBias());
    }

    @Test
    void optionalKeysTakeTransformersDefaults() throws IOException {
        ModelConfig c = ModelConfig.read(write("""
                {"architectures": ["LlamaForCausalLM"], "vocab_size": 100, "hidden_size": 64,
                 "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4}
                """));
        assertEquals(4, c.numKvHeads(), "num_key_value_heads defaults to num_attention_heads");
        assertEquals(16, c.headDim());
        assertEquals(10000.0, c.ropeTheta());
        assertEquals(1e-6, c.rmsNormEps());
        assertEquals(RopeScaling.NONE, c.ropeScaling());
        assertFalse(c.tieWordEmbeddings());
        assertEquals(-1, c.bosTokenId());
        assertEquals(-1, c.eosTokenId());
    }

    @Test
    void explicitHeadDimWins() throws IOException {
        ModelConfig c = ModelConfig.read(write(MISTRAL_7B.replace("\"hidden_size\": 4096", "\"hidden_size\": 5120, \"head_dim\": 128")));
        assertEquals(128, c.headDim());
        assertEquals(32 * 128, c.qDim());
        assertEquals(8 * 128, c.kvDim());
    }

    @Test
    void readsEachRopeScalingType() throws IOException {
        String base = LLAMA_31_8B.substring(0, LLAMA_31_8B.indexOf("\"rope_scaling\""));
        String tail = LLAMA_31_8B.substring(LLAMA_31_8B.indexOf("\"rope_theta\""));
        assertEquals(RopeScaling.linear(4.0),
                ModelConfig.read(write(base + "\"rope_scaling\": {\"type\": \"linear\", \"factor\": 4.0}, " + tail)).ropeScaling());
        assertEquals(RopeScaling.dynamic(2.0, 0),
                ModelConfig.read(write(base + "\"rope_scaling\": {\"rope_type\": \"dynamic\", \"factor\": 2}, " + tail)).ropeScaling());
        assertEquals(RopeScaling.dynamic(2.0, 4096), ModelConfig.read(write(base
                + "\"rope_scaling\": {\"rope_type\": \"dynamic\", \"factor\": 2, \"original_max_position_embeddings\": 4096}, "
                + tail)).ropeScaling());
        assertEquals(RopeScaling.NONE,
                ModelConfig.read(write(base + "\"rope_scaling\": {\"rope_type\": \"default\"}, " + tail)).ropeScaling());
        assertEquals(RopeScaling.NONE, ModelConfig.read(write(base + "\"rope_scaling\": null, " + tail)).ropeScaling());
    }

    @Test
    void readsTransformers5RopeParameters() throws IOException {
        String json = MISTRAL_7B.replace("\"rope_theta\": 1000000.0,",
                "\"rope_parameters\": {\"rope_type\": \"linear\", \"factor\": 2.0, \"rope_theta\": 250000.0},");
        ModelConfig c = ModelConfig.read(write(json));
        assertEquals(250000.0, c.ropeTheta());
        assertEquals(RopeScaling.linear(2.0), c.ropeScaling());
    }

    @Test
    void unsupportedArchitectureNamesFileAndArchitecture() throws IOException {
        ModelFormatException e = readFails(LLAMA_31_8B.replace("LlamaForCausalLM", "GPT2LMHeadModel"));
        assertTrue(e.getMessage().contains("unsupported architecture \"GPT2LMHeadModel\""), e.getMessage());
        assertTrue(e.getMessage().contains("LlamaForCausalLM"), "lists what is supported: " + e.getMessage());
    }

    @Test
    void missingArchitecturesIsAnError() throws IOException {
        ModelFormatException e = readFails(MISTRAL_7B.replace("\"architectures\": [\"MistralForCausalLM\"],", ""));
        assertTrue(e.getMessage().contains("architectures"), e.getMessage());
    }

    @Test
    void unsupportedRopeTypesNameFileAndType() throws IOException {
        for (String type : new String[] {"yarn", "su"}) {
            String json = LLAMA_31_8B.replace("\"rope_type\": \"llama3\"", "\"rope_type\": \"" + type + "\"");
            ModelFormatException e = readFails(json);
            assertTrue(e.getMessage().contains("unsupported rope type \"" + type + "\""), e.getMessage());
        }
    }

    @Test
    void llama3ScalingNeedsItsParameters() throws IOException {
        ModelFormatException e = readFails(LLAMA_31_8B.replace("\"low_freq_factor\": 1.0, ", ""));
        assertTrue(e.getMessage().contains("rope_scaling") && e.getMessage().contains("low_freq_factor"), e.getMessage());
    }

    @Test
    void headsMustBeAMultipleOfKvHeads() throws IOException {
        ModelFormatException e = readFails(MISTRAL_7B.replace("\"num_key_value_heads\": 8", "\"num_key_value_heads\": 5"));
        assertTrue(e.getMessage().contains("num_attention_heads 32 is not a multiple of num_key_value_heads 5"), e.getMessage());
    }

    @Test
    void sizesMustBePositiveIntegers() throws IOException {
        assertTrue(readFails(MISTRAL_7B.replace("\"num_hidden_layers\": 32", "\"num_hidden_layers\": 0"))
                .getMessage().contains("num_hidden_layers must be positive, got 0"));
        assertTrue(readFails(MISTRAL_7B.replace("\"vocab_size\": 32768", "\"vocab_size\": \"big\""))
                .getMessage().contains("\"vocab_size\" must be an integer"));
        assertTrue(readFails(MISTRAL_7B.replace("\"intermediate_size\": 14336,", ""))
                .getMessage().contains("missing \"intermediate_size\""));
    }

    @Test
    void hiddenNotDivisibleByHeadsWithoutHeadDim() throws IOException {
        ModelFormatException e = readFails(MISTRAL_7B.replace("\"hidden_size\": 4096", "\"hidden_size\": 4100"));
        assertTrue(e.getMessage().contains("not divisible by num_attention_heads"), e.getMessage());
    }

    @Test
    void tokenIdsMustLieInTheVocabulary() throws IOException {
        ModelFormatException e = readFails(MISTRAL_7B.replace("\"bos_token_id\": 1", "\"bos_token_id\": 40000"));
        assertTrue(e.getMessage().contains("bos_token_id 40000 is outside the vocabulary"), e.getMessage());
    }

    @Test
    void refusesActivationsAndBiasesTheEngineDoesNotImplement() throws IOException {
        assertTrue(readFails(MISTRAL_7B.replace("\"silu\"", "\"gelu\"")).getMessage().contains("unsupported hidden_act \"gelu\""));
        assertTrue(readFails(LLAMA_31_8B.replace("\"mlp_bias\": false", "\"mlp_bias\": true")).getMessage().contains("mlp_bias"));
    }

    @Test
    void invalidJsonNamesTheFile() throws IOException {
        ModelFormatException e = readFails("{\"architectures\": [\"LlamaForCausalLM\"], ");
        assertTrue(e.getMessage().contains("not valid JSON"), e.getMessage());
    }

    @Test
    void missingFileNamesTheFile() {
        Path f = dir.resolve("nope/config.json");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelConfig.read(f));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("not found"), e.getMessage());
    }

    @Test
    void unreadableFileNamesTheFile() throws IOException {
        Path f = Files.createDirectory(dir.resolve("config.json")); // a directory cannot be read as a file
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelConfig.read(f));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("cannot read"), e.getMessage());
    }

    @Test
    void toJsonRoundTripsThroughRead() throws IOException {
        for (String json : new String[] {LLAMA_31_8B, MISTRAL_7B, QWEN2_7B}) {
            ModelConfig original = ModelConfig.read(write(json));
            assertEquals(original, ModelConfig.read(write(original.toJson())));
        }
        ModelConfig scaled = new ModelConfig(Architecture.MISTRAL, 1000, 64, 100, 3, 8, 2, 32, 1e-5, 20000.0,
                RopeScaling.dynamic(3.0, 2048), 4096, true, true, -1, 5);
        assertEquals(scaled, ModelConfig.read(write(scaled.toJson())));
        ModelConfig linear = new ModelConfig(Architecture.LLAMA, 1000, 64, 100, 3, 8, 8, 8, 1e-5, 10000.0,
                RopeScaling.linear(2.0), 4096, false, false, 0, -1);
        assertEquals(linear, ModelConfig.read(write(linear.toJson())));
    }

    @Test
    void productsOfDimensionsThatOverflowAreRefusedAtLoad() throws IOException {
        String heads = LLAMA_31_8B.replace("\"num_attention_heads\": 32", "\"num_attention_heads\": 65536, \"head_dim\": 65536")
                .replace("\"num_key_value_heads\": 8", "\"num_key_value_heads\": 65536");
        String m = readFails(heads).getMessage();
        assertTrue(m.contains("num_attention_heads * head_dim") && m.contains("4294967296"), m);
        // 65537 * 65536 wraps to 65536 in 32 bits: a plausible width, silently wrong
        String wraps = LLAMA_31_8B.replace("\"num_attention_heads\": 32", "\"num_attention_heads\": 65537, \"head_dim\": 65536")
                .replace("\"num_key_value_heads\": 8", "\"num_key_value_heads\": 1");
        m = readFails(wraps).getMessage();
        assertTrue(m.contains("num_attention_heads * head_dim") && m.contains(Long.toString(65537L * 65536)), m);
    }
}
