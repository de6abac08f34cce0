package io.prefill.kv;

import io.prefill.cpu.CpuForwardPass;
import io.prefill.cuda.forward.CudaBackendOptions;
import io.prefill.engine.Backends;
import io.prefill.engine.ForwardBackend;
import io.prefill.model.LoadedModel;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;
import io.prefill.udf.ForwardBackends;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * First-token agreement of decoding from KV summaries against the whole cache, on needle prompts
 * of a trained model ({@link KvSummaryAgreement} says how), per prompt length, budget and method.
 * Not a test: results go in BENCHMARKS.md. The pre-fill is dense (a summary question, not a sparse
 * attention one); the decode step runs on the cpu.
 * <pre>
 *   KvSummaryAgreementBenchmark --model DIR --prompts A.jsonl[,B.jsonl...] [--backend cpu|cuda]
 *       [--top-k 64,256,1024] [--held-out 1,12] [--count N] [--threads N] [--out FILE.tsv]
 * </pre>
 * {@code --held-out}: how many of each prompt's last tokens are decoded on top of the summary (1:
 * the question is summarised with the document; 12, the needle prompts' question: the document
 * alone is summarised).
 * <pre>
 * </pre>
 */
public final class KvSummaryAgreementBenchmark {
    public static void main(String[] args) throws IOException {
        Path modelDir = null, out = null;
        List<Path> files = new ArrayList<>();
        String backendName = Backends.CPU;
        int[] topKs = {64, 256, 1024};
        int count = Integer.MAX_VALUE;
        int[] heldOuts = {1, 12};
        int threads = Runtime.getRuntime().availableProcessors();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--model" -> modelDir = Path.of(args[++i]);
                case "--prompts" -> { for (String f : args[++i].split(",")) files.add(Path.of(f.trim())); }
                case "--backend" -> backendName = Backends.validate(args[++i]);
                case "--top-k" -> topKs = Arrays.stream(args[++i].split(",")).mapToInt(s -> Integer.parseInt(s.trim())).toArray();
                case "--count" -> count = Integer.parseInt(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--held-out" -> heldOuts = Arrays.stream(args[++i].split(",")).mapToInt(s -> Integer.parseInt(s.trim())).toArray();
                case "--out" -> out = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (modelDir == null || files.isEmpty()) throw new IllegalArgumentException("--model and --prompts are required");
        for (Path f : files) if (!Files.isRegularFile(f)) throw new IllegalArgumentException("no prompt file " + f);

        StringBuilder tsv = new StringBuilder("length\tprompts\theld_out\tmethod\ttop_k\tkept_positions\tkept_share\t"
                + "agree_with_full\tcorrect\tfull_correct\n");
        try (LoadedModel model = LoadedModel.open(modelDir)) {
            var c = model.config();
            PatternConfig dense = PatternConfig.uniform("dense", c.numLayers(), c.numHeads(), 0, new HeadPattern.Dense());
            ForwardBackend backend = backendName.equals(Backends.CPU)
                    ? new CpuForwardPass(c, model.weights(), dense)
                    : ForwardBackends.create(backendName, model, dense, CudaBackendOptions.defaults());
            try (backend) {
                KvSummaryAgreement.Summarizer summarizer = backend instanceof CpuForwardPass cpu
                        ? KvSummaryAgreement.cpu(cpu, c.numLayers(), c.numKvHeads())
                        : KvSummaryAgreement.backend(backend);
                KvSummaryAgreement agreement = new KvSummaryAgreement(model, summarizer, KvSummaryAgreement.snapBudgets(topKs));
                System.out.printf(Locale.ROOT, "[kv-agreement] %s on %s, top-k %s, %d prompt file(s)%n",
                        modelDir.getFileName(), backend.name(), Arrays.toString(topKs), files.size());
                if (out != null) Files.writeString(out, tsv.toString());
                for (Path f : files) {
                    List<KvSummaryAgreement.Prompt> prompts = KvSummaryAgreement.readPrompts(model, f, count);
                    for (int h : heldOuts) {
                        String rows = run(agreement, prompts, h, f, threads);
                        tsv.append(rows);
                        // written as each cell is done, so that a run cut short keeps what it measured
                        if (out != null) Files.writeString(out, rows, StandardOpenOption.APPEND);
                    }
                }
            }
        }
        System.out.print(tsv);
    }

    private static String run(KvSummaryAgreement agreement, List<KvSummaryAgreement.Prompt> prompts, int heldOut,
                              Path file, int threads) {
        long start = System.nanoTime();
        AtomicInteger done = new AtomicInteger();
        // prompts in parallel: the decode steps run on the cpu, the backend takes one pre-fill at a time
        ForkJoinPool pool = new ForkJoinPool(threads);
        List<KvSummaryAgreement.Outcome> outcomes;
        try {
            outcomes = pool.submit(() -> prompts.parallelStream().map(p -> {
                KvSummaryAgreement.Outcome o = agreement.measure(p, heldOut);
                int k = done.incrementAndGet();
                if (k % 10 == 0 || k == prompts.size()) {
                    System.out.printf(Locale.ROOT, "[kv-agreement] %s, %d held out: %d/%d prompts, %.1f s%n",
                            file.getFileName(), heldOut, k, prompts.size(), (System.nanoTime() - start) / 1e9);
                }
                return o;
            }).toList()).get();
        } catch (InterruptedException | ExecutionException e) {
            throw new IllegalStateException("measuring " + file + " failed", e);
        } finally {
            pool.shutdown();
        }
        StringBuilder tsv = new StringBuilder();
        int length = prompts.isEmpty() ? 0 : prompts.get(0).length();
        long fullCorrect = outcomes.stream().filter(KvSummaryAgreement.Outcome::fullCorrect).count();
        List<KvSummaryOptions> budgets = agreement.budgets();
        for (int b = 0; b < budgets.size(); b++) {
            int kept = budgets.get(b).keptPositions(length - heldOut);
            for (KvSummaryAgreement.Method m : KvSummaryAgreement.Method.values()) {
                int bb = b;
                long agree = outcomes.stream().filter(o -> o.agrees(bb, m)).count();
                long correct = outcomes.stream().filter(o -> o.correct(bb, m)).count();
                String row = String.format(Locale.ROOT, "%d\t%d\t%d\t%s\t%d\t%d\t%.4f\t%d\t%d\t%d%n", length,
                        outcomes.size(), heldOut, m.label, budgets.get(b).topK(), kept, (double) kept / length, agree, correct, fullCorrect);
                tsv.append(row);
                System.out.printf(Locale.ROOT, "[kv-agreement] length %d, %d held out, %s keeping %d positions (%.1f%%): "
                        + "agrees with the full cache on %d/%d, correct %d (full cache %d)%n", length, heldOut, m.label, kept,
                        100.0 * kept / length, agree, outcomes.size(), correct, fullCorrect);
            }
        }
        return tsv.toString();
    }
}
