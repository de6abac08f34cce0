package io.prefill.search;

import io.prefill.cuda.CudaAvailability;
import io.prefill.cuda.forward.CudaBackendOptions;
import io.prefill.cuda.search.GpuCalibrationScorer;
import io.prefill.model.ModelConfig;
import io.prefill.model.SafetensorsModelWeights;
import io.prefill.model.WeightStore;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The planted-pattern model searched on the device: every head recovered, as on the CPU. */
@Tag("gpu")
class PlantedModelGpuSearchTest {
    @TempDir
    Path dir;

    @BeforeEach
    void gpu() {
        CudaAvailability a = CudaAvailability.probe();
        Assumptions.assumeTrue(a.available(), () -> "CUDA backend unavailable: " + a.reason());
    }

    @Test
    void searchOnTheGpuRecoversEveryPlantedHead() {
        PlantedPatternModel.Planted planted = PlantedPatternModel.write(dir.resolve("planted"));
        ModelConfig config = ModelConfig.read(planted.dir().resolve("config.json"));
        try (WeightStore store = WeightStore.open(planted.dir());
             GpuCalibrationScorer scorer = GpuCalibrationScorer.open("planted", config,
                 SafetensorsModelWeights.bind(config, store), CudaBackendOptions.defaults())) {
            SearchOutcome outcome = PatternSearch.run("planted", config, scorer, planted.documents(), planted.options(),
                null, null);
            assertEquals("cuda", outcome.backend());
            PlantedModelSearchTest.assertRecovered(planted, outcome);
        }
    }

    /**
     * The adaptive steps on the device, where the planted heads' costs differ: the planted
     * document scored for a search of 2 documents at target 0.15 leaves some heads' costlier steps
     * (over 2 x 1.1 x 0.15) out of the plan that measures the others, and for a search of 100
     * measures every step. Both follow the rule ({@link AdaptiveSteps}), with the same costs (the
     * same pre-fill and selections), and a step measured among fewer heads measures what it measures
     * among all (each head's attention reads only its own plan; the reductions add in any order).
     * A pinned head gets no scores.
     */
    @Test
    void adaptiveStepsMeasuredWithoutTheCostlierHeadsMeasureWhatTheyMeasureWithThem() {
        PlantedPatternModel.Planted planted = PlantedPatternModel.write(dir.resolve("planted"));
        ModelConfig config = ModelConfig.read(planted.dir().resolve("config.json"));
        SearchOptions options = new SearchOptions(0.15, 1024, 128, 0.1, List.of(PatternFamily.ADAPTIVE));
        boolean[][] skip = new boolean[config.numLayers()][config.numHeads()];
        skip[1][2] = true;
        CalibrationDocument doc = planted.documents().get(0);
        List<List<List<CandidateScore>>> some, every;
        try (WeightStore store = WeightStore.open(planted.dir());
             GpuCalibrationScorer scorer = GpuCalibrationScorer.open("planted", config,
                 SafetensorsModelWeights.bind(config, store), CudaBackendOptions.defaults())) {
            some = scorer.score(doc, options, skip, 2);
            every = scorer.score(doc, options, skip, 100);
        }
        int leftOut = 0;
        for (int l = 0; l < config.numLayers(); l++) {
            for (int h = 0; h < config.numHeads(); h++) {
                String at = "layer " + l + " head " + h;
                if (skip[l][h]) {
                    assertEquals(List.of(), some.get(l).get(h), at);
                    assertEquals(List.of(), every.get(l).get(h), at);
                    continue;
                }
                CandidateScore s = some.get(l).get(h).get(0), e = every.get(l).get(h).get(0);
                AdaptiveSteps.assertFollowTheRule(s, options, 2, "2 documents, " + at);
                AdaptiveSteps.assertFollowTheRule(e, options, 100, "100 documents, " + at);
                for (int i = 0; i < s.steps().size(); i++) {
                    CandidateScore a = s.steps().get(i), b = e.steps().get(i);
                    String step = at + " step " + i + ": " + a + " and " + b;
                    assertEquals(b.cost(), a.cost(), 0.0, step);
                    if (Double.isNaN(a.error())) {
                        leftOut++;
                        continue;
                    }
                    assertEquals(b.error(), a.error(), 1e-9, step);
                    assertEquals(b.recall(), a.recall(), 1e-9, step);
                }
            }
        }
        // the planted vertical-slash heads' last steps cost about 0.34, the A-shape head's 0.08
        assertTrue(leftOut > 0, "some steps left out of the plan");
    }
}
