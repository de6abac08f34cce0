package io.prefill.search;

import io.prefill.sparse.PatternConfig;

import java.util.List;

/**
 * What a search produced: the config (one pattern per layer and head) and, per layer and head,
 * how every candidate scored.
 *
 * @param documentLengths token counts of the calibration documents, in input order
 * @param seconds         wall time of the search
 * @param backend         where the documents were scored ("cpu", "cuda")
 */
public record SearchOutcome(PatternConfig config, List<List<HeadOutcome>> heads, SearchOptions options,
                            List<String> documentIds, List<Integer> documentLengths, double seconds, String backend) {
    public SearchOutcome {
        heads = List.copyOf(heads.stream().map(List::copyOf).toList());
        documentIds = List.copyOf(documentIds);
        documentLengths = List.copyOf(documentLengths);
    }

    public HeadOutcome head(int layer, int head) { return heads.get(layer).get(head); }
}
