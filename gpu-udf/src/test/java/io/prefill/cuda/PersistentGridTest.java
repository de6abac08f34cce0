package io.prefill.cuda;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The persistent pair kernel's grid (AttentionKernels.persistentGrid): CTA b takes items b, b +
 * grid, ... of the KV_GROUP_MAJOR order, whose item i holds head-in-group i % G. Every CTA must
 * take its items from every head of a group about equally, or the CTAs that drew a layer's costly
 * heads finish last.
 */
class PersistentGridTest {

    @ParameterizedTest(name = "items={0} SMs={1} group={2}")
    @CsvSource({"32768,132,4", "32768,132,8", "32768,132,1", "4096,114,4", "100,132,4", "3,132,4", "1,132,4",
            "65536,78,2"})
    void everyCtaTakesEveryHeadOfAGroupAlike(int items, int sms, int group) {
        int grid = AttentionKernels.persistentGrid(items, sms, group);
        assertTrue(grid >= 1 && grid <= Math.min(items, sms), "grid " + grid);
        assertTrue(grid >= Math.min(items, sms) - group, "grid " + grid + " gives up at most group - 1 SMs");
        for (int b = 0; b < grid; b++) {
            int[] perHead = new int[group];
            for (int i = b; i < items; i += grid) perHead[i % group]++;
            int min = Integer.MAX_VALUE, max = 0;
            for (int c : perHead) { min = Math.min(min, c); max = Math.max(max, c); }
            assertTrue(max - min <= 1, "CTA " + b + " of " + grid + " takes its items from the heads of a group as "
                    + java.util.Arrays.toString(perHead));
        }
    }
}
