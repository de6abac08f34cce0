// Per-head choice between two CSR block plans of the same (heads, n): how a layer that mixes
// block-sparse heads with vertical-slash / A-shape / dense heads gets one plan for one launch.
// Slot i = h * nqb + qb takes its ranges and columns from plan B where useB[h], else from A.
#pragma once
#include "plan_tiles.cuh"

namespace pk {

// Count pass (FILL = false) writes per-slot sizes; the fill pass copies into out (its pointers the
// scanned sizes). One thread per slot: plans hold at most a few thousand entries per slot.
template <bool FILL>
__device__ void plan_pick(CsrPlan a, CsrPlan b, const int* useB, int H, int n, int* rangeCount,
                          int* colCount, CsrPlanOut out) {
    const int nqb = (n + 63) / 64;
    const long long slot = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (slot >= (long long)H * nqb) return;
    const int h = (int)(slot / nqb);
    const CsrPlan& p = useB[h] ? b : a;
    const int r0 = p.rangePtr[slot], r1 = p.rangePtr[slot + 1];
    const int c0 = p.colPtr[slot], c1 = p.colPtr[slot + 1];
    if (!FILL) {
        rangeCount[slot] = r1 - r0;
        colCount[slot] = c1 - c0;
        return;
    }
    int* rOut = out.rangeData + 2LL * out.rangePtr[slot];
    for (int x = 0; x < 2 * (r1 - r0); ++x) rOut[x] = p.rangeData[2LL * r0 + x];
    int* cOut = out.colData + out.colPtr[slot];
    for (int x = 0; x < c1 - c0; ++x) cOut[x] = p.colData[c0 + x];
}

}  // namespace pk
