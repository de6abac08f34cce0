package io.prefill.search;

import io.prefill.model.ModelConfig;
import io.prefill.model.ModelWeights;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Offline pattern search: a dense pre-fill of every calibration document, and for each layer and
 * query head, while that layer's Q, K and V are at hand, every candidate family fitted to the
 * target cost and scored against the head's dense output (on the CPU reference or on the device,
 * by the {@link CalibrationScorer} given). Scores are averaged over
 * documents; budgets come from the longest document (budgets are absolute token counts, so they
 * meet the target at that length). The adaptive family, whose cost follows the input, is fitted
 * over all documents instead: one gamma, whose mean measured cost meets the target.
 */
public final class PatternSearch {
    private PatternSearch() { }

    /**
     * @param modelName written into the config
     * @param pinned    optional config (null for none) whose dense heads stay dense and are not searched
     * @throws IllegalArgumentException for no documents or one shorter than min_sparse_length
     * @throws io.prefill.sparse.PatternConfigException if pinned does not match the model's shape
     */
    public static SearchOutcome run(String modelName, ModelConfig model, ModelWeights weights,
                                    List<CalibrationDocument> documents, SearchOptions options,
                                    PatternConfig pinned, String pinnedSource) {
        checkInputs(model, documents, options, pinned, pinnedSource);
        return run(modelName, model, new CpuCalibrationScorer(modelName, model, weights), documents, options,
            pinned, pinnedSource);
    }

    /**
     * The search with any backend's scorer: every document scored, scores averaged per head.
     *
     * @throws IllegalArgumentException for no documents or one shorter than min_sparse_length
     * @throws io.prefill.sparse.PatternConfigException if pinned does not match the model's shape
     */
    public static SearchOutcome run(String modelName, ModelConfig model, CalibrationScorer scorer,
                                    List<CalibrationDocument> documents, SearchOptions options,
                                    PatternConfig pinned, String pinnedSource) {
        checkInputs(model, documents, options, pinned, pinnedSource);
        long start = System.nanoTime();
        int layers = model.numLayers();
        int heads = model.numHeads();
        boolean[][] skip = new boolean[layers][heads];
        for (int l = 0; l < layers; l++) for (int h = 0; h < heads; h++) skip[l][h] = isPinned(pinned, l, h);
        // perDocument[doc][layer][head] = one score per family
        List<List<List<List<CandidateScore>>>> perDocument = new ArrayList<>();
        for (int i = 0; i < documents.size(); i++) {
            CalibrationDocument doc = documents.get(i);
            long t0 = System.nanoTime();
            perDocument.add(scorer.score(doc, options, skip, documents.size()));
            System.err.printf(Locale.ROOT, "[pattern-search] document %d/%d '%s' (%d tokens) scored on %s in %.1f s%n",
                i + 1, documents.size(), doc.id(), doc.tokens().length, scorer.backend(), (System.nanoTime() - t0) / 1e9);
        }
        int longest = longestDocument(documents);
        List<List<HeadOutcome>> outcomes = new ArrayList<>();
        List<List<HeadPattern>> patterns = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            List<HeadOutcome> row = new ArrayList<>();
            List<HeadPattern> patternRow = new ArrayList<>();
            for (int h = 0; h < heads; h++) {
                HeadOutcome outcome = isPinned(pinned, l, h) ? pinnedOutcome()
                    : combine(perDocument, l, h, longest, options, scorer.errorFloor());
                row.add(outcome);
                patternRow.add(outcome.chosen().pattern());
            }
            outcomes.add(row);
            patterns.add(patternRow);
        }
        PatternConfig config = new PatternConfig(modelName, layers, heads, options.minSparseLength(), patterns);
        return new SearchOutcome(config, outcomes, options,
            documents.stream().map(CalibrationDocument::id).toList(),
            documents.stream().map(d -> d.tokens().length).toList(), (System.nanoTime() - start) / 1e9,
            scorer.backend());
    }

    public static void checkInputs(ModelConfig model, List<CalibrationDocument> documents, SearchOptions options,
                            PatternConfig pinned, String pinnedSource) {
        if (pinned != null) pinned.validateFor(model.numLayers(), model.numHeads(), pinnedSource);
        if (documents.isEmpty()) throw new IllegalArgumentException("no calibration documents");
        for (CalibrationDocument doc : documents) {
            if (doc.tokens().length < options.minSparseLength()) {
                throw new IllegalArgumentException("calibration document '" + doc.id() + "' has " + doc.tokens().length
                    + " tokens, fewer than min_sparse_length " + options.minSparseLength()
                    + ": every head runs dense at that length, so it cannot tell the patterns apart"
                    + " (use longer documents or a smaller --min-sparse-length)");
            }
            if (doc.tokens().length > model.maxPositionEmbeddings()) {
                throw new IllegalArgumentException("calibration document '" + doc.id() + "' has " + doc.tokens().length
                    + " tokens, more than the model's max_position_embeddings " + model.maxPositionEmbeddings());
            }
        }
    }

    /**
     * Scores averaged over documents, each family's pattern taken from the longest document; a
     * family fitted over all documents gets its largest step whose mean cost is within the target
     * (its first step when none is), that one pattern measured on every document.
     */
    private static HeadOutcome combine(List<List<List<List<CandidateScore>>>> perDocument, int layer, int head,
                                       int longest, SearchOptions options, double errorFloor) {
        List<CandidateScore> averaged = new ArrayList<>();
        for (int f = 0; f < options.families().size(); f++) {
            List<CandidateScore> byDocument = new ArrayList<>();
            for (List<List<List<CandidateScore>>> doc : perDocument) byDocument.add(doc.get(layer).get(head).get(f));
            if (options.families().get(f).fittedOverDocuments()) {
                averaged.add(stepWithinTarget(byDocument, options.targetCost()));
            } else {
                averaged.add(mean(byDocument, byDocument.get(longest).pattern()));
            }
        }
        return new HeadOutcome(HeadSearch.choose(averaged, options, errorFloor), averaged, false);
    }

    /** The largest step whose mean cost over the documents is within the target, else the first step. */
    private static CandidateScore stepWithinTarget(List<CandidateScore> byDocument, double targetCost) {
        int steps = byDocument.get(0).steps().size();
        CandidateScore chosen = null;
        for (int s = 0; s < steps; s++) {
            List<CandidateScore> step = new ArrayList<>();
            for (CandidateScore d : byDocument) step.add(d.steps().get(s));
            CandidateScore mean = mean(step, step.get(0).pattern());
            if (chosen == null || mean.cost() <= targetCost) chosen = mean;
        }
        return chosen;
    }

    /** Cost, error and recall averaged over the documents, with the lowest and highest cost. */
    private static CandidateScore mean(List<CandidateScore> byDocument, HeadPattern pattern) {
        double cost = 0, error = 0, recall = 0;
        double lowest = Double.POSITIVE_INFINITY, highest = Double.NEGATIVE_INFINITY;
        for (CandidateScore s : byDocument) {
            cost += s.cost();
            error += s.error();
            recall += s.recall();
            lowest = Math.min(lowest, s.cost());
            highest = Math.max(highest, s.cost());
        }
        int docs = byDocument.size();
        return new CandidateScore(byDocument.get(0).family(), pattern, cost / docs, error / docs, recall / docs,
            lowest, highest, List.of());
    }

    private static HeadOutcome pinnedOutcome() {
        return new HeadOutcome(new CandidateScore(null, new HeadPattern.Dense(), 1, 0, 1), List.of(), true);
    }

    private static boolean isPinned(PatternConfig pinned, int layer, int head) {
        return pinned != null && pinned.pattern(layer, head) instanceof HeadPattern.Dense;
    }

    private static int longestDocument(List<CalibrationDocument> documents) {
        int best = 0;
        for (int i = 1; i < documents.size(); i++) {
            if (documents.get(i).tokens().length > documents.get(best).tokens().length) best = i;
        }
        return best;
    }
}
