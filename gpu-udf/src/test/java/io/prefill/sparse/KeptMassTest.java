package io.prefill.sparse;

import io.prefill.engine.AttentionStats;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The accuracy certificate: attention mass a plan keeps on the last queries, and how heads combine. */
class KeptMassTest {
    @Test
    void aDensePlanKeepsEverythingAndDroppingTheAttendedKeyLosesItsMass() {
        Random r = new Random(3);
        int n = 700, d = 16;
        // key 300 is what every query attends to
        float[][] qk = TestInputs.attendedKeys(r, n, d, 0.3, 1f, 3f, 300);
        float[] q = qk[0], k = qk[1];
        assertEquals(1.0, KeptMass.ofLastQueries(q, k, n, d, RangePlan.dense(n)), 1e-6);
        // A-shape (64, 256) cannot see key 300 from the last queries (rows 636..699 reach back to 380)
        double blind = KeptMass.ofLastQueries(q, k, n, d, RangePlan.fromVerticalSlash(n, VerticalSlashIndex.aShape(n, 64, 256)));
        // vertical-slash with the estimate keeps that column
        double seeing = KeptMass.ofLastQueries(q, k, n, d,
                RangePlan.fromVerticalSlash(n, VerticalSlashEstimator.estimate(q, k, n, d, 30, 256)));
        assertTrue(blind < 0.5, "A-shape kept " + blind);
        assertTrue(seeing > 0.9, "vertical-slash kept " + seeing);
    }

    @Test
    void headsCombineIntoTheMinimumTheMeanAndTheWorstHead() {
        AttentionStats.Certificate none = AttentionStats.Certificate.NONE;
        assertFalse(none.measured());
        assertNull(none.worst());
        assertTrue(Double.isNaN(none.mean()));
        AttentionStats.Certificate c = none.plus(AttentionStats.Certificate.of(0.9, 0, 1))
                .plus(AttentionStats.Certificate.of(0.6, 2, 3)).plus(AttentionStats.Certificate.of(0.99, 5, 0)).plus(none);
        assertEquals(0.6, c.min(), 1e-12);
        assertEquals((0.9 + 0.6 + 0.99) / 3, c.mean(), 1e-12);
        assertEquals("layer 2 head 3", c.worst());
        AttentionStats a = new AttentionStats(10, 20, 1, 1, AttentionStats.Certificate.of(0.7, 1, 1));
        AttentionStats b = new AttentionStats(5, 20, 0, 2);
        AttentionStats sum = a.plus(b);
        assertEquals(0.7, sum.kept().min(), 1e-12);
        assertEquals(15.0 / 40, sum.density(), 1e-12);
    }
}
