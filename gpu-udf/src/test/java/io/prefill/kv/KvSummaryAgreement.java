package io.prefill.kv;

import com.fasterxml.jackson.databind.JsonNode;
import io.prefill.cpu.CpuDecodeStep;
import io.prefill.cpu.CpuForwardPass;
import io.prefill.engine.EngineOptions;
import io.prefill.engine.ForwardBackend;
import io.prefill.model.LoadedModel;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Does a KV summary keep what a later token needs? On a prompt whose answer is its first token
 * (a needle prompt: haystack, one planted fact, a question at the end), the prompt minus its last
 * tokens is pre-filled with KV summaries of several budgets, and those held-out tokens are then
 * decoded on top of each summary ({@link CpuDecodeStep}). Holding out the last token only, the
 * question is inside the summary (SnapKV's setting); holding out the whole question, the summary
 * is of the document alone and the question comes after it, as when a stored summary is asked
 * something later. The reference is the same decode over the whole cache (every position kept, the
 * same bf16 rows), which answers as the pre-fill of the whole prompt does.
 *
 * <p>Each budget is measured three ways with the same number of kept positions per layer and KV
 * head: SnapKV (the product's selector: sinks, the top-k positions voted by the observation
 * window's queries, the window), the most recent positions only, and the attention sinks plus the
 * most recent positions (StreamingLLM's cache).
 */
final class KvSummaryAgreement {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** How the kept positions are chosen. */
    enum Method {
        SNAPKV("snapkv"), RECENT("recent"), SINKS_RECENT("sinks+recent");

        final String label;

        Method(String label) { this.label = label; }

        /** Options that keep {@code kept} positions of a long prompt, given SnapKV's at top-k. */
        KvSummaryOptions options(KvSummaryOptions snap) {
            int kept = snap.window() + snap.topK() + snap.sinkTokens();
            return switch (this) {
                case SNAPKV -> snap;
                case RECENT -> new KvSummaryOptions(kept, 0, 0, 1, KvSummaryOptions.Pooling.MAX, 0);
                case SINKS_RECENT -> new KvSummaryOptions(kept - snap.sinkTokens(), 0, snap.sinkTokens(), 1,
                        KvSummaryOptions.Pooling.MAX, 0);
            };
        }
    }

    /** One needle prompt as the job would pre-fill it. */
    record Prompt(String id, int length, String answer, int[] tokens) { }

    /** Pre-fills a prefix once and returns one summary per option set, in order. */
    @FunctionalInterface
    interface Summarizer {
        List<KvSummary> summaries(int[] prefix, List<KvSummaryOptions> options);
    }

    /** What one prompt gave: the full cache's token, and per budget and method the decoded token. */
    record Outcome(Prompt prompt, int fullToken, boolean fullCorrect, int[][] tokens, boolean[][] correct) {
        boolean agrees(int budget, Method m) { return tokens[budget][m.ordinal()] == fullToken; }

        boolean correct(int budget, Method m) { return correct[budget][m.ordinal()]; }
    }

    private final LoadedModel model;
    private final CpuDecodeStep decode;
    private final Summarizer summarizer;
    private final List<KvSummaryOptions> budgets;

    /** @param budgets SnapKV's options per budget; the baselines keep as many positions */
    KvSummaryAgreement(LoadedModel model, Summarizer summarizer, List<KvSummaryOptions> budgets) {
        this.model = model;
        this.decode = new CpuDecodeStep(model.config(), model.weights());
        this.summarizer = summarizer;
        this.budgets = List.copyOf(budgets);
    }

    /** SnapKV options at each top-k, with the product's default window, sinks and pooling. */
    static List<KvSummaryOptions> snapBudgets(int... topKs) {
        List<KvSummaryOptions> out = new ArrayList<>();
        for (int k : topKs) out.add(KvSummaryOptions.defaults().withTopK(k).withMaxBytes(0));
        return out;
    }

    /** One forward pass on the cpu backend feeds every option set's collector. */
    static Summarizer cpu(CpuForwardPass pass, int numLayers, int numKvHeads) {
        return (prefix, options) -> {
            List<KvSummaryCollector> collectors = new ArrayList<>();
            for (KvSummaryOptions o : options) collectors.add(new KvSummaryCollector(numLayers, numKvHeads, o));
            pass.forward(prefix, (layer, n, d, q, k, v) -> {
                for (KvSummaryCollector c : collectors) c.onLayer(layer, n, d, q, k, v);
            });
            List<KvSummary> out = new ArrayList<>();
            for (KvSummaryCollector c : collectors) out.add(c.summary());
            return out;
        };
    }

    /** Any backend with KV summaries (the cuda one selects on the device): one pre-fill per option set. */
    static Summarizer backend(ForwardBackend backend) {
        return (prefix, options) -> {
            List<KvSummary> out = new ArrayList<>();
            for (KvSummaryOptions o : options) out.add(backend.forward(prefix, o).kvSummary());
            return out;
        };
    }

    List<KvSummaryOptions> budgets() { return budgets; }

    /**
     * @param heldOut the prompt's last tokens decoded on top of the summary: 1 summarises the
     *                question with the document (it lies in the observation window), the
     *                question's length summarises the document alone and asks the question after
     */
    Outcome measure(Prompt p, int heldOut) {
        int n = p.tokens().length;
        if (heldOut < 1 || heldOut >= n) {
            throw new IllegalArgumentException(p.id() + ": cannot hold out " + heldOut + " of " + n + " tokens");
        }
        int[] prefix = Arrays.copyOf(p.tokens(), n - heldOut);
        int[] fed = Arrays.copyOfRange(p.tokens(), n - heldOut, n);
        List<KvSummaryOptions> options = new ArrayList<>();
        options.add(KvSummaryOptions.keepEverything(prefix.length));
        for (KvSummaryOptions b : budgets) for (Method m : Method.values()) options.add(m.options(b));
        List<KvSummary> summaries = summarizer.summaries(prefix, options);
        int full = next(summaries.get(0), fed, prefix.length);
        int methods = Method.values().length;
        int[][] tokens = new int[budgets.size()][methods];
        boolean[][] correct = new boolean[budgets.size()][methods];
        for (int b = 0; b < budgets.size(); b++) {
            for (int m = 0; m < methods; m++) {
                tokens[b][m] = next(summaries.get(1 + b * methods + m), fed, prefix.length);
                correct[b][m] = isAnswer(tokens[b][m], p.answer());
            }
        }
        return new Outcome(p, full, isAnswer(full, p.answer()), tokens, correct);
    }

    private int next(KvSummary summary, int[] fed, int position) {
        float[] logits = decode.logits(KvCache.of(summary), fed, position);
        int best = 0;
        for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }

    private boolean isAnswer(int token, String answer) {
        return model.tokenizer().tokenText(token).trim().equals(answer.trim());
    }

    /**
     * Needle prompts (JSON lines of bench/needle/write_prompts.py: id, text, answer, length), each
     * tokenized as the job does with its default options.
     */
    static List<Prompt> readPrompts(LoadedModel model, Path jsonl, int limit) {
        List<Prompt> out = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(jsonl)) {
                if (line.isBlank()) continue;
                if (out.size() == limit) break;
                JsonNode row = JSON.readTree(line);
                String id = row.path("id").asText();
                if (!row.hasNonNull("text") || !row.hasNonNull("answer")) {
                    throw new IllegalArgumentException(jsonl + ": row '" + id + "' needs text and answer");
                }
                EngineOptions job = EngineOptions.defaults();
                int[] tokens = model.tokenizer().encode(job.template().render(row.get("text").asText(), null),
                        job.addSpecialTokens());
                out.add(new Prompt(id, row.path("length").asInt(tokens.length), row.get("answer").asText(), tokens));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read needle prompts " + jsonl, e);
        }
        return out;
    }
}
