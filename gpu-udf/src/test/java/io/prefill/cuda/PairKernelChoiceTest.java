package io.prefill.cuda;

import static org.junit.jupiter.api.Assertions.*;

import io.prefill.cuda.AttentionKernels.Variant;
import org.junit.jupiter.api.Test;

/** Which pair kernel runs a plan of ranges and columns (AttentionKernels.pairKernel). */
class PairKernelChoiceTest {

    @Test
    void aNamedPairKernelRunsWhateverThePlanKernel() {
        for (Variant plan : new Variant[] {Variant.PLAN_WGMMA, Variant.PLAN_MMA})
            for (boolean columns : new boolean[] {true, false})
                assertEquals(Variant.PAIR_PLAN_MMA, AttentionKernels.pairKernel(Variant.PAIR_PLAN_MMA, plan, columns));
    }

    @Test
    void theWarpSpecialisedPairKernelGoesWithTheWgmmaPlanKernel() {
        assertEquals(Variant.PAIR_PLAN_WS, AttentionKernels.pairKernel(null, Variant.PLAN_WGMMA, true));
        assertEquals(Variant.PAIR_PLAN_WS, AttentionKernels.pairKernel(null, Variant.PLAN_WGMMA, false));
    }

    @Test
    void theMmaPlanKernelKeepsThePairKernelsOnMmaByPlan() {
        assertEquals(Variant.PAIR_PLAN_MMA_HEAD_MAJOR, AttentionKernels.pairKernel(null, Variant.PLAN_MMA, true));
        assertEquals(Variant.PAIR_PLAN_MMA, AttentionKernels.pairKernel(null, Variant.PLAN_MMA, false));
    }
}
