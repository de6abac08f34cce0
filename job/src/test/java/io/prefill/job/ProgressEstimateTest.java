package io.prefill.job;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The time-left arithmetic: pending planned cost laid out on the slots at the observed rate. */
class ProgressEstimateTest {
    private static final double EPS = 1e-9;

    @Test
    void nothingToSayBeforeAPartitionFinishes() {
        ProgressEstimate e = new ProgressEstimate(new double[]{10, 10});
        e.started(0, 0);
        e.started(1, 0);
        assertTrue(Double.isNaN(e.secondsLeft(5)));
        assertEquals(20, e.pendingCost(5), EPS);
    }

    @Test
    void partitionsRunningSideBySideAllCountAsProgressing() {
        // Two equal partitions in parallel: when the first is done, so (nearly) is the second.
        // Counting only finished partitions would say "20 s left" here.
        ProgressEstimate e = new ProgressEstimate(new double[]{10, 10});
        e.started(0, 0);
        e.started(1, 0);
        e.finished(0, 20);
        assertEquals(0.5, e.rate(), EPS);
        assertEquals(0, e.pendingCost(20), EPS);
        assertEquals(0, e.secondsLeft(20), EPS);
        // halfway through the second one's expected time it is credited with half its cost
        ProgressEstimate half = new ProgressEstimate(new double[]{10, 10});
        half.started(0, 0);
        half.started(1, 10);
        half.finished(0, 20);
        assertEquals(5, half.pendingCost(20), EPS);
        assertEquals(10, half.secondsLeft(20), EPS);
    }

    @Test
    void pendingCostOverTheRateOfAllSlots() {
        // Four partitions of 10 on two slots: after the first pair, two are left for both slots.
        ProgressEstimate e = new ProgressEstimate(new double[]{10, 10, 10, 10});
        e.started(0, 0);
        e.started(1, 0);
        e.finished(0, 20);
        e.finished(1, 20);
        assertEquals(20, e.pendingCost(20), EPS);
        assertEquals(e.pendingCost(20) / (e.rate() * 2), e.secondsLeft(20), EPS);
        assertEquals(20, e.secondsLeft(20), EPS);
    }

    @Test
    void nearTheEndTheLongestRemainderDecides() {
        ProgressEstimate e = new ProgressEstimate(new double[]{30, 10});
        e.started(0, 0);
        e.started(1, 0);
        e.finished(1, 10);  // rate 1 per second
        assertEquals(20, e.pendingCost(10), EPS);
        assertEquals(20, e.secondsLeft(10), EPS);
        // a partition past its planned cost is not credited more than all of it
        assertEquals(0, e.pendingCost(40), EPS);
        assertEquals(0, e.secondsLeft(40), EPS);
    }

    @Test
    void unstartedPartitionsTakeTheNextFreeSlot() {
        // One slot seen so far; the running partition has 5 s to go, then 10 and 20 s of waiting work.
        ProgressEstimate e = new ProgressEstimate(new double[]{10, 10, 10, 20});
        e.started(0, 0);
        e.finished(0, 10);
        e.started(1, 10);
        assertEquals(1, e.rate(), EPS);
        assertEquals(5 + 10 + 20, e.secondsLeft(15), EPS);
    }

    @Test
    void aRetriedPartitionCountsOnceAndRestartsItsClock() {
        ProgressEstimate e = new ProgressEstimate(new double[]{10, 10});
        e.started(0, 0);
        e.finished(0, 10);
        e.finished(0, 12);  // a speculative duplicate's success is ignored
        assertEquals(1, e.finishedCount());
        assertEquals(1, e.rate(), EPS);
        e.started(1, 10);
        e.started(1, 18);  // the first attempt failed at 18; the retry starts from nothing
        assertEquals(10, e.pendingCost(18), EPS);
        assertEquals(8, e.pendingCost(20), EPS);
        e.finished(1, 10);
        assertEquals(0, e.secondsLeft(30), EPS);
        assertEquals(2, e.finishedCount());
    }

    @Test
    void theLineLeavesTheEstimateOutWhenDoneOrUnknown() {
        ProgressEstimate e = new ProgressEstimate(new double[]{10, 10, 10, 10});
        e.started(0, 0);
        e.started(1, 0);
        e.finished(0, 20);
        String line = ProgressListener.line(e, 3, 12_000, 1, 20, 20);
        assertEquals("[prefill] partition 1/4 done: 3 documents, 12,000 tokens, 600 tokens/s, 1 errors, 20.0 s, "
                + "about 20.0 s left", line);
        e.finished(1, 20);
        e.started(2, 20);
        e.started(3, 20);
        e.finished(2, 20);
        e.finished(3, 20);
        assertFalse(ProgressListener.line(e, 8, 1, 0, 40, 40).contains("left"));
    }
}
