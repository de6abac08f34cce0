package io.prefill.cuda;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The launch trace's sums (LaunchTrace.summarize), without a device. */
class LaunchTraceTest {
    @Test
    void sumsByNameAndPutsTheMostIdleFirst() {
        List<String> names = List.of("gemm", "rope", "upload vs.cols", "gemm", "upload vs.cols");
        List<Boolean> afterWait = List.of(false, false, true, false, true);
        double[] busy = {9, 1, 0.1, 8, 0.1}, idle = {0, 0.5, 3, 0.2, 4};
        LaunchTrace.Summary s = LaunchTrace.summarize(names, afterWait, busy, idle, 7, 12.5);
        assertEquals(5, s.operations());
        assertEquals(18.2, s.busyMs(), 1e-9);
        assertEquals(7.7, s.idleMs(), 1e-9);
        assertEquals(7.0, s.idleAfterSyncMs(), 1e-9);
        assertEquals(7, s.hostWaits());
        assertEquals(List.of("upload vs.cols", "rope", "gemm"), s.entries().stream().map(LaunchTrace.Entry::name).toList());
        assertEquals(new LaunchTrace.Entry("upload vs.cols", 2, 0.2, 7, 7), s.entries().get(0));
        assertEquals(new LaunchTrace.Entry("gemm", 2, 17, 0.2, 0), s.entries().get(2));
        String table = s.table(2);
        assertTrue(table.startsWith("5 operations: device busy 18.2 ms, idle between them 7.7 ms (7.0 ms of it right after"),
                table);
        assertTrue(table.contains("upload vs.cols") && table.contains("rope") && !table.contains("gemm"), table);
    }

    @Test
    void anEmptyTraceAndMismatchedListsAreTold() {
        LaunchTrace.Summary none = LaunchTrace.summarize(List.of(), List.of(), new double[0], new double[0], 0, 0);
        assertEquals(0, none.operations());
        assertTrue(none.entries().isEmpty());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LaunchTrace.summarize(List.of("a"), List.of(false), new double[2], new double[1], 0, 0));
        assertTrue(e.getMessage().contains("2 busy"), e.getMessage());
    }
}
