// Pair plan: the keys of two adjacent 64-row query blocks A = 2p and B = 2p+1 of a CSR plan, for
// the 128-row PAIR attention kernel. Ranges = union of both blocks' ranges (merged where they
// overlap or touch); columns = both blocks' leftover columns that no union range covers, each
// once (A's first, then B's; not sorted, the kernel does not need it). One warp per (head, pair).
// The fill pass also writes, for each column of the pair plan, which of the two blocks' own plans
// hold it (colOwn: bit 0 = A's, bit 1 = B's), so that the pair kernel masks a gathered key for a
// block without searching that block's columns: an A column is B's too where B's columns list it
// (B's ranges cannot hold it: it would have been dropped); a B column is never A's (it was kept
// because neither A's ranges nor A's columns hold it).
#pragma once
#include "vertical_slash.cuh"

namespace pk {

__device__ __forceinline__ bool in_ranges(int key, const int* rd, int rb, int re) {
    int lo = rb, hi = re;
    while (lo < hi) {
        int mid = (lo + hi) >> 1;
        if (rd[2 * mid] <= key) lo = mid + 1; else hi = mid;
    }
    return lo > rb && key < rd[2 * (lo - 1) + 1];
}

// Count pass (FILL = false): per-pair sizes into rangeCount, colCount; fill pass: into out, whose
// pointers are the scanned counts.
constexpr unsigned char PAIR_OWN_A = 1, PAIR_OWN_B = 2;

template <bool FILL>
__device__ void pair_plan(CsrPlan plan, int H, int n, int* rangeCount, int* colCount, CsrPlanOut out,
                          unsigned char* colOwn) {
    const int* rangeData = plan.rangeData;
    const int* colData = plan.colData;
    const int nqb = (n + 63) / 64, npairs = (nqb + 1) / 2;
    const int gw = (blockIdx.x * blockDim.x + threadIdx.x) >> 5, lane = threadIdx.x & 31;
    if (gw >= H * npairs) return;
    const int h = gw / npairs, p = gw % npairs;
    const int A = h * nqb + 2 * p, B = A + 1;
    const bool hasB = 2 * p + 1 < nqb;
    const int ra0 = plan.rangePtr[A], ra1 = plan.rangePtr[A + 1];
    const int rb0 = hasB ? plan.rangePtr[B] : 0, rb1 = hasB ? plan.rangePtr[B + 1] : 0;
    if (lane == 0) {  // ranges: serial two-way merge (a block has a handful of ranges)
        int ia = ra0, ib = rb0, count = 0, cs = 0, ce = -1;
        int* rangeOut = FILL ? out.rangeData + 2 * (size_t)out.rangePtr[gw] : nullptr;
        while (ia < ra1 || ib < rb1) {
            bool takeA = ib >= rb1 || (ia < ra1 && rangeData[2 * ia] <= rangeData[2 * ib]);
            int s = takeA ? rangeData[2 * ia] : rangeData[2 * ib];
            int e = takeA ? rangeData[2 * ia + 1] : rangeData[2 * ib + 1];
            if (takeA) ++ia; else ++ib;
            if (s >= e) continue;
            if (ce >= 0 && s <= ce) { ce = max(ce, e); continue; }
            if (ce >= 0) { if (FILL) { rangeOut[2 * count] = cs; rangeOut[2 * count + 1] = ce; } ++count; }
            cs = s; ce = e;
        }
        if (ce >= 0) { if (FILL) { rangeOut[2 * count] = cs; rangeOut[2 * count + 1] = ce; } ++count; }
        if (!FILL) rangeCount[gw] = count;
    }
    const unsigned lt = (1u << lane) - 1u;
    int kept = 0;
    int* colOut = FILL ? out.colData + out.colPtr[gw] : nullptr;
    unsigned char* ownOut = FILL ? colOwn + out.colPtr[gw] : nullptr;
    const int ca0 = plan.colPtr[A], ca1 = plan.colPtr[A + 1];
    const int cb0 = hasB ? plan.colPtr[B] : 0, cb1 = hasB ? plan.colPtr[B + 1] : 0;
    for (int base = ca0; base < ca1; base += 32) {  // A's columns: drop those inside B's ranges
        int i = base + lane;
        bool keep = i < ca1 && !(hasB && in_ranges(colData[i], rangeData, rb0, rb1));
        unsigned bal = __ballot_sync(0xffffffffu, keep);
        if (FILL && keep) {
            const int c = colData[i], at = kept + __popc(bal & lt);
            const bool inB = hasB && lower_bound(colData + cb0, cb1 - cb0, c) != lower_bound(colData + cb0, cb1 - cb0, c + 1);
            colOut[at] = c;
            ownOut[at] = PAIR_OWN_A | (inB ? PAIR_OWN_B : 0);
        }
        kept += __popc(bal);
    }
    for (int base = cb0; base < cb1; base += 32) {  // B's: drop those in A's ranges or columns
        int i = base + lane;
        bool keep = false;
        if (i < cb1) {
            int c = colData[i];
            keep = !in_ranges(c, rangeData, ra0, ra1) && lower_bound(colData + ca0, ca1 - ca0, c) ==
                   lower_bound(colData + ca0, ca1 - ca0, c + 1);
        }
        unsigned bal = __ballot_sync(0xffffffffu, keep);
        if (FILL && keep) {
            colOut[kept + __popc(bal & lt)] = colData[i];
            ownOut[kept + __popc(bal & lt)] = PAIR_OWN_B;
        }
        kept += __popc(bal);
    }
    if (!FILL && lane == 0) colCount[gw] = kept;
}

}  // namespace pk
