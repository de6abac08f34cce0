package io.prefill.search;

import io.prefill.model.ModelConfig;
import io.prefill.model.ModelWeights;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * Offline pattern search: a dense pre-fill of every calibration document, and for each layer and
 * query head, while that layer's Q, K and V are at hand, every candidate family fitted to the
 * target cost and scored against the head's dense output (on the CPU reference or on the device,
 * by the {@link CalibrationScorer} given). Scores are averaged over
 * documents; budgets come from the longest document (budgets are absolute token counts, so they
 * meet the target at that length). A family whose cost follows the input (adaptive) is fitted on
 * the longest document only, which is scored first, and its pattern from there is measured as is
 * on the others: its averaged cost is that of the one head the config gets.
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
        // perDocument[doc][layer][head] = one score per family; the longest document is scored first,
        // so that the families fitted there only are measured with its patterns on the others
        int longest = longestDocument(documents);
        List<List<List<List<CandidateScore>>>> perDocument = new ArrayList<>(Collections.nCopies(documents.size(), null));
        int[] order = longestFirst(documents.size(), longest);
        for (int step = 0; step < order.length; step++) {
            int i = order[step];
            CalibrationDocument doc = documents.get(i);
            long t0 = System.nanoTime();
            perDocument.set(i, scorer.score(doc, options, skip, i == longest ? null : perDocument.get(longest)));
            System.err.printf(Locale.ROOT, "[pattern-search] document %d/%d '%s' (%d tokens) scored on %s in %.1f s%n",
                step + 1, documents.size(), doc.id(), doc.tokens().length, scorer.backend(), (System.nanoTime() - t0) / 1e9);
        }
        List<List<HeadOutcome>> outcomes = new ArrayList<>();
        List<List<HeadPattern>> patterns = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            List<HeadOutcome> row = new ArrayList<>();
            List<HeadPattern> patternRow = new ArrayList<>();
            for (int h = 0; h < heads; h++) {
                HeadOutcome outcome = isPinned(pinned, l, h) ? pinnedOutcome()
                    : combine(perDocument, l, h, longest, options);
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
     * Scores averaged over documents (with the lowest and highest per-document cost), each family's
     * pattern taken from the longest document.
     */
    private static HeadOutcome combine(List<List<List<List<CandidateScore>>>> perDocument, int layer, int head,
                                       int longest, SearchOptions options) {
        List<CandidateScore> averaged = new ArrayList<>();
        int families = options.families().size();
        for (int f = 0; f < families; f++) {
            double cost = 0, error = 0, recall = 0;
            double lowest = Double.POSITIVE_INFINITY, highest = Double.NEGATIVE_INFINITY;
            for (List<List<List<CandidateScore>>> doc : perDocument) {
                CandidateScore s = doc.get(layer).get(head).get(f);
                cost += s.cost();
                error += s.error();
                recall += s.recall();
                lowest = Math.min(lowest, s.cost());
                highest = Math.max(highest, s.cost());
            }
            int docs = perDocument.size();
            CandidateScore fromLongest = perDocument.get(longest).get(layer).get(head).get(f);
            averaged.add(new CandidateScore(fromLongest.family(), fromLongest.pattern(),
                cost / docs, error / docs, recall / docs, lowest, highest));
        }
        return new HeadOutcome(HeadSearch.choose(averaged, options), averaged, false);
    }

    private static HeadOutcome pinnedOutcome() {
        return new HeadOutcome(new CandidateScore(null, new HeadPattern.Dense(), 1, 0, 1), List.of(), true);
    }

    private static boolean isPinned(PatternConfig pinned, int layer, int head) {
        return pinned != null && pinned.pattern(layer, head) instanceof HeadPattern.Dense;
    }

    /** Document indices: the longest, then the others in input order. */
    private static int[] longestFirst(int documents, int longest) {
        int[] order = new int[documents];
        order[0] = longest;
        for (int i = 0, next = 1; i < documents; i++) if (i != longest) order[next++] = i;
        return order;
    }

    private static int longestDocument(List<CalibrationDocument> documents) {
        int best = 0;
        for (int i = 1; i < documents.size(); i++) {
            if (documents.get(i).tokens().length > documents.get(best).tokens().length) best = i;
        }
        return best;
    }
}
