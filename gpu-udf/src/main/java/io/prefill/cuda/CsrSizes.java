package io.prefill.cuda;

import io.prefill.cuda.Kernel.Dim3;

/**
 * The middle step every plan builder shares: per-slot range and column counts (from a count
 * kernel) become CSR pointers by an exclusive scan on the device, and the two totals are read back
 * to size the data arrays before the fill kernel runs (or, where they are bounded in advance,
 * {@link #scanPointers}).
 */
record CsrSizes(int numRanges, int numColumns) {

    static CsrSizes scan(KernelModule module, CudaStream stream, int slots, DeviceBuffer rangeCount,
                         DeviceBuffer colCount, DeviceBuffer rangePtr, DeviceBuffer colPtr) {
        scanPointers(module, stream, slots, rangeCount, colCount, rangePtr, colPtr);
        int[] total = new int[1];
        rangePtr.withOffsetDownload(stream, slots, total);
        int ranges = total[0];
        colPtr.withOffsetDownload(stream, slots, total);
        return new CsrSizes(ranges, total[0]);
    }

    /**
     * The scan alone, for a builder whose totals are bounded in advance (a pair plan holds at most
     * the ranges and columns of the plan it merges): the caller sizes the data arrays to that bound
     * and nothing is read back, so the host does not wait for the device.
     */
    static void scanPointers(KernelModule module, CudaStream stream, int slots, DeviceBuffer rangeCount,
                             DeviceBuffer colCount, DeviceBuffer rangePtr, DeviceBuffer colPtr) {
        module.kernel("exclusive_scan_pair_k").launch(stream, Dim3.of(2), 1024, 0, rangeCount, rangePtr, colCount, colPtr,
                slots);
    }

    /** Range data: (start, end) int pairs; at least one element so that the pointer is valid. */
    DeviceBuffer allocRanges(DeviceArena arena, String label) { return arena.alloc(8L * Math.max(1, numRanges), label); }

    DeviceBuffer allocColumns(DeviceArena arena, String label) { return arena.alloc(4L * Math.max(1, numColumns), label); }
}
