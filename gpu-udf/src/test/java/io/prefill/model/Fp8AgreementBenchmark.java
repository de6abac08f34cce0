package io.prefill.model;

import com.fasterxml.jackson.databind.JsonNode;
import io.prefill.cpu.CpuForwardPass;
import io.prefill.engine.EngineOptions;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What FP8 projection weights cost in accuracy, on the cpu backend (or cuda, with --backend cuda:
 * FP8 GEMMs on Hopper's tensor cores against the bf16 ones): each needle prompt is
 * pre-filled (dense) with the weights as stored and with FP8 weights quantised at load, and the
 * first tokens compared: how often they agree, how often each is the needle's answer, and how far
 * the log-probability of the as-stored first token moves (max and mean |Δ logprob|), and the
 * KL divergence of the FP8 next-token distribution from the as-stored one (nats). Not a test:
 * results go in BENCHMARKS.md.
 * <pre>
 *   Fp8AgreementBenchmark --model DIR --prompts A.jsonl[,B.jsonl...] [--count N] [--backend cpu|cuda]
 * </pre>
 */
public final class Fp8AgreementBenchmark {
    public static void main(String[] args) throws IOException {
        Path modelDir = null;
        List<Path> files = new ArrayList<>();
        int count = Integer.MAX_VALUE;
        String backend = "cpu";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--model" -> modelDir = Path.of(args[++i]);
                case "--prompts" -> { for (String f : args[++i].split(",")) files.add(Path.of(f.trim())); }
                case "--count" -> count = Integer.parseInt(args[++i]);
                case "--backend" -> backend = args[++i];
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (modelDir == null || files.isEmpty()) throw new IllegalArgumentException("--model and --prompts are required");
        for (Path f : files) if (!Files.isRegularFile(f)) throw new IllegalArgumentException("no prompt file " + f);

        try (LoadedModel stored = LoadedModel.open(modelDir); LoadedModel fp8 = LoadedModel.open(modelDir, WeightFormat.FP8)) {
            ModelConfig c = stored.config();
            PatternConfig dense = PatternConfig.uniform("dense", c.numLayers(), c.numHeads(), 0, new HeadPattern.Dense());
            boolean cuda = backend.equals("cuda");
            io.prefill.engine.ForwardBackend a = cuda
                    ? io.prefill.cuda.forward.CudaForwardPass.create(c, stored.weights(), dense,
                            io.prefill.cuda.forward.CudaBackendOptions.defaults())
                    : new CpuForwardPass(c, stored.weights(), dense);
            io.prefill.engine.ForwardBackend b = cuda
                    ? io.prefill.cuda.forward.CudaForwardPass.create(c, fp8.weights(), dense,
                            io.prefill.cuda.forward.CudaBackendOptions.defaults())
                    : new CpuForwardPass(c, fp8.weights(), dense);
            System.out.printf(Locale.ROOT, "[fp8] %s: %s against %s weights, dense pre-fill on the %s%n",
                    modelDir.getFileName(), fp8.weightsLabel(), stored.weightsLabel(), backend);
            System.out.println("file\tprompts\tfirst_token_agree\tcorrect_" + stored.weightsLabel() + "\tcorrect_fp8"
                    + "\tmax_abs_dlogprob\tmean_abs_dlogprob\tmax_kl\tmean_kl");
            for (Path f : files) {
                int n = 0, agree = 0, correctA = 0, correctB = 0;
                double maxDelta = 0, sumDelta = 0, maxKl = 0, sumKl = 0;
                for (String line : Files.readAllLines(f)) {
                    if (line.isBlank()) continue;
                    if (n == count) break;
                    JsonNode row = ModelConfigJson.MAPPER.readTree(line);
                    if (!row.hasNonNull("text") || !row.hasNonNull("answer")) {
                        throw new IllegalArgumentException(f + ": row '" + row.path("id").asText() + "' needs text and answer");
                    }
                    EngineOptions job = EngineOptions.defaults();
                    int[] tokens = stored.tokenizer().encode(job.template().render(row.get("text").asText(), null),
                            job.addSpecialTokens());
                    double[] la = logSoftmax(a.forward(tokens).lastLogits());
                    double[] lb = logSoftmax(b.forward(tokens).lastLogits());
                    int ta = argmax(la);
                    int tb = argmax(lb);
                    String answer = row.get("answer").asText().trim();
                    n++;
                    if (ta == tb) agree++;
                    if (stored.tokenizer().tokenText(ta).trim().equals(answer)) correctA++;
                    if (fp8.tokenizer().tokenText(tb).trim().equals(answer)) correctB++;
                    double delta = Math.abs(la[ta] - lb[ta]);
                    maxDelta = Math.max(maxDelta, delta);
                    sumDelta += delta;
                    double kl = klDivergence(la, lb);
                    maxKl = Math.max(maxKl, kl);
                    sumKl += kl;
                }
                System.out.printf(Locale.ROOT, "%s\t%d\t%d\t%d\t%d\t%.3g\t%.3g\t%.3g\t%.3g%n", f.getFileName(), n, agree,
                        correctA, correctB, maxDelta, n == 0 ? 0 : sumDelta / n, maxKl, n == 0 ? 0 : sumKl / n);
            }
        }
    }

    private static double[] logSoftmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) max = Math.max(max, v);
        double sum = 0;
        for (float v : logits) sum += Math.exp(v - max);
        double log = max + Math.log(sum);
        double[] out = new double[logits.length];
        for (int i = 0; i < logits.length; i++) out[i] = logits[i] - log;
        return out;
    }

    /** KL(p || q) in nats over the whole vocabulary, from log-probabilities. */
    private static double klDivergence(double[] logP, double[] logQ) {
        double kl = 0;
        for (int i = 0; i < logP.length; i++) kl += Math.exp(logP[i]) * (logP[i] - logQ[i]);
        return kl;
    }

    private static int argmax(double[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }
}
