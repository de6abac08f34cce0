package io.prefill.job;

import io.prefill.engine.Backends;
import io.prefill.job.report.ReportMain;
import io.prefill.model.TextTokenizer;
import io.prefill.model.TinyModelSpec;
import io.prefill.model.TinyModelWriter;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The README's first command: builds a tiny Llama-shaped model with random weights and its own
 * tokenizer, a corpus of long documents, then runs the real pre-fill job in Spark local mode on
 * the CPU backend and prints the results. Needs nothing but this build. With {@code cuda} as its
 * second argument, the model has head_dim 64 (the CUDA kernels' smallest) and the job runs on
 * this machine's GPU.
 */
public final class DemoMain {
    static final int[] DOCUMENT_TOKENS = {2048, 3072, 4096, 6144, 8192, 12288, 16384};
    static final String TEMPLATE = "Read the report below and answer the question.\n\n{document}\n\n"
            + "Question: {question}\nAnswer:";

    private DemoMain() { }

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args.length > 0 ? args[0] : "demo-output").toAbsolutePath();
        String backend = args.length > 1 ? args[1] : Backends.CPU;
        if (!Backends.NAMES.contains(backend)) {
            throw new IllegalArgumentException("demo backend '" + backend + "': expected one of " + Backends.NAMES);
        }
        Path model = work.resolve("model");
        Path corpus = work.resolve("corpus.jsonl");
        Path output = work.resolve("first-tokens.parquet");
        Files.createDirectories(work);

        System.out.println("[demo] writing a tiny random Llama-shaped model to " + model);
        TinyModelWriter.write(model, backend.equals(Backends.CUDA) ? TinyModelSpec.gpuDemo() : TinyModelSpec.demo(), 42L);
        System.out.println("[demo] writing " + (DOCUMENT_TOKENS.length + 2) + " documents (2K to 16K tokens) to " + corpus);
        try (TextTokenizer tokenizer = TextTokenizer.load(model.resolve("tokenizer.json"))) {
            DemoCorpus.write(corpus, tokenizer, DOCUMENT_TOKENS, 7L);
        }

        List<String> job = new ArrayList<>(List.of(
                "--master", "local[2]",
                "--input", corpus.toString(),
                "--output", output.toString(), "--write-mode", "overwrite",
                "--model", model.toString(),
                "--backend", backend,
                "--template", TEMPLATE, "--question-column", "question",
                "--top-k", "5",
                "--partitions", "2",
                "--conf", "spark.ui.enabled=false",
                "--conf", "spark.sql.shuffle.partitions=2"));
        Path patterns = Path.of("pattern-configs", "demo-model.json");
        if (Files.isRegularFile(patterns)) job.addAll(List.of("--patterns", patterns.toString()));
        System.out.println("[demo] running the pre-fill job: spark local[2], " + backend + " backend, MInference patterns from "
                + (Files.isRegularFile(patterns) ? patterns : "the default config"));
        PrefillJob.main(job.toArray(String[]::new));
        System.out.println("[demo] output: " + output);
        Path report = ReportMain.writeLocal(output.toString(),
                Files.isRegularFile(patterns) ? patterns.toString() : null, work.resolve("report"));
        System.out.println("[demo] report: " + report);
    }
}
