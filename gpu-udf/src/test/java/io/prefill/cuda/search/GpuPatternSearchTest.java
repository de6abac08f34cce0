package io.prefill.cuda.search;

import static org.junit.jupiter.api.Assertions.*;

import io.prefill.cuda.CudaAvailability;
import io.prefill.cuda.forward.CudaBackendOptions;
import io.prefill.model.Architecture;
import io.prefill.model.DType;
import io.prefill.model.ModelConfig;
import io.prefill.model.ModelWeights;
import io.prefill.model.RopeScaling;
import io.prefill.model.SafetensorsModelWeights;
import io.prefill.model.TinyModelSpec;
import io.prefill.model.TinyModelWriter;
import io.prefill.model.WeightStore;
import io.prefill.search.BudgetFit;
import io.prefill.search.CalibrationDocument;
import io.prefill.search.CandidateScore;
import io.prefill.search.HeadOutcome;
import io.prefill.search.PatternFamily;
import io.prefill.search.PatternSearch;
import io.prefill.search.SearchOptions;
import io.prefill.search.SearchOutcome;
import io.prefill.sparse.BlockPlan;
import io.prefill.sparse.BlockSparseCost;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;
import io.prefill.sparse.RangePlan;
import io.prefill.sparse.VerticalSlashIndex;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

/** The search scored on the device against the same search on the CPU reference, same model and documents. */
@Tag("gpu")
class GpuPatternSearchTest {
    private static final TinyModelSpec SPEC = new TinyModelSpec(Architecture.LLAMA, 256, 688, 2, 4, 2, 64, 500000.0,
            RopeScaling.NONE, false, DType.BF16, 1 << 20);
    private static final SearchOptions OPTIONS = new SearchOptions(0.3, 1024, 128, 0.1, PatternFamily.DEFAULT);
    @TempDir
    static Path dir;
    private static WeightStore store;
    private static ModelConfig config;
    private static ModelWeights weights;

    @BeforeAll
    static void model() {
        CudaAvailability a = CudaAvailability.probe();
        Assumptions.assumeTrue(a.available(), () -> "CUDA backend unavailable: " + a.reason());
        TinyModelWriter.write(dir, SPEC, 17L);
        config = ModelConfig.read(dir.resolve("config.json"));
        store = WeightStore.open(dir);
        weights = SafetensorsModelWeights.bind(config, store);
    }

    @AfterAll
    static void close() { if (store != null) store.close(); }

    @ParameterizedTest
    @EnumSource(SearchOptions.ScoredRows.class)
    void scoresAgreeWithTheCpuSearch(SearchOptions.ScoredRows scored) {
        List<CalibrationDocument> docs = List.of(doc("a", 1500, 1), doc("b", 2100, 2));
        SearchOptions options = new SearchOptions(OPTIONS.targetCost(), OPTIONS.minSparseLength(), OPTIONS.recallRows(),
                OPTIONS.tieTolerance(), OPTIONS.families(), scored);
        SearchOutcome cpu = PatternSearch.run("tiny", config, weights, docs, options, null, null);
        SearchOutcome gpu;
        try (GpuCalibrationScorer scorer = GpuCalibrationScorer.open("tiny", config, weights, CudaBackendOptions.defaults())) {
            gpu = PatternSearch.run("tiny", config, scorer, docs, options, null, null);
        }
        assertEquals(scored, gpu.options().scoredRows());
        assertEquals("cuda", gpu.backend());
        for (int l = 0; l < SPEC.numLayers(); l++) {
            for (int h = 0; h < SPEC.numHeads(); h++) {
                HeadOutcome c = cpu.head(l, h), g = gpu.head(l, h);
                for (int f = 0; f < PatternFamily.DEFAULT.size(); f++) {
                    CandidateScore cs = c.candidates().get(f), gs = g.candidates().get(f);
                    String at = "layer " + l + " head " + h + " " + cs.family() + ": cpu " + cs + " gpu " + gs;
                    if (cs.family() == PatternFamily.A_SHAPE || cs.family() == PatternFamily.BLOCK_SPARSE) {
                        assertEquals(cs.pattern(), gs.pattern(), "input-free cost, same budget: " + at);
                        assertEquals(cs.cost(), gs.cost(), 1e-12, at);
                    } else {
                        assertEquals(cs.cost(), gs.cost(), 0.02, at);
                    }
                    assertTrue(gs.cost() <= OPTIONS.targetCost() + 1e-12, at);
                    // bf16 Q/K/V and outputs on the device, fp32 on the CPU; the last block's 64 rows
                    // average less of the rounding away than every row
                    assertEquals(cs.error(), gs.error(), scored == SearchOptions.ScoredRows.ALL ? 0.03 : 0.05, at);
                    assertEquals(cs.recall(), gs.recall(), 0.02, at);
                }
            }
        }
    }

    /**
     * Past 46340 tokens n(n+1) overflows an int: costs must still be fractions, and the
     * input-free families' budgets the ones the CPU planner's own costs give at this length.
     */
    @Test
    void aLongDocumentGetsTheBudgetsOfTheCpuPlanner() {
        int n = 50_000;
        SearchOptions options = new SearchOptions(0.1, 8192, 64, 0.1, PatternFamily.DEFAULT);
        SearchOutcome out;
        try (GpuCalibrationScorer scorer = GpuCalibrationScorer.open("tiny", config, weights, CudaBackendOptions.defaults())) {
            out = PatternSearch.run("tiny", config, scorer, List.of(doc("long", n, 4)), options, null, null);
        }
        int aShape = BudgetFit.fit(b -> RangePlan.fromVerticalSlash(n, VerticalSlashIndex.aShape(n, 64, b)), 1, n, 0.1).budget();
        int blocks = BudgetFit.fitAll(1, 1, BlockPlan.blocks(n), 0.1, b -> new double[] {BlockSparseCost.density(n, b[0])}).budgets()[0];
        for (int l = 0; l < SPEC.numLayers(); l++) {
            for (int h = 0; h < SPEC.numHeads(); h++) {
                for (CandidateScore c : out.head(l, h).candidates()) {
                    assertTrue(c.cost() > 0 && c.cost() <= 0.1 + 1e-12, c.toString());
                    assertTrue(c.recall() > 0 && c.recall() <= 1 + 1e-6, c.toString());
                    if (c.family() == PatternFamily.A_SHAPE) assertEquals(new HeadPattern.AShape(64, aShape), c.pattern());
                    if (c.family() == PatternFamily.BLOCK_SPARSE) assertEquals(new HeadPattern.BlockSparse(blocks), c.pattern());
                }
            }
        }
    }

    @Test
    void pinnedHeadsAreNotScored() {
        List<List<HeadPattern>> layers = new java.util.ArrayList<>();
        for (int l = 0; l < SPEC.numLayers(); l++) {
            List<HeadPattern> row = new java.util.ArrayList<>();
            for (int h = 0; h < SPEC.numHeads(); h++) row.add(l == 1 && h == 2 ? new HeadPattern.Dense() : new HeadPattern.AShape(64, 64));
            layers.add(row);
        }
        PatternConfig pinned = new PatternConfig("tiny", SPEC.numLayers(), SPEC.numHeads(), 1024, layers);
        try (GpuCalibrationScorer scorer = GpuCalibrationScorer.open("tiny", config, weights, CudaBackendOptions.defaults())) {
            SearchOutcome out = PatternSearch.run("tiny", config, scorer, List.of(doc("a", 1200, 3)), OPTIONS, pinned, "pins.json");
            assertTrue(out.head(1, 2).pinned());
            assertInstanceOf(HeadPattern.Dense.class, out.config().pattern(1, 2));
            assertEquals(PatternFamily.DEFAULT.size(), out.head(1, 1).candidates().size());
        }
    }

    private static CalibrationDocument doc(String id, int n, long seed) {
        Random r = new Random(seed);
        int[] tokens = new int[n];
        for (int i = 0; i < n; i++) tokens[i] = r.nextInt(config.vocabSize());
        return new CalibrationDocument(id, tokens);
    }
}
