package io.prefill.search;

import io.prefill.sparse.HeadPattern;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** A Markdown report of a search: pattern counts per layer, then every head's candidates and scores. */
public final class SearchReport {
    private SearchReport() { }

    public static void write(SearchOutcome outcome, Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        Files.writeString(file, markdown(outcome));
    }

    public static String markdown(SearchOutcome o) {
        StringBuilder md = new StringBuilder();
        md.append("# Pattern search: ").append(o.config().model()).append("\n\n");
        md.append(String.format(Locale.ROOT, "- target cost: %.3f of dense causal attention (computed entries after "
            + "64x64 block rounding, as the kernels compute them)%n", o.options().targetCost()));
        md.append("- min_sparse_length: ").append(o.options().minSparseLength()).append('\n');
        md.append("- calibration documents: ");
        for (int i = 0; i < o.documentIds().size(); i++) {
            md.append(i == 0 ? "" : ", ").append(o.documentIds().get(i)).append(" (")
                .append(o.documentLengths().get(i)).append(" tokens)");
        }
        md.append('\n');
        md.append(String.format(Locale.ROOT, "- search time: %.1f s (%s backend)%n", o.seconds(), o.backend()));
        md.append("- error: relative L2 error of the head's attention output against dense"
            + (o.options().scoredRows() == SearchOptions.ScoredRows.LAST_BLOCK
                ? " on the last 64-row query block, whose last row becomes the first token (`--scored-rows last-block`)" : "")
            + "; recall: dense softmax "
            + "mass inside the plan, mean over ").append(o.options().recallRows()).append(" sampled rows; both averaged "
            + "over the documents. Budgets are fitted on the longest document.\n");
        boolean adaptive = o.options().families().contains(PatternFamily.ADAPTIVE);
        if (adaptive) {
            md.append("- adaptive: its columns and diagonals follow each document's attention mass, so its cost does too. "
                + "One gamma serves every document: the largest of ").append(gammas()).append(" whose cost, measured "
                + "on each document (64x64 block rounding, as above) and averaged, stays within the target; the "
                + "candidates show that mean and, in brackets, the lowest and highest per-document cost. The other "
                + "families are fitted on each document. On other prompts an adaptive head computes what their "
                + "attention needs, between its min_budget and max_budget plans.\n");
        }
        md.append('\n');

        List<String> names = new ArrayList<>(List.of("dense", "a_shape", "vertical_slash", "block_sparse"));
        if (adaptive) names.add("adaptive");
        md.append("## Patterns per layer\n\n| layer | ").append(String.join(" | ", names))
            .append(" | mean cost | mean score |\n|---:|").append("---:|".repeat(names.size() + 2)).append('\n');
        for (int l = 0; l < o.config().numLayers(); l++) {
            Map<String, Integer> counts = new LinkedHashMap<>();
            for (String name : names) counts.put(name, 0);
            double score = 0, cost = 0;
            for (int h = 0; h < o.config().numHeads(); h++) {
                counts.merge(name(o.config().pattern(l, h)), 1, Integer::sum);
                score += o.head(l, h).chosen().score();
                cost += o.head(l, h).chosen().cost();
            }
            md.append("| ").append(l);
            for (int c : counts.values()) md.append(" | ").append(c);
            int heads = o.config().numHeads();
            md.append(String.format(Locale.ROOT, " | %.4f | %.4f |%n", cost / heads, score / heads));
        }

        md.append("\n## Heads\n\nchosen pattern, its cost, error, recall and score; then every candidate's error "
            + "(cost) at the same target.\n\n| layer | head | chosen | cost | error | recall | score | candidates |\n"
            + "|---:|---:|---|---:|---:|---:|---:|---|\n");
        for (int l = 0; l < o.config().numLayers(); l++) {
            for (int h = 0; h < o.config().numHeads(); h++) {
                HeadOutcome head = o.head(l, h);
                CandidateScore c = head.chosen();
                md.append(String.format(Locale.ROOT, "| %d | %d | %s | %.4f | %.4f | %.4f | %.4f | %s |%n", l, h,
                    describe(c.pattern()) + (head.pinned() ? " (pinned)" : "")
                        + (!head.pinned() && c.cost() > o.options().targetCost() * 1.1 ? " (over target: no family fits)" : ""),
                    c.cost(), c.error(), c.recall(),
                    c.score(), candidates(head)));
            }
        }
        return md.toString();
    }

    /** Every candidate's error and cost; for one fitted over all documents, its per-document cost range too. */
    private static String candidates(HeadOutcome head) {
        StringBuilder s = new StringBuilder();
        for (CandidateScore c : head.candidates()) {
            s.append(s.length() == 0 ? "" : "; ").append(describe(c.pattern()))
                .append(String.format(Locale.ROOT, " %.4f (%.3f", c.error(), c.cost()));
            if (c.family().fittedOverDocuments()) {
                s.append(String.format(Locale.ROOT, " [%.3f-%.3f]", c.lowestCost(), c.highestCost()));
            }
            s.append(')');
        }
        return s.toString();
    }

    private static String gammas() {
        StringBuilder s = new StringBuilder();
        for (int b = PatternFamily.ADAPTIVE.minBudget(); b <= PatternFamily.ADAPTIVE.maxBudget(0); b++) {
            s.append(s.length() == 0 ? "" : ", ").append(((HeadPattern.Adaptive) PatternFamily.ADAPTIVE.pattern(b)).gamma());
        }
        return s.toString();
    }

    static String describe(HeadPattern p) {
        if (p instanceof HeadPattern.AShape a) return "a_shape(" + a.nInit() + ", " + a.nLocal() + ")";
        if (p instanceof HeadPattern.VerticalSlash vs) return "vertical_slash(" + vs.verticalSize() + ", " + vs.slashSize() + ")";
        if (p instanceof HeadPattern.BlockSparse bs) return "block_sparse(" + bs.topBlocks() + ")";
        if (p instanceof HeadPattern.Adaptive a) return "adaptive(" + a.gamma() + ", " + a.minBudget() + ", " + a.maxBudget() + ")";
        return "dense";
    }

    private static String name(HeadPattern p) {
        if (p instanceof HeadPattern.AShape) return "a_shape";
        if (p instanceof HeadPattern.VerticalSlash) return "vertical_slash";
        if (p instanceof HeadPattern.BlockSparse) return "block_sparse";
        if (p instanceof HeadPattern.Adaptive) return "adaptive";
        return "dense";
    }
}
