package io.prefill.search;

import io.prefill.cpu.CpuForwardPass;
import io.prefill.model.ModelConfig;
import io.prefill.model.ModelWeights;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * The search's scoring on the CPU reference: a dense {@link CpuForwardPass} whose layer hook hands
 * each head's Q and its KV head's K/V (after RoPE) to {@link HeadSearch}.
 */
public final class CpuCalibrationScorer implements CalibrationScorer {
    private final ModelConfig model;
    private final CpuForwardPass forward;

    public CpuCalibrationScorer(String modelName, ModelConfig model, ModelWeights weights) {
        this.model = model;
        PatternConfig dense = PatternConfig.uniform(modelName, model.numLayers(), model.numHeads(), 0,
            new HeadPattern.Dense());
        this.forward = new CpuForwardPass(model, weights, dense);
    }

    @Override
    public List<List<List<CandidateScore>>> score(CalibrationDocument document, SearchOptions options, boolean[][] skip,
                                                  int documents) {
        List<List<List<CandidateScore>>> byLayer = new ArrayList<>();
        forward.forward(document.tokens(), (layer, n, d, q, k, v) -> {
            List<List<CandidateScore>> byHead = new ArrayList<>();
            for (int h = 0; h < model.numHeads(); h++) {
                if (skip[layer][h]) { byHead.add(List.of()); continue; }
                int g = h / model.groupSize();
                byHead.add(HeadSearch.evaluate(new HeadInputs(q[h], k[g], v[g], n, d), options, documents));
            }
            byLayer.add(byHead);
        });
        return byLayer;
    }

    @Override
    public String backend() { return "cpu"; }
}
