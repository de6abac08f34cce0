package io.prefill.job;

import io.prefill.engine.LengthPolicy;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JobOptionsTest {
    private static final String[] BASE = {"--input", "in.jsonl", "--output", "out", "--model", "hdfs:///models/m"};

    private static String[] with(String... extra) {
        String[] all = new String[BASE.length + extra.length];
        System.arraycopy(BASE, 0, all, 0, BASE.length);
        System.arraycopy(extra, 0, all, BASE.length, extra.length);
        return all;
    }

    @Test
    void defaults() {
        JobOptions o = JobOptions.parse(BASE);
        assertEquals(JobOptions.InputFormat.JSONL, o.inputFormat());
        assertEquals("auto", o.backend());
        assertEquals(5, o.topK());
        assertEquals(0, o.maxTokens());
        assertEquals(LengthPolicy.ERROR, o.lengthPolicy());
        assertEquals(JobOptions.WriteMode.ERROR, o.writeMode());
        assertEquals(Waves.DEFAULT, o.wavePartitions());
    }

    @Test
    void everyOptionIsRead() {
        JobOptions o = JobOptions.parse(with("--input-format", "parquet", "--id-column", "k", "--text-column", "body",
                "--question", "why?", "--backend", "CUDA", "--top-k", "3", "--max-tokens", "4096",
                "--length-policy", "tail", "--template", "{document} {question}", "--partitions", "8",
                "--wave-partitions", "3", "--conf", "spark.executor.memory=8g", "--conf", "a=b=c", "--write-mode", "overwrite", "--no-summary"));
        assertEquals(JobOptions.InputFormat.PARQUET, o.inputFormat());
        assertEquals("k", o.idColumn());
        assertEquals("body", o.textColumn());
        assertEquals("why?", o.question());
        assertEquals("cuda", o.backend());
        assertEquals(3, o.topK());
        assertEquals(4096, o.maxTokens());
        assertEquals(LengthPolicy.TAIL, o.lengthPolicy());
        assertEquals(8, o.partitions());
        assertEquals(3, o.wavePartitions());
        assertEquals("8g", o.sparkConf().get("spark.executor.memory"));
        assertEquals("b=c", o.sparkConf().get("a"));
        assertEquals(JobOptions.WriteMode.OVERWRITE, o.writeMode());
        assertEquals(false, o.printSummary());
    }

    @Test
    void badOptionsNameTheOption() {
        assertMessage("--output", "--input", "a", "--model", "m");
        assertMessage("--bogus", with("--bogus", "1"));
        assertMessage("--max-tokens", with("--max-tokens", "-1"));
        assertMessage("--top-k", with("--top-k", "x"));
        assertMessage("--conf", with("--conf", "novalue"));
        assertMessage("--write-mode", with("--write-mode", "append"));
        assertMessage("--input-format", with("--input-format", "csv"));
        assertMessage("--question", with("--question", "a", "--question-column", "q"));
        assertMessage("--partitions", with("--partitions"));
        assertMessage("--wave-partitions", with("--wave-partitions", "-1"));
        assertMessage("did you mean --output?", "--input", "a", "--model", "m", "--ouptut", "o");
        assertMessage("did you mean --kv-window?", with("--mode", "kv-summary", "--kv-windwo", "8"));
        assertMessage("--backend", with("--backend", "gpu"));
        assertMessage("did you mean spark.prefill.gpuMemoryBudget?", with("--conf", "spark.prefill.gpuMemoryBugdet=1g"));
    }

    @Test
    void minKeptMassIsAShare() {
        assertEquals(0.0, JobOptions.parse(BASE).minKeptMass());
        assertEquals(0.5, JobOptions.parse(with("--min-kept-mass", "0.5", "--backend", "cpu")).minKeptMass());
        assertEquals(0.5, JobOptions.parse(with("--min-kept-mass", "0.5", "--backend", "cuda")).minKeptMass());
        assertEquals(0.25, JobOptions.parse(with("--min-kept-mass", "0.25")).minKeptMass());
        assertMessage("must be in [0, 1]", with("--min-kept-mass", "1.5", "--backend", "cpu"));
        assertMessage("--min-kept-mass expects a number", with("--min-kept-mass", "half", "--backend", "cpu"));
    }

    @Test
    void weightsAreAsStoredUnlessFp8IsAsked() {
        assertEquals(io.prefill.model.WeightFormat.AS_STORED, JobOptions.parse(BASE).weights());
        assertEquals(io.prefill.model.WeightFormat.AS_STORED, JobOptions.parse(with("--weights", "bf16")).weights());
        assertEquals(io.prefill.model.WeightFormat.FP8, JobOptions.parse(with("--weights", "fp8")).weights());
        assertEquals(io.prefill.model.WeightFormat.FP8,
                JobOptions.parse(with("--weights", "fp8")).withInputFormat(JobOptions.InputFormat.TEXT).weights());
        assertMessage("option --weights: weights must be one of bf16, fp8, got int4", with("--weights", "int4"));
    }

    @Test
    void badOptionsAreUsageErrors() {
        assertThrows(io.prefill.settings.UsageException.class, () -> JobOptions.parse(with("--top-k", "0")));
        assertThrows(io.prefill.settings.UsageException.class, () -> JobOptions.parse(with("--length-policy", "middle")));
        assertThrows(io.prefill.settings.UsageException.class,
                () -> JobOptions.parse(with("--mode", "kv-summary", "--kv-pool-kernel", "4")));
    }

    @Test
    void inputFormatFromTheExtensionOrLeftToThePath() {
        assertEquals(JobOptions.InputFormat.TEXT, JobOptions.parse(new String[]{"--input", "docs/a.txt", "--output", "o",
                "--model", "m"}).inputFormat());
        assertEquals(JobOptions.InputFormat.PARQUET, JobOptions.parse(new String[]{"--input", "c.parquet/", "--output",
                "o", "--model", "m"}).inputFormat());
        assertEquals(null, JobOptions.parse(new String[]{"--input", "docs", "--output", "o", "--model", "m"}).inputFormat());
        assertEquals(JobOptions.InputFormat.JSONL, JobOptions.parse(new String[]{"--input", "docs", "--input-format",
                "jsonl", "--output", "o", "--model", "m"}).inputFormat());
    }

    private static void assertMessage(String expected, String... args) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JobOptions.parse(args));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    void optionsToReproduceAReference() {
        JobOptions d = JobOptions.parse(BASE);
        assertEquals(io.prefill.engine.EngineOptions.CONFIG_MIN_SPARSE_LENGTH, d.minSparseLength());
        assertTrue(d.addSpecialTokens());
        assertEquals(false, d.allowBeyondMaxPositions());
        JobOptions o = JobOptions.parse(with("--min-sparse-length", "0", "--add-special-tokens", "FALSE",
                "--allow-beyond-max-positions"));
        assertEquals(0, o.minSparseLength());
        assertEquals(false, o.addSpecialTokens());
        assertTrue(o.allowBeyondMaxPositions());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> JobOptions.parse(with("--add-special-tokens", "no")))
                .getMessage().contains("--add-special-tokens"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> JobOptions.parse(with("--min-sparse-length", "-1")))
                .getMessage().contains("--min-sparse-length"));
    }
}
