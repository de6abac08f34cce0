// The end of both attention bodies (attention.cuh, attention_wgmma.cuh): normalise one warp's
// 16-row strip of O by the softmax denominator and write it, and (pattern search) the log2 of
// that denominator per row.
//
//  - O[row] = acc[row] / l[row], rounded to bf16, written as bf16x2 (each thread owns two
//    adjacent columns per 8-column tile: 4-byte stores, a quad writes 16 contiguous bytes).
//    Rows past n (the last block of a sequence whose length is not a multiple of 64) are skipped.
//  - A row that saw no key (l = 0: a row past n, or a plan that leaves a row no visible key) is written
//    as 0, not NaN.
//  - lse[h * n + row] = m + log2(l), the log2 softmax denominator in units of the scaled logits
//    (-inf for an empty row); written by the cq == 0 thread of the quad. The pattern search
//    measures a plan's recall as 2^(lse_plan - lse_dense).
// OnlineSoftmax::finish must have summed l over the quad before this runs.
#pragma once
#include "softmax.cuh"

namespace pk {

// Writes the strip of rows i0 = first row of this thread (g) and i0 + 8, from the accumulator o
// (D / 2 floats in the layout of softmax.cuh), into Oh (this head's [n, D] output) and, when lse
// is given, lse[h * n + row].
template <int D>
__device__ __forceinline__ void write_o_lse(const float* o, const OnlineSoftmax& sm, bf16* Oh, float* lse, int h,
                                            int n, int i0, int cq) {
    const float inv0 = sm.l[0] > 0.f ? 1.f / sm.l[0] : 0.f;
    const float inv1 = sm.l[1] > 0.f ? 1.f / sm.l[1] : 0.f;
    const int i1 = i0 + 8;
#pragma unroll
    for (int i = 0; i < D / 8; ++i) {
        const int col = i * 8 + 2 * cq;
        if (i0 < n)
            *reinterpret_cast<uint32_t*>(Oh + (size_t)i0 * D + col) = pack_bf16(o[4 * i] * inv0, o[4 * i + 1] * inv0);
        if (i1 < n)
            *reinterpret_cast<uint32_t*>(Oh + (size_t)i1 * D + col) = pack_bf16(o[4 * i + 2] * inv1, o[4 * i + 3] * inv1);
    }
    if (lse != nullptr && cq == 0) {
        float* L = lse + (size_t)h * n;
        if (i0 < n) L[i0] = sm.l[0] > 0.f ? sm.m[0] + log2f(sm.l[0]) : -INFINITY;
        if (i1 < n) L[i1] = sm.l[1] > 0.f ? sm.m[1] + log2f(sm.l[1]) : -INFINITY;
    }
}

}  // namespace pk
