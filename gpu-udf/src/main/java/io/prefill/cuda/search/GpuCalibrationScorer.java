package io.prefill.cuda.search;

import io.prefill.cuda.forward.CudaBackendOptions;
import io.prefill.cuda.forward.CudaForwardPass;
import io.prefill.model.ModelConfig;
import io.prefill.model.ModelWeights;
import io.prefill.search.CalibrationDocument;
import io.prefill.search.CalibrationScorer;
import io.prefill.search.CandidateScore;
import io.prefill.search.SearchOptions;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;

import java.util.List;

/**
 * The search's scoring on one GPU: a dense {@link CudaForwardPass} whose layer hook
 * ({@link LayerScoring}) fits and scores every family for all heads of the layer on the device,
 * while the layer's Q, K and V are there (the adaptive family: every gamma scored, as on the CPU).
 */
public final class GpuCalibrationScorer implements CalibrationScorer, AutoCloseable {
    private final CudaForwardPass forward;

    private GpuCalibrationScorer(CudaForwardPass forward) { this.forward = forward; }

    /** Loads the checkpoint's weights onto the device (fails fast on a model the kernels cannot run). */
    public static GpuCalibrationScorer open(String modelName, ModelConfig model, ModelWeights weights,
                                            CudaBackendOptions options) {
        return new GpuCalibrationScorer(CudaForwardPass.create(model, weights, dense(modelName, model), options));
    }

    /** Seeded random weights of the model's shapes generated on the device (benchmarks of real sizes). */
    public static GpuCalibrationScorer synthetic(String modelName, ModelConfig model, long seed,
                                                 CudaBackendOptions options) {
        return new GpuCalibrationScorer(CudaForwardPass.synthetic(model, seed, dense(modelName, model), options));
    }

    private static PatternConfig dense(String modelName, ModelConfig model) {
        return PatternConfig.uniform(modelName, model.numLayers(), model.numHeads(), 0, new HeadPattern.Dense());
    }

    @Override
    public List<List<List<CandidateScore>>> score(CalibrationDocument document, SearchOptions options, boolean[][] skip,
                                                  int documents) {
        LayerScoring scoring = new LayerScoring(forward.module(), forward.stream(), options, skip,
                forward.config().numLayers(), documents);
        forward.forward(document.tokens(), scoring);
        return scoring.scores();
    }

    @Override
    public String backend() { return "cuda"; }

    /**
     * Outputs are bf16 (8 significant bits: 2^-9 relative rounding per element), so a plan with
     * every needed entry measures ~1e-3 against dense here (0.7-1.1e-3 on the planted heads of
     * PlantedModelGpuSearchTest), where the cpu measures ~1e-7.
     */
    @Override
    public double errorFloor() { return 2e-3; }

    /** The dense pre-fill engine (benchmarks time it alone to separate the scoring's share). */
    public CudaForwardPass forwardPass() { return forward; }

    @Override
    public void close() { forward.close(); }
}
