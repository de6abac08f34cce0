package io.prefill.cuda;

import static io.prefill.cuda.GpuTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import io.prefill.cuda.Kernel.Dim3;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** A stream's launch trace sees every launch and copy, and the device's wait while the host held it up. */
@Tag("gpu")
class LaunchTraceGpuTest {
    @BeforeEach
    void gpu() { assumeGpu(); }

    @Test
    void theIdleTimeBeforeALaunchHoldsTheHostsDelay() throws Exception {
        DeviceArena arena = arena();
        long mark = arena.mark();
        try (LaunchTrace trace = new LaunchTrace()) {
            DeviceBuffer x = arena.alloc(4L * 1024, "x");
            float[] back = new float[1024];
            stream().trace(trace);
            try {
                module().kernel("fill_f32_k").launch(stream(), Dim3.of(4), 256, 0, x, 1024L, 1f);
                stream().synchronize();
                Thread.sleep(50);  // the device has nothing to do until the next launch
                module().kernel("fill_f32_k").launch(stream(), Dim3.of(4), 256, 0, x, 1024L, 2f);
                x.download(stream(), back);
            } finally {
                stream().trace(null);
            }
            assertEquals(2f, back[0]);
            LaunchTrace.Summary s = trace.drain();
            assertEquals(3, s.operations(), s.table(10));
            LaunchTrace.Entry fill = s.entries().stream().filter(e -> e.name().equals("fill_f32_k")).findFirst().orElseThrow();
            assertEquals(2, fill.count());
            // the second launch's start event came after the sleep: at least that long after the first one's end
            assertTrue(fill.idleBeforeMs() >= 45 && fill.idleAfterSyncMs() >= 45, s.table(10));
            assertEquals(1, s.entries().stream().filter(e -> e.name().equals("download x")).count(), s.table(10));
            assertTrue(s.hostWaits() >= 2, "the explicit wait and the download's: " + s.table(10));
            assertTrue(s.busyMs() > 0 && s.busyMs() < s.idleMs(), s.table(10));
            assertEquals(0, trace.drain().operations(), "a drained trace starts over");
        } finally {
            arena.reset(mark);
        }
    }
}
