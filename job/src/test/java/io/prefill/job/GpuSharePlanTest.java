package io.prefill.job;

import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GpuSharePlanTest {
    /** Key names as the RAPIDS Accelerator's configuration reference spells them. */
    private static final Set<String> RAPIDS_KEYS = Set.of("spark.rapids.sql.enabled",
            "spark.rapids.memory.gpu.allocFraction", "spark.rapids.memory.gpu.maxAllocFraction",
            "spark.rapids.memory.gpu.minAllocFraction", "spark.rapids.memory.gpu.reserve",
            "spark.rapids.sql.concurrentGpuTasks");

    @Test
    void rapidsAndEngineFitOnTheCardForEveryBudget() {
        for (double card : new double[]{24, 40, 48, 80, 141}) {
            for (double budget = 4; budget <= card * 0.85; budget += 2) {
                double left = Math.floor((card - budget - GpuSharePlan.ENGINE_CONTEXT_GIB) / card * 100) / 100;
                if (left < GpuSharePlan.MIN_RAPIDS_FRACTION || left * card <= GpuSharePlan.DEFAULT_RAPIDS_RESERVE_GIB) {
                    final double c = card, b = budget;
                    assertThrows(IllegalArgumentException.class, () -> GpuSharePlan.of(c, b));
                    continue;
                }
                GpuSharePlan plan = GpuSharePlan.of(card, budget);
                assertTrue(plan.totalGiB() <= card, card + "/" + budget + ": " + plan.totalGiB());
                // floor to 2 decimals wastes at most 1% of the card
                assertTrue(plan.totalGiB() > card * 0.99 - 1e-9, card + "/" + budget + ": " + plan.totalGiB());
                Map<String, String> conf = plan.sparkConf();
                double alloc = Double.parseDouble(conf.get("spark.rapids.memory.gpu.allocFraction"));
                double max = Double.parseDouble(conf.get("spark.rapids.memory.gpu.maxAllocFraction"));
                double min = Double.parseDouble(conf.get("spark.rapids.memory.gpu.minAllocFraction"));
                assertTrue(min <= alloc && alloc <= max, "RAPIDS requires min <= alloc <= max");
                long engineBytes = Long.parseLong(conf.get(GpuSharePlan.ENGINE_BUDGET_CONF));
                assertTrue(max * card * (1L << 30) + engineBytes + GpuSharePlan.ENGINE_CONTEXT_GIB * (1L << 30)
                        <= card * (1L << 30));
            }
        }
    }

    @Test
    void eightyGigabyteCardWithFortyEightForTheEngine() {
        GpuSharePlan plan = GpuSharePlan.of(80, 48);
        assertEquals(0.38, plan.allocFraction(), 1e-9);
        assertEquals("com.nvidia.spark.SQLPlugin", plan.sparkConf().get("spark.plugins"));
        assertEquals(Long.toString(48L << 30), plan.sparkConf().get("spark.prefill.gpuMemoryBudget"));
    }

    @Test
    void keysAreSpelledAsRapidsDocumentsThem() {
        Map<String, String> conf = GpuSharePlan.of(80, 40).sparkConf();
        for (String key : conf.keySet()) {
            if (key.startsWith("spark.rapids.")) assertTrue(RAPIDS_KEYS.contains(key), key);
        }
        assertTrue(conf.keySet().containsAll(RAPIDS_KEYS));
    }

    @Test
    void aBudgetLeavingRapidsTooLittleFailsWithTheNumbers() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GpuSharePlan.of(80, 78));
        assertTrue(e.getMessage().contains("78.0") && e.getMessage().contains("80.0"), e.getMessage());
    }
}
