package io.prefill.search;

import io.prefill.cpu.CpuForwardPass;
import io.prefill.model.FloatCodecs;
import io.prefill.model.LoadedModel;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Comparator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The search's correctness test: a tiny model whose heads are built to have known patterns
 * (a-shape; vertical-slash with planted columns and a far diagonal; block-sparse by topic, see
 * {@link PlantedPatternModel}) is searched from its checkpoint, and every head gets its planted
 * pattern, nearly exactly, within the target cost.
 */
class PlantedModelSearchTest {
    /** Bounds on the chosen candidate, far above what the planted heads give (~1e-4 error, ~0.9999 recall). */
    private static final double MAX_ERROR = 0.02;
    private static final double MIN_RECALL = 0.99;
    /** A vertical-slash or block-sparse head must beat every other pattern by this much error at least. */
    private static final double MIN_LOSER_ERROR = 0.3;

    @TempDir
    static Path dir;
    private static PlantedPatternModel.Planted planted;
    private static LoadedModel model;

    @BeforeAll
    static void writeModel() {
        planted = PlantedPatternModel.write(dir.resolve("planted"));
        model = LoadedModel.open(planted.dir());
    }

    @AfterAll
    static void closeModel() { model.close(); }

    /**
     * The fixture's claim, checked on the model's own Q and K after RoPE: each head's dense softmax
     * falls inside its planted structure, every part of the structure carries real mass, and both
     * still hold with Q and K rounded to bf16, as a bf16 forward pass holds them.
     */
    @Test
    void denseAttentionFollowsThePlantedStructure() {
        // The pass's own attention pattern does not matter here: o_proj is zero, so no layer's Q
        // and K depend on an earlier layer's attention, and a cheap a-shape pass saves seconds.
        PatternConfig cheap = PatternConfig.uniform("planted", model.config().numLayers(), model.config().numHeads(),
            0, new HeadPattern.AShape(64, 64));
        int[] tokens = planted.documents().get(0).tokens();
        int[] rows = DenseReference.sampleRows(tokens.length, 128);
        StringBuilder table = new StringBuilder();
        new CpuForwardPass(model.config(), model.weights(), cheap).forward(tokens, (layer, n, d, q, k, v) -> {
            for (int h = 0; h < q.length; h++) {
                PlantedHead head = planted.heads().get(layer).get(h);
                for (boolean bf16 : new boolean[] {false, true}) {
                    StructureMass m = StructureMass.of(head, planted.document(), bf16 ? bf16(q[h]) : q[h],
                        bf16 ? bf16(k[h]) : k[h], d, rows);
                    table.append(String.format("layer %d head %d %s%s: %s%n", layer, h, head.patternName(),
                        bf16 ? " (bf16 Q, K)" : "", m));
                    assertTrue(m.inside() > 0.999 && m.lowestRow() > 0.99, "mass outside the structure:\n" + table);
                    for (double part : m.parts()) assertTrue(part > 0.05, "a planted part carries no mass:\n" + table);
                }
            }
        });
        System.out.print("planted structure, mean dense mass over " + rows.length + " rows:\n" + table);
    }

    @Test
    void searchRecoversEveryPlantedHead() {
        SearchOutcome outcome = PatternSearch.run("planted", model.config(), model.weights(), planted.documents(),
            planted.options(), null, null);
        assertRecovered(planted, outcome);
    }

    /** Every head's chosen pattern is its planted one, nearly exact, within the target (shared with the GPU test). */
    static void assertRecovered(PlantedPatternModel.Planted planted, SearchOutcome outcome) {
        SearchOptions options = planted.options();
        int layers = outcome.config().numLayers(), heads = outcome.config().numHeads();
        StringBuilder table = new StringBuilder();
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < heads; h++) {
                CandidateScore chosen = outcome.head(l, h).chosen();
                CandidateScore other = bestOtherPattern(outcome.head(l, h));
                table.append(String.format("layer %d head %d planted %s: chose %s cost %.4f error %.2e recall %.5f;"
                        + " best other pattern %s error %.4f recall %.4f%n", l, h, planted.expected().get(l).get(h),
                    chosen.family(), chosen.cost(), chosen.error(), chosen.recall(), other.family(), other.error(),
                    other.recall()));
            }
        }
        // For the record in the test reports: how clear each win was.
        System.out.printf("planted model search on %s (%.1f s):%n%s", outcome.backend(), outcome.seconds(), table);
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < heads; h++) {
                String expected = planted.expected().get(l).get(h);
                CandidateScore chosen = outcome.head(l, h).chosen();
                assertEquals(expected, chosen.family().patternName(), "layer " + l + " head " + h + "\n" + table);
                assertEquals(chosen.pattern(), outcome.config().pattern(l, h), "the config carries the choice");
                assertTrue(chosen.cost() <= options.targetCost() * 1.1, table.toString());
                assertTrue(chosen.error() < MAX_ERROR && chosen.recall() > MIN_RECALL, table.toString());
                // Every family holds a sink and a local window, so on an a-shape head they all tie
                // and the preference order picks a_shape; the other heads must win outright.
                if (!expected.equals("a_shape")) {
                    assertTrue(bestOtherPattern(outcome.head(l, h)).error() > MIN_LOSER_ERROR, table.toString());
                }
            }
        }
    }

    /** The lowest-error candidate whose pattern is not the chosen one's (both vertical-slash shapes count as one). */
    private static CandidateScore bestOtherPattern(HeadOutcome head) {
        String chosen = head.chosen().family().patternName();
        return head.candidates().stream().filter(s -> !s.family().patternName().equals(chosen))
            .min(Comparator.comparingDouble(CandidateScore::error)).orElseThrow();
    }

    private static float[] bf16(float[] x) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) y[i] = FloatCodecs.bf16ToFloat(FloatCodecs.floatToBf16(x[i]));
        return y;
    }
}
